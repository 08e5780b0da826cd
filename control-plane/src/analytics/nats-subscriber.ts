/**
 * The CP's side of traffic summaries over NATS: subscribes to `gatehouse.telemetry.>` on the
 * process's NATS link (the one the replicas adapter uses) and hands each summary to the intake.
 * The subject's tokens say the region and node when the message does not. A message that does
 * not decode is dropped and counted (by the link, and as refused here); NATS down only means no
 * summaries.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { TrafficSummarySchema, type TrafficSummary } from '@gatehouse/proto';
import type { Logger, NatsLink, NatsSubscriptionHandle } from '@gatehouse/shared';

export const TELEMETRY_SUBJECTS = 'gatehouse.telemetry.>';

export interface TelemetrySubscriberOptions {
  nats: NatsLink;
  logger: Logger;
  onSummary(summary: TrafficSummary, who: { nodeId: string; region: string }): void;
  /** A message that is not a TrafficSummary. */
  onMalformed(): void;
}

export class TelemetrySubscriber {
  private subscription: NatsSubscriptionHandle | null = null;

  constructor(private readonly o: TelemetrySubscriberOptions) {}

  start(): void {
    if (this.subscription) return;
    this.subscription = this.o.nats.subscribe(TELEMETRY_SUBJECTS, {
      decode: (data) => {
        try {
          return fromBinary(TrafficSummarySchema, data);
        } catch {
          this.o.onMalformed();
          return undefined;
        }
      },
      handle: (summary, subject) => this.handle(summary, subject),
    });
    this.o.logger.info({ subject: TELEMETRY_SUBJECTS }, 'analytics: receiving traffic summaries on NATS');
  }

  /** Resolves once the subscription is live on the server (tests). */
  async ready(): Promise<void> {
    await this.o.nats.ready();
    await this.o.nats.flush();
  }

  /** Unsubscribes (the link belongs to the process). */
  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  private handle(summary: TrafficSummary, subject: string): void {
    const [, , region = '', node = ''] = subject.split('.');
    this.o.onSummary(summary, {
      nodeId: summary.nodeId || node,
      region: summary.region || region,
    });
  }
}
