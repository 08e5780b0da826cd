/**
 * Fleet analytics on the control plane: traffic summaries from the DPs (their streams, and NATS
 * on the CP's one NATS link when it has one) checked by the intake, kept an hour in the
 * TrafficStore and, with a history, rolled up into 5-minute buckets, then hours, in the database
 * for each tier's retention (history.ts); served at `/analytics/*`. Refused summaries are counted and logged (at
 * most once a minute), never fatal.
 */
import type { TrafficSummary } from '@gatehouse/proto';
import type { Logger, NatsLink } from '@gatehouse/shared';
import {
  AnalyticsHistory,
  type AnalyticsHistoryOptions,
  type HistoryStats,
  type SummaryVia,
} from './history.js';
import { checkSummary, SummaryRefused } from './intake.js';
import { TelemetrySubscriber } from './nats-subscriber.js';
import type { AnalyticsLimits, ParsedQuery } from './query.js';
import { createAnalyticsRouter } from './router.js';
import { RESOLUTION_MS, TrafficStore, type Dimension, type TrafficGroup } from './traffic-store.js';

export { TrafficStore } from './traffic-store.js';
export { createAnalyticsRouter } from './router.js';
export { AnalyticsHistory, DEFAULT_FIVE_MINUTE_RETENTION_MS, DEFAULT_RETENTION_MS } from './history.js';
export { parseRetention } from './retention-setting.js';

export interface AnalyticsStats {
  summaries: number;
  refused: number;
  dropped_records: number;
  /** Absent without a history. */
  history?: HistoryStats;
}

export interface AnalyticsOptions {
  logger: Logger;
  /** The process's NATS link (summaries also arrive on it); null or absent: streams only. */
  nats?: NatsLink | null;
  store?: TrafficStore;
  /** The history in the database (absent: only the hour in memory). */
  history?: Omit<AnalyticsHistoryOptions, 'logger' | 'now'>;
  /** The clock (tests). */
  now?: () => number;
}

export class Analytics {
  readonly store: TrafficStore;
  readonly history: AnalyticsHistory | null;
  readonly limits: AnalyticsLimits;
  private readonly now: () => number;
  private readonly subscriber: TelemetrySubscriber | null;
  private summaries = 0;
  private refused = 0;
  private lastWarnAt = 0;

  constructor(private readonly o: AnalyticsOptions) {
    this.now = o.now ?? Date.now;
    this.store = o.store ?? new TrafficStore(undefined, this.now);
    this.history = o.history ? new AnalyticsHistory({ ...o.history, logger: o.logger, now: this.now }) : null;
    this.limits = {
      historyMs: this.history?.retentionMs ?? 0,
      fiveMinuteMs: this.history?.fiveMinuteRetentionMs ?? 0,
    };
    this.subscriber = o.nats
      ? new TelemetrySubscriber({
          nats: o.nats,
          logger: o.logger,
          onSummary: (s, who) => this.ingest(s, who, 'nats'),
          onMalformed: () => this.refuse('not a TrafficSummary'),
        })
      : null;
    this.subscriber?.start();
  }

  router() {
    return createAnalyticsRouter(this, this.now);
  }

  /** Answers a parsed query: from the ring at 10 s resolution, else from the history. */
  async query(q: ParsedQuery & { dimension: Dimension }): Promise<TrafficGroup[]> {
    if (q.resolutionMs === RESOLUTION_MS || !this.history) return this.store.query(q);
    return this.history.query(q, this.store);
  }

  /**
   * Takes one summary, from a DP's stream to this process (`via` stream) or from NATS; a bad one
   * is counted and logged, never thrown.
   */
  ingest(summary: TrafficSummary, who: { nodeId: string; region: string }, via: SummaryVia = 'stream'): void {
    try {
      const checked = checkSummary(summary, who, this.now());
      this.store.add(checked.periodStartMs, checked.records);
      this.history?.add(via, checked.periodStartMs, checked.records);
      this.summaries++;
    } catch (err) {
      this.refuse(err instanceof SummaryRefused ? err.message : `unexpected: ${String(err)}`, who.nodeId);
    }
  }

  stats(): AnalyticsStats {
    return {
      summaries: this.summaries,
      refused: this.refused,
      dropped_records: this.store.droppedRecords,
      ...(this.history ? { history: this.history.stats() } : {}),
    };
  }

  /** Resolves once the NATS subscription is live (no-op without NATS). */
  async ready(): Promise<void> {
    await this.subscriber?.ready();
  }

  /** Stops taking summaries, then writes what the history holds. */
  async close(): Promise<void> {
    await this.subscriber?.close();
    await this.history?.close();
  }

  private refuse(reason: string, nodeId?: string): void {
    this.refused++;
    const now = Date.now();
    if (now - this.lastWarnAt < 60_000) return;
    this.lastWarnAt = now;
    this.o.logger.warn({ reason, nodeId, refused: this.refused }, 'analytics: traffic summary refused');
  }
}
