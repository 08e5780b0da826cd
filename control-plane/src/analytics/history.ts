/**
 * The analytics history: traffic beyond the hour the ring holds, in Postgres (or PGlite), in two
 * tiers: 5-minute buckets (kept `--analytics-retention-5m`, default 2 days) and hours rolled up
 * from them (kept `--analytics-retention`, default 7 days).
 *
 * Each CP process rolls up what it ingests (rollup.ts) and writes each 5-minute bucket once it
 * has ended, in one batch. No summary is counted twice, however many replicas share the database:
 *  - a summary from a DP's stream reached this process only: its rows' source is
 *    `stream:<cp id>/<boot id>` (a restarted process is another source, so a bucket written
 *    before and after a restart adds up instead of one write replacing the other);
 *  - a summary on NATS reached every replica: its rows' source is `nats`, every replica writes
 *    the same keys, and a row is replaced only by one merged from more summaries.
 * The hourly tier is rolled up from the 5-minute rows, not written beside them: a job under an
 * advisory lock (jobs/analytics-rollup.ts) merges each hour once its 5-minute rows are final
 * (HOURLY_SETTLE_MS), per source and combination. So it holds exactly what the 5-minute tier
 * holds (the same no-double-count rules, whatever replicas wrote), each process keeps no hour in
 * memory, and a replica that restarts mid-hour loses nothing. Retention is another periodic job
 * under its own lock (jobs/analytics-retention.ts); it keeps 5-minute rows not rolled up yet.
 *
 * A query over more than an hour reads the buckets already written from the database and the
 * rest (the current bucket, and one waiting for its last summaries) from the ring. Of the
 * database's part, each whole hour rolled up that lies within one step is read from the hourly
 * tier (one row where the 5-minute tier has 12), the rest from the 5-minute tier (planRead).
 */
import type { Logger } from '@gatehouse/shared';
import type { PrismaClient } from '../db/index.js';
import { ANALYTICS_RETENTION_INTERVAL_MS, pruneAnalyticsHistory } from '../jobs/analytics-retention.js';
import { ANALYTICS_ROLLUP_INTERVAL_MS, rollUpAnalyticsHistory } from '../jobs/analytics-rollup.js';
import { floorHour, HistoryStore, type RollupRun, type TierRange } from './history-store.js';
import type { TrafficRecord } from './intake.js';
import { DEFAULT_FIVE_MINUTE_RETENTION, DEFAULT_RETENTION, parseRetention } from './retention-setting.js';
import { HOURLY_MS, RollupBuffer } from './rollup.js';
import { TrafficGrouping, type TrafficGroup, type TrafficQuery, type TrafficStore } from './traffic-store.js';

export const DEFAULT_RETENTION_MS = parseRetention(DEFAULT_RETENTION);
export const DEFAULT_FIVE_MINUTE_RETENTION_MS = parseRetention(DEFAULT_FIVE_MINUTE_RETENTION);
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
  /** The 5-minute tier's (default 2 days; at most retentionMs). */
  fiveMinuteRetentionMs?: number;
  now?: () => number;
  /** Start the flush and retention timers (default true; tests call flush/prune themselves). */
  timers?: boolean;
}

export interface HistoryStats {
  buckets_written: number;
  write_failures: number;
  /** The hourly tier holds the hours before this (Unix seconds; null: no hour rolled up yet). */
  hourly_through: number | null;
  late_records: number;
  dropped_records: number;
}

export class AnalyticsHistory {
  readonly retentionMs: number;
  readonly fiveMinuteRetentionMs: number;
  private readonly rollup: RollupBuffer;
  private readonly db: HistoryStore;
  private readonly now: () => number;
  private readonly streamSource: string;
  private readonly timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> | null = null;
  private bucketsWritten = 0;
  private writeFailures = 0;
  private hourlyThrough: number | null = null;

  constructor(private readonly o: AnalyticsHistoryOptions) {
    this.retentionMs = o.retentionMs ?? DEFAULT_RETENTION_MS;
    this.fiveMinuteRetentionMs = Math.min(
      o.fiveMinuteRetentionMs ?? DEFAULT_FIVE_MINUTE_RETENTION_MS,
      this.retentionMs,
    );
    this.now = o.now ?? Date.now;
    this.rollup = new RollupBuffer(this.now);
    this.db = new HistoryStore(o.prisma);
    this.streamSource = `stream:${o.cpId}/${o.bootId}`;
    if (o.timers !== false) {
      const flush = setInterval(() => void this.flush(), FLUSH_EVERY_MS);
      const prune = setInterval(() => void this.prune(), ANALYTICS_RETENTION_INTERVAL_MS);
      const rollUp = setInterval(() => void this.rollUp(), ANALYTICS_ROLLUP_INTERVAL_MS);
      for (const t of [flush, prune, rollUp]) t.unref();
      this.timers.push(flush, prune, rollUp);
      void this.rollUp().then(() => this.prune());
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

  /**
   * Rolls the final hours up into the hourly tier (on one replica at a time); null when another
   * replica holds the job (or the run failed, logged).
   */
  async rollUp(): Promise<RollupRun | null> {
    try {
      const run = await rollUpAnalyticsHistory(this.o.prisma, this.now());
      if (run) this.hourlyThrough = run.through;
      if (run?.hours) this.o.logger.debug({ ...run }, 'analytics: hours rolled up');
      return run;
    } catch (err) {
      this.o.logger.warn({ err }, 'analytics: history rollup failed');
      return null;
    }
  }

  /** Deletes rows past each tier's retention (on one replica at a time); null when another ran it. */
  async prune(): Promise<number | null> {
    try {
      const n = await pruneAnalyticsHistory(
        this.o.prisma,
        { retentionMs: this.retentionMs, fiveMinuteRetentionMs: this.fiveMinuteRetentionMs },
        this.now(),
      );
      if (n) this.o.logger.info({ rows: n }, 'analytics: history rows past the retention deleted');
      return n;
    } catch (err) {
      this.o.logger.warn({ err }, 'analytics: history retention run failed');
      return null;
    }
  }

  /** A query beyond the hour: the database up to what is written (planRead), the ring after. */
  async query(q: TrafficQuery, ring: TrafficStore): Promise<TrafficGroup[]> {
    const grouping = new TrafficGrouping(q);
    const seam = Math.min(q.toMs, Math.max(q.fromMs, this.rollup.persistedThrough()));
    const through = await this.db.hourlyThrough();
    if (through !== null) this.hourlyThrough = through;
    for (const range of planRead(q, seam, through ?? -Infinity))
      await this.db.read(q, range, (start, r) => grouping.add(start, r));
    ring.collect({ ...q, fromMs: seam }, grouping);
    return grouping.result();
  }

  stats(): HistoryStats {
    return {
      buckets_written: this.bucketsWritten,
      write_failures: this.writeFailures,
      hourly_through: this.hourlyThrough === null ? null : Math.floor(this.hourlyThrough / 1000),
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

/**
 * Which tier reads each part of [q.fromMs, seam): each whole hour before `hourlyThrough` (rolled
 * up) that lies within one step (any hour, without a step) from the hourly tier, the rest from
 * the 5-minute tier. Adjacent parts of one tier are one range; in time order.
 */
export function planRead(
  q: Pick<TrafficQuery, 'fromMs' | 'stepMs'>,
  seam: number,
  hourlyThrough: number,
): TierRange[] {
  const out: TierRange[] = [];
  const push = (tier: TierRange['tier'], fromMs: number, toMs: number) => {
    if (toMs <= fromMs) return;
    const last = out.at(-1);
    if (last && last.tier === tier && last.toMs === fromMs) last.toMs = toMs;
    else out.push({ tier, fromMs, toMs });
  };
  const stepOf = (t: number) => (q.stepMs ? Math.floor((t - q.fromMs) / q.stepMs) : 0);
  const end = floorHour(Math.min(seam, hourlyThrough));
  let at = q.fromMs;
  for (let h = Math.ceil(q.fromMs / HOURLY_MS) * HOURLY_MS; h + HOURLY_MS <= end; h += HOURLY_MS) {
    if (stepOf(h) !== stepOf(h + HOURLY_MS - 1)) continue;
    push('5m', at, h);
    push('1h', h, h + HOURLY_MS);
    at = h + HOURLY_MS;
  }
  push('5m', at, seam);
  return out;
}
