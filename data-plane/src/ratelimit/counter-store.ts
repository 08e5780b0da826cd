/**
 * The counters of the `local` policy: one map in one process (the DP primary, shared by every
 * worker through the worker IPC; a single-process proxy keeps its own). A counter is a limit key
 * in one window; it lives until the window after its own is over (the sliding window reads the
 * previous window), then a sweep drops it. Every operation is synchronous: atomic per process.
 *
 * Counters are grouped by window (length + start): a request finds its window among the few live
 * ones and its counter by the limit key alone, so no key string is built per request, and a whole
 * window's counters expire together.
 */
import type { CounterHit } from './policy.js';

/** The counters of one window. */
interface Bucket {
  readonly seconds: number;
  readonly start: number;
  /** Epoch ms after which nobody reads this window (it and the next are over). */
  readonly expiresAt: number;
  readonly counts: Map<string, number>;
}

const DAY_MS = 86_400_000;
/** Sweep at most this often (ms); a sweep walks the windows, not the counters. */
const SWEEP_EVERY_MS = 1000;

/** Kept for two windows; calendar months and years get slack for 31 days and leap years. */
function expiryOf(seconds: number, start: number): number {
  const slack = seconds >= 2_592_000 ? 3 * DAY_MS : 0;
  return start + seconds * 2000 + slack;
}

export class CounterStore {
  /** The live windows, oldest first (a handful: two or three per configured period length). */
  private buckets: Bucket[] = [];
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Number of live counters. */
  get size(): number {
    let n = 0;
    for (const b of this.buckets) n += b.counts.size;
    return n;
  }

  /** Adds `amount` to each counter; answers each value after the add. */
  increment(hits: readonly CounterHit[], amount: number): number[] {
    this.maybeSweep();
    const out = new Array<number>(hits.length);
    for (let i = 0; i < hits.length; i += 1) {
      const hit = hits[i]!;
      const bucket = this.bucketOf(hit);
      const counts = bucket?.counts;
      const was = counts?.get(hit.key);
      if (was === undefined) {
        const count = Math.max(0, amount);
        if (count > 0) (counts ?? this.addBucket(hit).counts).set(hit.key, count);
        out[i] = count;
      } else {
        const count = Math.max(0, was + amount);
        counts!.set(hit.key, count);
        out[i] = count;
      }
    }
    return out;
  }

  /** Each counter's value (0 for one never hit). */
  usage(hits: readonly CounterHit[]): number[] {
    const out = new Array<number>(hits.length);
    for (let i = 0; i < hits.length; i += 1) {
      const hit = hits[i]!;
      out[i] = this.bucketOf(hit)?.counts.get(hit.key) ?? 0;
    }
    return out;
  }

  /** Drops the counters nobody reads any more. */
  sweep(): void {
    const now = this.now();
    if (this.buckets.some((b) => b.expiresAt <= now))
      this.buckets = this.buckets.filter((b) => b.expiresAt > now);
  }

  private bucketOf(hit: CounterHit): Bucket | undefined {
    const buckets = this.buckets;
    // Newest first: a request's window is almost always among the last ones made.
    for (let i = buckets.length - 1; i >= 0; i -= 1) {
      const b = buckets[i]!;
      if (b.start === hit.windowStart && b.seconds === hit.windowSeconds) return b;
    }
    return undefined;
  }

  private addBucket(hit: CounterHit): Bucket {
    const bucket: Bucket = {
      seconds: hit.windowSeconds,
      start: hit.windowStart,
      expiresAt: expiryOf(hit.windowSeconds, hit.windowStart),
      counts: new Map(),
    };
    this.buckets.push(bucket);
    return bucket;
  }

  private maybeSweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    this.sweep();
  }
}
