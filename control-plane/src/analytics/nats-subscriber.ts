/**
 * The CP's side of traffic summaries over NATS: subscribes to `gatehouse.telemetry.>` and hands
 * each summary to the intake. The subject's tokens say the region and node when the message does
 * not. A message that does not decode is dropped and counted; NATS down only means no summaries.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TrafficSummarySchema, type TrafficSummary } from '@gatehouse/proto';
import type { Logger } from '@gatehouse/shared';

export const TELEMETRY_SUBJECTS = 'gatehouse.telemetry.>';
const RETRY_MS = 2000;

export interface TelemetrySubscriberOptions {
  natsUrl: string;
  logger: Logger;
  onSummary(summary: TrafficSummary, who: { nodeId: string; region: string }): void;
  /** A message that is not a TrafficSummary. */
  onMalformed(): void;
}

export class TelemetrySubscriber {
  private nc: NatsConnection | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(private readonly o: TelemetrySubscriberOptions) {}

  start(): void {
    void this.connectLoop();
  }

  /** Resolves once subscribed (tests). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.nc) {
      if (Date.now() > until) throw new Error('NATS telemetry subscriber did not connect');
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.nc.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const nc = this.nc;
    this.nc = null;
    if (nc) await nc.close().catch(() => undefined);
  }

  private handle(subject: string, data: Uint8Array): void {
    let summary: TrafficSummary;
    try {
      summary = fromBinary(TrafficSummarySchema, data);
    } catch {
      this.o.onMalformed();
      return;
    }
    const [, , region = '', node = ''] = subject.split('.');
    this.o.onSummary(summary, {
      nodeId: summary.nodeId || node,
      region: summary.region || region,
    });
  }

  private async connectLoop(): Promise<void> {
    const servers = this.o.natsUrl
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    let warned = false;
    while (!this.closed) {
      try {
        const nc = await connect({
          servers,
          name: 'gatehouse-cp-telemetry',
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RETRY_MS,
          timeout: 2000,
        });
        if (this.closed) {
          await nc.close().catch(() => undefined);
          return;
        }
        nc.subscribe(TELEMETRY_SUBJECTS, {
          callback: (err, msg) => {
            if (!err) this.handle(msg.subject, msg.data);
          },
        });
        this.nc = nc;
        this.o.logger.info({ subject: TELEMETRY_SUBJECTS }, 'analytics: receiving traffic summaries on NATS');
        return;
      } catch (err) {
        if (!warned) {
          warned = true;
          this.o.logger.warn(
            { err: (err as Error).message },
            'analytics: NATS unreachable; summaries on NATS wait until it connects',
          );
        }
        await new Promise<void>((resolve) => {
          this.retry = setTimeout(resolve, RETRY_MS);
          this.retry.unref();
        });
      }
    }
  }
}
