/**
 * Fleet analytics on the control plane: traffic summaries from the DPs (their streams, and NATS
 * on the CP's one NATS link when it has one) checked by the intake, kept an hour in the
 * TrafficStore, served at `/analytics/*`. Refused summaries are counted and logged (at most once a minute), never fatal.
 */
import type { TrafficSummary } from '@gatehouse/proto';
import type { Logger, NatsLink } from '@gatehouse/shared';
import { checkSummary, SummaryRefused } from './intake.js';
import { TelemetrySubscriber } from './nats-subscriber.js';
import { createAnalyticsRouter } from './router.js';
import { TrafficStore } from './traffic-store.js';

export { TrafficStore } from './traffic-store.js';
export { createAnalyticsRouter } from './router.js';

export interface AnalyticsStats {
  summaries: number;
  refused: number;
  dropped_records: number;
}

export class Analytics {
  readonly store: TrafficStore;
  private readonly subscriber: TelemetrySubscriber | null;
  private summaries = 0;
  private refused = 0;
  private lastWarnAt = 0;

  /** `nats`: the process's NATS link (summaries also arrive on it); null or absent: streams only. */
  constructor(private readonly o: { logger: Logger; nats?: NatsLink | null; store?: TrafficStore }) {
    this.store = o.store ?? new TrafficStore();
    this.subscriber = o.nats
      ? new TelemetrySubscriber({
          nats: o.nats,
          logger: o.logger,
          onSummary: (s, who) => this.ingest(s, who),
          onMalformed: () => this.refuse('not a TrafficSummary'),
        })
      : null;
    this.subscriber?.start();
  }

  router() {
    return createAnalyticsRouter(this.store);
  }

  /** Takes one summary; a bad one is counted and logged, never thrown. */
  ingest(summary: TrafficSummary, who: { nodeId: string; region: string }): void {
    try {
      const checked = checkSummary(summary, who);
      this.store.add(checked.periodStartMs, checked.records);
      this.summaries++;
    } catch (err) {
      this.refuse(err instanceof SummaryRefused ? err.message : `unexpected: ${String(err)}`, who.nodeId);
    }
  }

  stats(): AnalyticsStats {
    return { summaries: this.summaries, refused: this.refused, dropped_records: this.store.droppedRecords };
  }

  /** Resolves once the NATS subscription is live (no-op without NATS). */
  async ready(): Promise<void> {
    await this.subscriber?.ready();
  }

  async close(): Promise<void> {
    await this.subscriber?.close();
  }

  private refuse(reason: string, nodeId?: string): void {
    this.refused++;
    const now = Date.now();
    if (now - this.lastWarnAt < 60_000) return;
    this.lastWarnAt = now;
    this.o.logger.warn({ reason, nodeId, refused: this.refused }, 'analytics: traffic summary refused');
  }
}
