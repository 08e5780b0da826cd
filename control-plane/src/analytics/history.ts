/**
 * The analytics history: traffic beyond the hour the ring holds, at 5-minute resolution, in
 * Postgres (or PGlite) for the retention (default 7 days).
 *
 * Each CP process rolls up what it ingests (rollup.ts) and writes each 5-minute bucket once it
 * has ended, in one batch. No summary is counted twice, however many replicas share the database:
 *  - a summary from a DP's stream reached this process only: its rows' source is
 *    `stream:<cp id>/<boot id>` (a restarted process is another source, so a bucket written
 *    before and after a restart adds up instead of one write replacing the other);
 *  - a summary on NATS reached every replica: its rows' source is `nats`, every replica writes
 *    the same keys, and a row is replaced only by one merged from more summaries.
 * Retention is a periodic job under an advisory lock (jobs/analytics-retention.ts).
 *
 * A query over more than an hour reads the buckets already written from the database and the
 * rest (the current bucket, and one waiting for its last summaries) from the ring.
 */
import type { Logger } from '@gatehouse/shared';
import type { PrismaClient } from '../db/index.js';
import { ANALYTICS_RETENTION_INTERVAL_MS, pruneAnalyticsHistory } from '../jobs/analytics-retention.js';
import { HistoryStore } from './history-store.js';
import type { TrafficRecord } from './intake.js';
import { DEFAULT_RETENTION, parseRetention } from './retention-setting.js';
import { RollupBuffer } from './rollup.js';
import { TrafficGrouping, type TrafficGroup, type TrafficQuery, type TrafficStore } from './traffic-store.js';

export const DEFAULT_RETENTION_MS = parseRetention(DEFAULT_RETENTION);
/** How often due buckets are looked for (a bucket is written once, ~20 s after it ends). */
const FLUSH_EVERY_MS = 10_000;

/** Where a summary came from: a DP's stream to this process, or NATS (every replica). */
export type SummaryVia = 'stream' | 'nats';

export interface AnalyticsHistoryOptions {
  prisma: PrismaClient;
  logger: Logger;
  /** This replica's id and an id of this process (the stream source). */
  cpId: string;
  bootId: string;
  retentionMs?: number;
  now?: () => number;
  /** Start the flush and retention timers (default true; tests call flush/prune themselves). */
  timers?: boolean;
}

export interface HistoryStats {
  buckets_written: number;
  write_failures: number;
  late_records: number;
  dropped_records: number;
}

export class AnalyticsHistory {
  readonly retentionMs: number;
  private readonly rollup: RollupBuffer;
  private readonly db: HistoryStore;
  private readonly now: () => number;
  private readonly streamSource: string;
  private readonly timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> | null = null;
  private bucketsWritten = 0;
  private writeFailures = 0;

  constructor(private readonly o: AnalyticsHistoryOptions) {
    this.retentionMs = o.retentionMs ?? DEFAULT_RETENTION_MS;
    this.now = o.now ?? Date.now;
    this.rollup = new RollupBuffer(this.now);
    this.db = new HistoryStore(o.prisma);
    this.streamSource = `stream:${o.cpId}/${o.bootId}`;
    if (o.timers !== false) {
      const flush = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
      const prune = setInterval(() => void this.prune(), ANALYTICS_RETENTION_INTERVAL_MS);
      for (const t of [flush, prune]) t.unref();
      this.timers.push(flush, prune);
      void this.prune();
    }
  }

  add(via: SummaryVia, periodStartMs: number, records: readonly TrafficRecord[]): void {
    this.rollup.add(via === 'nats' ? 'nats' : this.streamSource, periodStartMs, records);
  }

  /**
   * Writes the buckets that are due (all of them with `all`, at shutdown), one batch each. A
   * failed write is logged and tried again at the next flush. Resolves when done.
   */
  flush(all = false): Promise<void> {
    // One flush at a time: a second caller waits for the one running, then runs its own.
    const run = async (): Promise<void> => {
      for (const bucket of this.rollup.due(all)) {
        try {
          await this.db.write(bucket.rows);
          this.rollup.written(bucket);
          this.bucketsWritten++;
        } catch (err) {
          this.writeFailures++;
          this.o.logger.warn(
            { err, bucket: new Date(bucket.start).toISOString() },
            'analytics: history write failed',
          );
          return;
        }
      }
    };
    const next = (this.flushing ?? Promise.resolve()).then(run);
    this.flushing = next;
    return next.finally(() => {
      if (this.flushing === next) this.flushing = null;
    });
  }

  /** Deletes rows past the retention (on one replica at a time); null when another ran it. */
  async prune(): Promise<number | null> {
    try {
      const n = await pruneAnalyticsHistory(this.o.prisma, this.retentionMs, this.now());
      if (n) this.o.logger.info({ rows: n }, 'analytics: history rows past the retention deleted');
      return n;
    } catch (err) {
      this.o.logger.warn({ err }, 'analytics: history retention run failed');
      return null;
    }
  }

  /** A query at 5-minute resolution: the database up to what is written, the ring after. */
  async query(q: TrafficQuery, ring: TrafficStore): Promise<TrafficGroup[]> {
    const grouping = new TrafficGrouping(q);
    const seam = Math.min(q.toMs, Math.max(q.fromMs, this.rollup.persistedThrough()));
    await this.db.read({ ...q, toMs: seam }, (start, r) => grouping.add(start, r));
    ring.collect({ ...q, fromMs: seam }, grouping);
    return grouping.result();
  }

  stats(): HistoryStats {
    return {
      buckets_written: this.bucketsWritten,
      write_failures: this.writeFailures,
      late_records: this.rollup.late,
      dropped_records: this.rollup.dropped,
    };
  }

  /** Stops the timers and writes what is held (even the current, unfinished bucket). */
  async close(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.flush(true);
  }
}
