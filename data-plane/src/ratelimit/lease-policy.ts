/**
 * The `local` policy in a worker of a DP with several workers: requests are admitted from
 * allowance leases (leases.ts holds the primary's side). While this worker's lease on each of a
 * request's counters has allowance, the request is admitted or refused here, synchronously, with
 * no message; a used-up lease asks the primary for a block (one message for every counter the
 * request lacks, one ask per counter in flight however many requests wait). A counter the
 * primary answers "full" is refused here until its window ends (every unit of it was used).
 *
 * The counts answered (RateLimit-Remaining) are estimates: the node's allowance handed out as of
 * this worker's last block, minus what this worker has not used yet. They never exceed the
 * limit while the lease admits; a full counter answers limit + 1.
 *
 * `increment` and `usage` (sliding windows, response-ratelimiting) still go to the primary's
 * counters, one message per event-loop turn (IpcCounterPolicy).
 */
import type { LeaseAskMessage, LeaseReturnMessage, LeaseToWorker } from '../workers/protocol.js';
import type { CounterHit, RateLimitPolicy } from './policy.js';

interface Lease {
  /** Its key in messages (leaseKey). */
  readonly wireKey: string;
  /** Allowance of this worker not used yet. */
  unused: number;
  /** The node's allowance handed out as of this worker's last block. */
  known: number;
  /** Every unit of the window was used: refuse until the window ends. */
  full: boolean;
  readonly expiresAt: number;
  /** The ask in flight for this counter, resolved by the primary's answer. */
  pending: Promise<void> | null;
  settle: ((e?: Error) => void) | null;
}

/** The leases of one window (length + start), by limit key: found without building a key string. */
interface LeaseWindow {
  readonly seconds: number;
  readonly start: number;
  readonly expiresAt: number;
  readonly leases: Map<string, Lease>;
}

export interface LeasePolicyOptions {
  /** Sends to the primary; false (or a throw) when the channel is closed. */
  send: (m: LeaseAskMessage | LeaseReturnMessage) => boolean;
  /** `increment` and `usage`: the primary's counters over the IPC. */
  counters: Pick<RateLimitPolicy, 'increment' | 'usage' | 'close'>;
  /** Rejects an ask the primary has not answered within this (default 1000 ms). */
  timeoutMs?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;
const SWEEP_EVERY_MS = 1000;

/** The lease key of a counter (the primary's key for it too). */
export function leaseKey(hit: CounterHit): string {
  return `${hit.windowSeconds}|${hit.windowStart}|${hit.key}`;
}

/** When a lease may be forgotten: its window is over (calendar months and years get slack). */
function expiryOf(seconds: number, start: number): number {
  const slack = seconds >= 2_592_000 ? 3 * DAY_MS : 0;
  return start + seconds * 1000 + slack;
}

export class LeasePolicy implements RateLimitPolicy {
  readonly name = 'local';
  /** Every lease by its wire key (the primary's grants and reclaims name them so). */
  private readonly leases = new Map<string, Lease>();
  /** The same leases by window, then limit key: what a request looks them up by. */
  private windows: LeaseWindow[] = [];
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private nextSweep = 0;
  private closed = false;

  constructor(private readonly opts: LeasePolicyOptions) {
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Leases held (tests). */
  unusedOf(hit: CounterHit): number {
    return this.leaseOf(hit)?.unused ?? 0;
  }

  increment(hits: readonly CounterHit[], amount: number): Promise<number[]> {
    return this.opts.counters.increment(hits, amount);
  }

  usage(hits: readonly CounterHit[]): Promise<number[]> {
    return this.opts.counters.usage(hits);
  }

  admit(hits: readonly CounterHit[], limits: readonly number[]): number[] | Promise<number[]> {
    const n = hits.length;
    const leases = new Array<Lease>(n);
    for (let i = 0; i < n; i += 1) {
      const lease = this.leaseOf(hits[i]!);
      if (lease === undefined || (lease.unused === 0 && !lease.full)) return this.admitLater(hits, limits);
      leases[i] = lease;
    }
    return take(leases, limits);
  }

  /** Takes the primary's grants and reclaims (wired to the process's `message` event). */
  onMessage(m: LeaseToWorker): void {
    if (m.t === 'lease-grant') {
      const g = m.grants;
      for (let i = 0; i + 2 < g.length; i += 3) {
        const lease = this.leases.get(g[i] as string);
        if (lease === undefined) continue;
        const block = g[i + 1] as number;
        lease.known = g[i + 2] as number;
        if (block > 0) lease.unused += block;
        else lease.full = true;
        const settle = lease.settle;
        lease.pending = lease.settle = null;
        settle?.();
      }
      return;
    }
    const returns: (string | number)[] = [];
    for (const key of m.keys) {
      const lease = this.leases.get(key);
      returns.push(key, lease?.unused ?? 0);
      if (lease !== undefined) lease.unused = 0;
    }
    this.opts.send({ t: 'lease-return', returns });
  }

  close(): Promise<void> {
    this.closed = true;
    const err = new Error('rate-limit leases: closed');
    for (const lease of this.leases.values()) lease.settle?.(err);
    this.leases.clear();
    this.windows = [];
    return this.opts.counters.close();
  }

  /** Some lease is used up: ask for what is missing, then try again. */
  private async admitLater(hits: readonly CounterHit[], limits: readonly number[]): Promise<number[]> {
    this.maybeSweep();
    for (;;) {
      if (this.closed) throw new Error('rate-limit leases: closed');
      const leases = new Array<Lease>(hits.length);
      const waits: Promise<void>[] = [];
      const ask: (string | number)[] = [];
      for (let i = 0; i < hits.length; i += 1) {
        const hit = hits[i]!;
        const lease = this.leaseOf(hit) ?? this.addLease(hit);
        leases[i] = lease;
        if (lease.unused > 0 || lease.full) continue;
        if (lease.pending === null) {
          this.pend(lease);
          ask.push(lease.wireKey, limits[i]!, lease.expiresAt);
        }
        waits.push(lease.pending!);
      }
      if (waits.length === 0) return take(leases, limits);
      if (ask.length > 0) this.ask(ask);
      await Promise.all(waits);
    }
  }

  private windowOf(hit: CounterHit): LeaseWindow | undefined {
    const windows = this.windows;
    // Newest first: a request's window is almost always among the last ones made.
    for (let i = windows.length - 1; i >= 0; i -= 1) {
      const w = windows[i]!;
      if (w.start === hit.windowStart && w.seconds === hit.windowSeconds) return w;
    }
    return undefined;
  }

  private leaseOf(hit: CounterHit): Lease | undefined {
    return this.windowOf(hit)?.leases.get(hit.key);
  }

  private addLease(hit: CounterHit): Lease {
    let window = this.windowOf(hit);
    if (window === undefined) {
      const { windowSeconds: seconds, windowStart: start } = hit;
      window = { seconds, start, expiresAt: expiryOf(seconds, start), leases: new Map() };
      this.windows.push(window);
    }
    const lease: Lease = {
      wireKey: leaseKey(hit),
      unused: 0,
      known: 0,
      full: false,
      expiresAt: window.expiresAt,
      pending: null,
      settle: null,
    };
    window.leases.set(hit.key, lease);
    this.leases.set(lease.wireKey, lease);
    return lease;
  }

  private pend(lease: Lease): void {
    lease.pending = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`rate-limit leases: the primary did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      timer.unref();
      const done = (e?: Error) => {
        clearTimeout(timer);
        if (lease.settle === done) lease.pending = lease.settle = null;
        if (e === undefined) resolve();
        else reject(e);
      };
      lease.settle = done;
    });
    // A rejection is seen by the requests awaiting it; keep it from being reported as unhandled.
    lease.pending.catch(() => undefined);
  }

  private ask(counters: (string | number)[]): void {
    let sent: boolean;
    try {
      sent = this.opts.send({ t: 'lease-ask', counters });
    } catch {
      sent = false;
    }
    if (sent) return;
    const err = new Error('rate-limit leases: no channel to the primary');
    for (let i = 0; i < counters.length; i += 3) this.leases.get(counters[i] as string)?.settle?.(err);
  }

  private maybeSweep(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const w of this.windows) {
      if (w.expiresAt > now) continue;
      for (const [key, lease] of w.leases)
        if (lease.pending === null) {
          w.leases.delete(key);
          this.leases.delete(lease.wireKey);
        }
    }
    if (this.windows.some((w) => w.leases.size === 0))
      this.windows = this.windows.filter((w) => w.leases.size > 0);
  }
}

/**
 * Admits one request from leases that each have allowance or are full: the counts as
 * `increment(hits, 1)` would answer them; the units are taken only when every count before the
 * request is under its limit.
 */
function take(leases: readonly Lease[], limits: readonly number[]): number[] {
  const n = leases.length;
  const counts = new Array<number>(n);
  let stop = false;
  for (let i = 0; i < n; i += 1) {
    const lease = leases[i]!;
    const limit = limits[i]!;
    // Before this request: what the node handed out as of the last block, less what is unused here.
    const before = lease.full ? Math.max(limit, lease.known) : lease.known - lease.unused;
    counts[i] = before + 1;
    if (before >= limit) stop = true;
  }
  if (!stop) for (let i = 0; i < n; i += 1) leases[i]!.unused -= 1;
  return counts;
}
