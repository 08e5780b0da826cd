/**
 * The primary's side of the `local` policy's allowance leases (a DP with several workers). The
 * primary owns each counter's allowance: `granted` is what it has handed out in the counter's
 * window (used or still held by a worker). A worker whose lease is used up asks; the primary
 * answers a block of ⌈remaining / (2·workers)⌉ (so blocks shrink with what is left and reach 1
 * near the limit), never more than `limit - granted`: the node never admits more than the limit.
 * When nothing is left but other workers hold leases, the primary reclaims their unused allowance
 * first and answers once they have handed it back, so a request is refused only when every unit
 * of the window was used: exactly min(requests, limit) are admitted. A holder that does not
 * answer within `reclaimTimeoutMs` (or exits) has its lease counted as used: the count stays
 * under the limit, and only what that worker held can go unused. See docs/plugins-traffic.md.
 */
import type {
  LeaseAskMessage,
  LeaseGrantMessage,
  LeaseReclaimMessage,
  LeaseReturnMessage,
} from '../workers/protocol.js';

/** The block a worker gets when `remaining` is left and the node has `workers` workers. */
export function blockSize(remaining: number, workers: number): number {
  if (remaining <= 0) return 0;
  return Math.ceil(remaining / (2 * Math.max(1, workers)));
}

interface Reclaim {
  /** Holders asked to hand back, not answered yet. */
  readonly awaiting: Set<number>;
  /** Workers whose ask waits for the reclaim, in order. */
  readonly parked: number[];
  readonly timer: NodeJS.Timeout;
}

interface Counter {
  limit: number;
  granted: number;
  /** Workers holding a block (possibly with unused allowance). */
  readonly holders: Set<number>;
  readonly expiresAt: number;
  reclaim: Reclaim | null;
}

export interface LeaseBookOptions {
  /** The node's workers (the block size divides what is left among them). */
  workers: number;
  /** Sends to a worker (by its id); a throw is taken as a worker gone. */
  send: (worker: number, m: LeaseGrantMessage | LeaseReclaimMessage) => void;
  /** A holder's unused allowance counts as used if it does not answer a reclaim within this (default 250 ms). */
  reclaimTimeoutMs?: number;
  now?: () => number;
}

const SWEEP_EVERY_MS = 1000;

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export class LeaseBook {
  private readonly counters = new Map<string, Counter>();
  private readonly reclaimTimeoutMs: number;
  private readonly now: () => number;
  private nextSweep = 0;

  constructor(private readonly opts: LeaseBookOptions) {
    this.reclaimTimeoutMs = opts.reclaimTimeoutMs ?? 250;
    this.now = opts.now ?? Date.now;
  }

  /** Live counters. */
  get size(): number {
    return this.counters.size;
  }

  /** What the primary has handed out for a counter (tests, metrics). */
  granted(key: string): number {
    return this.counters.get(key)?.granted ?? 0;
  }

  onAsk(worker: number, m: LeaseAskMessage): void {
    this.maybeSweep();
    const grants: (string | number)[] = [];
    const c = m.counters;
    for (let i = 0; i + 2 < c.length; i += 3) {
      const key = c[i];
      const limit = c[i + 1];
      const expiresAt = c[i + 2];
      if (typeof key !== 'string' || !isCount(limit) || typeof expiresAt !== 'number') continue;
      let counter = this.counters.get(key);
      if (counter === undefined) {
        counter = { limit, granted: 0, holders: new Set(), expiresAt, reclaim: null };
        this.counters.set(key, counter);
      }
      // A new config may change the limit; the newest asked for wins.
      counter.limit = limit;
      // It asks because its lease is used up: nothing of it is left to reclaim.
      counter.holders.delete(worker);
      if (counter.reclaim !== null) counter.reclaim.parked.push(worker);
      else this.decide(key, counter, worker, grants);
    }
    if (grants.length > 0) this.send(worker, { t: 'lease-grant', grants });
  }

  onReturn(worker: number, m: LeaseReturnMessage): void {
    const r = m.returns;
    for (let i = 0; i + 1 < r.length; i += 2) {
      const key = r[i];
      const unused = r[i + 1];
      if (typeof key !== 'string' || !isCount(unused)) continue;
      const counter = this.counters.get(key);
      if (counter === undefined) continue;
      if (counter.holders.delete(worker) && unused > 0)
        counter.granted = Math.max(0, counter.granted - unused);
      this.answered(key, counter, worker);
    }
  }

  /** A worker exited: what it held counts as used; it waits for nothing any more. */
  dropWorker(worker: number): void {
    for (const [key, counter] of this.counters) {
      counter.holders.delete(worker);
      if (counter.reclaim === null) continue;
      const parked = counter.reclaim.parked;
      for (let i = parked.indexOf(worker); i >= 0; i = parked.indexOf(worker)) parked.splice(i, 1);
      this.answered(key, counter, worker);
    }
  }

  /** Stops the reclaim timers. */
  close(): void {
    for (const counter of this.counters.values()) if (counter.reclaim) clearTimeout(counter.reclaim.timer);
    this.counters.clear();
  }

  /** Grants a block, answers "full", or starts a reclaim that `worker` waits for. */
  private decide(key: string, counter: Counter, worker: number, grants: (string | number)[]): void {
    const remaining = counter.limit - counter.granted;
    if (remaining > 0) {
      const block = blockSize(remaining, this.opts.workers);
      counter.granted += block;
      counter.holders.add(worker);
      grants.push(key, block, counter.granted);
      return;
    }
    if (counter.holders.size === 0) {
      grants.push(key, 0, counter.granted);
      return;
    }
    const awaiting = new Set(counter.holders);
    const timer = setTimeout(() => {
      // Whoever did not answer keeps what it holds: counted as used.
      const r = counter.reclaim;
      if (r === null) return;
      for (const w of r.awaiting) counter.holders.delete(w);
      r.awaiting.clear();
      this.finish(key, counter);
    }, this.reclaimTimeoutMs);
    timer.unref();
    counter.reclaim = { awaiting, parked: [worker], timer };
    for (const w of awaiting) this.send(w, { t: 'lease-reclaim', keys: [key] });
  }

  private answered(key: string, counter: Counter, worker: number): void {
    const r = counter.reclaim;
    if (r === null || !r.awaiting.delete(worker)) return;
    if (r.awaiting.size === 0) this.finish(key, counter);
  }

  /** Every holder answered (or timed out): the parked asks are decided in order. */
  private finish(key: string, counter: Counter): void {
    const r = counter.reclaim!;
    clearTimeout(r.timer);
    counter.reclaim = null;
    const parked = r.parked;
    for (let i = 0; i < parked.length; i += 1) {
      const w = parked[i]!;
      if (counter.reclaim !== null) {
        // The grants just made emptied the counter again: the rest wait for the next reclaim.
        (counter.reclaim as Reclaim).parked.push(w);
        continue;
      }
      const grants: (string | number)[] = [];
      this.decide(key, counter, w, grants);
      if (grants.length > 0) this.send(w, { t: 'lease-grant', grants });
    }
  }

  private send(worker: number, m: LeaseGrantMessage | LeaseReclaimMessage): void {
    try {
      this.opts.send(worker, m);
    } catch {
      this.dropWorker(worker);
    }
  }

  private maybeSweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [key, counter] of this.counters)
      if (counter.expiresAt <= now && counter.reclaim === null) this.counters.delete(key);
  }
}
