/**
 * Kong's plugin queue (kong/tools/queue.lua, the `queue.*` fields of kong/tools/queue_schema.lua):
 * entries wait in memory, bounded by `max_entries` (and `max_bytes`); a batch of up to
 * `max_batch_size` is handed to the sender once it is full or `max_coalescing_delay` seconds after
 * its first entry; a failed batch is retried after `initial_retry_delay`, doubling up to
 * `max_retry_delay`, until `max_retry_time` seconds have passed, then dropped. One batch is in
 * flight at a time. When the queue is full the oldest entry is dropped, as Kong does. Every drop is
 * counted (LogCounters), and nothing here ever runs on a request's path: `push` only stores.
 */

export interface QueueSettings {
  max_batch_size: number;
  /** Seconds. */
  max_coalescing_delay: number;
  max_entries: number;
  /** Bytes of entries waiting (null = no limit). */
  max_bytes: number | null;
  /** Seconds; -1 = no retry. */
  max_retry_time: number;
  /** Seconds. */
  initial_retry_delay: number;
  /** Seconds. */
  max_retry_delay: number;
}

/** What a log plugin counts; exported through `logCounters` for metrics to read. */
export interface LogCounters {
  /** Entries delivered. */
  sent: number;
  /** Entries dropped: queue full, retries exhausted, or the transport refused them. */
  dropped: number;
  /** Failed deliveries that were retried. */
  retried: number;
}

const counters = new Map<string, LogCounters>();

/** The counters of log plugin `name` (one object per name, created on first use). */
export function logCounters(name: string): LogCounters {
  let c = counters.get(name);
  if (c === undefined) counters.set(name, (c = { sent: 0, dropped: 0, retried: 0 }));
  return c;
}

/** Every log plugin's counters, by plugin name (a live view). */
export function allLogCounters(): ReadonlyMap<string, LogCounters> {
  return counters;
}

/** Sends one batch; rejects (or throws) when it was not delivered. */
export type BatchSender = (batch: string[]) => Promise<void>;

export interface LogQueueOptions {
  settings: QueueSettings;
  send: BatchSender;
  counters: LogCounters;
  /** Told about a batch given up on (after the retries) or an entry dropped. */
  onDrop?: (reason: string, count: number) => void;
}

export class LogQueue {
  private readonly entries: string[] = [];
  private head = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private closed = false;

  constructor(private readonly opts: LogQueueOptions) {}

  /** Entries waiting (not counting a batch in flight). */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Queues one entry (already encoded); never blocks, never throws. */
  push(entry: string): void {
    if (this.closed) return;
    const s = this.opts.settings;
    if (s.max_bytes !== null && entry.length > s.max_bytes) {
      this.drop('entry larger than max_bytes', 1);
      return;
    }
    while (this.size >= s.max_entries || (s.max_bytes !== null && this.bytes + entry.length > s.max_bytes)) {
      this.bytes -= this.entries[this.head]!.length;
      this.head++;
      this.drop('queue full, dropping the oldest entry', 1);
    }
    this.entries.push(entry);
    this.bytes += entry.length;
    this.schedule();
  }

  /** Stops taking entries; a batch in flight finishes. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private drop(reason: string, count: number): void {
    this.opts.counters.dropped += count;
    this.opts.onDrop?.(reason, count);
  }

  private schedule(): void {
    if (this.sending || this.timer !== null || this.size === 0) return;
    const s = this.opts.settings;
    if (this.size >= s.max_batch_size || s.max_coalescing_delay === 0) {
      this.timer = setTimeout(() => this.flush(), 0);
    } else {
      this.timer = setTimeout(() => this.flush(), s.max_coalescing_delay * 1000);
    }
    this.timer.unref();
  }

  private take(): string[] {
    const n = Math.min(this.size, this.opts.settings.max_batch_size);
    const batch = this.entries.slice(this.head, this.head + n);
    this.head += n;
    for (const e of batch) this.bytes -= e.length;
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return batch;
  }

  private flush(): void {
    this.timer = null;
    if (this.size === 0) return;
    this.sending = true;
    void this.deliver(this.take()).finally(() => {
      this.sending = false;
      if (!this.closed) this.schedule();
    });
  }

  private async deliver(batch: string[]): Promise<void> {
    const s = this.opts.settings;
    const giveUpAt = performance.now() + s.max_retry_time * 1000;
    let delay = s.initial_retry_delay * 1000;
    for (;;) {
      try {
        await this.opts.send(batch);
        this.opts.counters.sent += batch.length;
        return;
      } catch {
        if (s.max_retry_time < 0 || performance.now() + delay > giveUpAt || this.closed) {
          this.drop('could not send the entries, giving up', batch.length);
          return;
        }
        this.opts.counters.retried++;
        await new Promise<void>((r) => setTimeout(r, delay).unref());
        delay = Math.min(delay * 2, s.max_retry_delay * 1000);
      }
    }
  }
}
