/**
 * The `local` policy: one limit per DP node. A DP with one worker (or a process without a
 * primary) counts in its own store (InProcessPolicy, no IPC). With several workers, the rate-
 * limiting plugin's fixed windows are admitted from allowance leases (lease-policy.ts); what is
 * left (sliding windows, response-ratelimiting) asks the primary's counters over the worker IPC:
 * every counter operation a worker makes in one event-loop turn goes out as one message (flushed
 * by `setImmediate`, after the turn's I/O callbacks), and the primary answers it at once,
 * synchronously, so its single thread makes every add atomic across the workers.
 */
import type { CounterReplyMessage, CounterRequestMessage } from '../workers/protocol.js';
import { CounterStore } from './counter-store.js';
import type { CounterHit, RateLimitPolicy } from './policy.js';

/** The `local` policy over a store in this process. */
export class InProcessPolicy implements RateLimitPolicy {
  readonly name = 'local';
  constructor(readonly store: CounterStore = new CounterStore()) {}

  increment(hits: readonly CounterHit[], amount: number): Promise<number[]> {
    return Promise.resolve(this.store.increment(hits, amount));
  }

  usage(hits: readonly CounterHit[]): Promise<number[]> {
    return Promise.resolve(this.store.usage(hits));
  }

  /** Synchronous: the add, taken back at once when a count before it has reached its limit. */
  admit(hits: readonly CounterHit[], limits: readonly number[]): number[] {
    const counts = this.store.increment(hits, 1);
    for (let i = 0; i < counts.length; i += 1)
      if (counts[i]! - 1 >= limits[i]!) {
        this.store.increment(hits, -1);
        break;
      }
    return counts;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Counters the primary answers from synchronously: the node's store, or its cluster policy. */
export interface SyncCounters {
  increment(hits: readonly CounterHit[], amount: number): number[];
  usage(hits: readonly CounterHit[]): number[];
}

/** The primary's side: answers a worker's counter request from the node's store. */
export function answerCounters(store: SyncCounters, m: CounterRequestMessage): CounterReplyMessage {
  const reply = answerOps(store, m);
  if (m.store !== undefined) reply.store = m.store;
  return reply;
}

function answerOps(store: SyncCounters, m: CounterRequestMessage): CounterReplyMessage {
  try {
    const { ops } = m;
    const values: number[] = [];
    let i = 0;
    while (i < ops.length) {
      const amount = ops[i] as number;
      const n = ops[i + 1] as number;
      i += 2;
      const hits: CounterHit[] = new Array<CounterHit>(n);
      for (let j = 0; j < n; j += 1, i += 3)
        hits[j] = {
          key: ops[i] as string,
          windowSeconds: ops[i + 1] as number,
          windowStart: ops[i + 2] as number,
        };
      const out = amount === 0 ? store.usage(hits) : store.increment(hits, amount);
      for (const v of out) values.push(v);
    }
    return { t: 'counters', id: m.id, values };
  } catch (e) {
    return { t: 'counters', id: m.id, values: [], error: e instanceof Error ? e.message : String(e) };
  }
}

interface Waiting {
  /** How many counters the operation has (its share of the answer). */
  count: number;
  resolve: (values: number[]) => void;
  reject: (e: Error) => void;
}

interface Batch {
  ops: (string | number)[];
  waiting: Waiting[];
  /** Counters in the batch (the answer's length). */
  counters: number;
  timer: NodeJS.Timeout | null;
}

export interface IpcPolicyOptions {
  /** Sends to the primary; false (or a throw) when the channel is closed. */
  send: (m: CounterRequestMessage) => boolean;
  /** Rejects a batch the primary has not answered within this (default 1000 ms). */
  timeoutMs?: number;
  /** Whose counters it asks for: the node's `local` store (default) or its `cluster` policy. */
  policy?: 'local' | 'cluster';
}

/** The `local` policy in a worker: counters asked of the primary, one message per turn. */
export class IpcCounterPolicy implements RateLimitPolicy {
  readonly name: 'local' | 'cluster';
  private readonly timeoutMs: number;
  private nextId = 1;
  private queued: Batch | null = null;
  private readonly inFlight = new Map<number, Batch>();
  private closed = false;

  constructor(private readonly opts: IpcPolicyOptions) {
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.name = opts.policy ?? 'local';
  }

  increment(hits: readonly CounterHit[], amount: number): Promise<number[]> {
    return this.enqueue(hits, amount);
  }

  usage(hits: readonly CounterHit[]): Promise<number[]> {
    return this.enqueue(hits, 0);
  }

  /** Takes the primary's answer (wired to the process's `message` event). */
  onReply(m: CounterReplyMessage): void {
    const batch = this.inFlight.get(m.id);
    if (batch === undefined) return;
    this.inFlight.delete(m.id);
    if (batch.timer !== null) clearTimeout(batch.timer);
    if (m.error !== undefined || m.values.length !== batch.counters) {
      const err = new Error(`rate-limit counters: ${m.error ?? 'malformed answer from the primary'}`);
      for (const w of batch.waiting) w.reject(err);
      return;
    }
    let at = 0;
    for (const w of batch.waiting) {
      w.resolve(m.values.slice(at, at + w.count));
      at += w.count;
    }
  }

  close(): Promise<void> {
    this.closed = true;
    const err = new Error('rate-limit counters: closed');
    for (const batch of this.inFlight.values()) {
      if (batch.timer !== null) clearTimeout(batch.timer);
      for (const w of batch.waiting) w.reject(err);
    }
    this.inFlight.clear();
    return Promise.resolve();
  }

  private enqueue(hits: readonly CounterHit[], amount: number): Promise<number[]> {
    if (this.closed) return Promise.reject(new Error('rate-limit counters: closed'));
    let batch = this.queued;
    if (batch === null) {
      batch = this.queued = { ops: [], waiting: [], counters: 0, timer: null };
      setImmediate(() => this.flush());
    }
    const { ops } = batch;
    ops.push(amount, hits.length);
    for (const h of hits) ops.push(h.key, h.windowSeconds, h.windowStart);
    batch.counters += hits.length;
    return new Promise<number[]>((resolve, reject) =>
      batch.waiting.push({ count: hits.length, resolve, reject }),
    );
  }

  private flush(): void {
    const batch = this.queued;
    this.queued = null;
    if (batch === null) return;
    const id = this.nextId++;
    let sent: boolean;
    try {
      sent = this.opts.send(
        this.name === 'cluster'
          ? { t: 'counters', id, ops: batch.ops, store: 'cluster' }
          : { t: 'counters', id, ops: batch.ops },
      );
    } catch {
      sent = false;
    }
    if (!sent) {
      const err = new Error('rate-limit counters: no channel to the primary');
      for (const w of batch.waiting) w.reject(err);
      return;
    }
    batch.timer = setTimeout(() => {
      this.inFlight.delete(id);
      const err = new Error(`rate-limit counters: the primary did not answer within ${this.timeoutMs} ms`);
      for (const w of batch.waiting) w.reject(err);
    }, this.timeoutMs);
    batch.timer.unref();
    this.inFlight.set(id, batch);
  }
}
