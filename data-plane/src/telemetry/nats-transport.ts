/**
 * Traffic summaries over NATS: subject `gatehouse.telemetry.<region>.<node>`, payload the
 * TrafficSummary protobuf. While NATS is unreachable or disconnected `send` says no, so the
 * publisher keeps the summary in its bounded buffer; the DP serves on regardless.
 */
import { toBinary } from '@bufbuild/protobuf';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TrafficSummarySchema, type TrafficSummary } from '@gatehouse/proto';
import type { Logger } from '@gatehouse/shared';
import { regionToken } from '../ratelimit/cluster-policy.js';
import type { TrafficTransport } from './traffic-publisher.js';

const RETRY_MS = 2000;

export function telemetrySubject(region: string | null | undefined, nodeId: string): string {
  return `gatehouse.telemetry.${regionToken(region)}.${regionToken(nodeId)}`;
}

export class NatsTrafficTransport implements TrafficTransport {
  readonly name = 'nats';
  readonly subject: string;
  private nc: NatsConnection | null = null;
  private connected = false;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: {
      natsUrl: string;
      region: string | null | undefined;
      nodeId: string;
      logger: Logger;
    },
  ) {
    this.subject = telemetrySubject(o.region, o.nodeId);
  }

  start(): void {
    void this.connectLoop();
  }

  send(summary: TrafficSummary): boolean {
    const nc = this.nc;
    if (!nc || !this.connected) return false;
    try {
      nc.publish(this.subject, toBinary(TrafficSummarySchema, summary));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const nc = this.nc;
    this.nc = null;
    this.connected = false;
    if (nc) await nc.drain().catch(() => nc.close().catch(() => undefined));
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
          name: `gatehouse-dp-${this.o.nodeId}-telemetry`,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: RETRY_MS,
          pingInterval: 5000,
          maxPingOut: 2,
          timeout: 2000,
        });
        if (this.closed) {
          await nc.close().catch(() => undefined);
          return;
        }
        this.nc = nc;
        this.connected = true;
        this.o.logger.info({ subject: this.subject }, 'traffic summaries: publishing on NATS');
        void this.watch(nc);
        return;
      } catch (err) {
        if (!warned) {
          warned = true;
          this.o.logger.warn(
            { err: (err as Error).message, subject: this.subject },
            'traffic summaries: NATS unreachable; buffering summaries until it connects',
          );
        }
        await new Promise<void>((resolve) => {
          this.retry = setTimeout(resolve, RETRY_MS);
          this.retry.unref();
        });
      }
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.connected = false;
        else if (s.type === 'reconnect') this.connected = true;
      }
    } catch {
      // status() ends with the connection.
    }
  }
}
