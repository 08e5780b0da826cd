/**
 * The counters of the `local` policy: one map in one process (the DP primary, shared by every
 * worker through the worker IPC; a single-process proxy keeps its own). A counter is a limit key
 * in one window; it lives until the window after its own is over (the sliding window reads the
 * previous window), then a sweep drops it. Every operation is synchronous: atomic per process.
 */
import type { CounterHit } from './policy.js';

interface Entry {
  count: number;
  /** Epoch ms after which nobody reads this counter (its window and the next are over). */
  expiresAt: number;
}

const DAY_MS = 86_400_000;
/** Sweep at most this often (ms); a sweep walks every counter. */
const SWEEP_EVERY_MS = 1000;

function entryKey(hit: CounterHit): string {
  return `${hit.windowSeconds}|${hit.windowStart}|${hit.key}`;
}

/** Kept for two windows; calendar months and years get slack for 31 days and leap years. */
function expiryOf(hit: CounterHit): number {
  const slack = hit.windowSeconds >= 2_592_000 ? 3 * DAY_MS : 0;
  return hit.windowStart + hit.windowSeconds * 2000 + slack;
}

export class CounterStore {
  private readonly counters = new Map<string, Entry>();
  /** Counter keys by the second they expire in: a sweep visits only what is due. */
  private readonly expiring = new Map<number, string[]>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Number of live counters. */
  get size(): number {
    return this.counters.size;
  }

  /** Adds `amount` to each counter; answers each value after the add. */
  increment(hits: readonly CounterHit[], amount: number): number[] {
    this.maybeSweep();
    const out = new Array<number>(hits.length);
    for (let i = 0; i < hits.length; i += 1) {
      const hit = hits[i]!;
      const k = entryKey(hit);
      const e = this.counters.get(k);
      if (e === undefined) {
        const count = Math.max(0, amount);
        if (count > 0) this.add(k, count, expiryOf(hit));
        out[i] = count;
      } else {
        e.count = Math.max(0, e.count + amount);
        out[i] = e.count;
      }
    }
    return out;
  }

  /** Each counter's value (0 for one never hit). */
  usage(hits: readonly CounterHit[]): number[] {
    const out = new Array<number>(hits.length);
    for (let i = 0; i < hits.length; i += 1) out[i] = this.counters.get(entryKey(hits[i]!))?.count ?? 0;
    return out;
  }

  /** Drops the counters nobody reads any more. */
  sweep(): void {
    const now = this.now();
    for (const [second, keys] of this.expiring) {
      if (second * 1000 > now) continue;
      this.expiring.delete(second);
      for (const k of keys) {
        const e = this.counters.get(k);
        if (e !== undefined && e.expiresAt <= now) this.counters.delete(k);
      }
    }
  }

  private add(k: string, count: number, expiresAt: number): void {
    this.counters.set(k, { count, expiresAt });
    const second = Math.ceil(expiresAt / 1000);
    const keys = this.expiring.get(second);
    if (keys === undefined) this.expiring.set(second, [k]);
    else keys.push(k);
  }

  private maybeSweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    this.sweep();
  }
}
