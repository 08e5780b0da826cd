/**
 * The canary split as numbers: a request's hash value falls in one of `steps` buckets, and the
 * first `open` buckets go to the canary. A fixed split opens `steps × percentage / 100` buckets;
 * a timed release opens them one increment at a time from `start` to `start + duration`. The
 * same value always lands in the same bucket, and buckets only ever open, so a consumer (IP,
 * header value) that reached the canary stays there while the release ramps up.
 */
import { hash32 } from '../../balancer/hash.js';

/** How many buckets are open, decided once per snapshot (fixed) or per request (timed). */
export type Rollout =
  | { readonly kind: 'fixed'; readonly steps: number; readonly open: number }
  | {
      readonly kind: 'timed';
      readonly steps: number;
      /** Milliseconds since the epoch. */
      readonly startMs: number;
      readonly durationMs: number;
    };

export function fixedRollout(steps: number, percentage: number): Rollout {
  // A percentage like 29.000000000000004 must not open a bucket more than 29 % does.
  const open = Math.min(steps, Math.floor(Number(((steps * percentage) / 100).toPrecision(12))));
  return { kind: 'fixed', steps, open };
}

export function timedRollout(steps: number, startSeconds: number, durationSeconds: number): Rollout {
  return { kind: 'timed', steps, startMs: startSeconds * 1000, durationMs: durationSeconds * 1000 };
}

/** The buckets open at `nowMs`: 0 before the start, `steps` from the end on. */
export function openBuckets(rollout: Rollout, nowMs: number): number {
  if (rollout.kind === 'fixed') return rollout.open;
  const elapsed = nowMs - rollout.startMs;
  if (!(elapsed > 0)) return 0;
  if (elapsed >= rollout.durationMs) return rollout.steps;
  return Math.floor((elapsed / rollout.durationMs) * rollout.steps);
}

/** The bucket of a hash value, in [0, steps). */
export function bucketOf(value: string, steps: number): number {
  return hash32(value) % steps;
}

/** Whether a request in `bucket` goes to the canary at `nowMs`. */
export function inCanary(rollout: Rollout, bucket: number, nowMs: number): boolean {
  return bucket < openBuckets(rollout, nowMs);
}
