/**
 * The primary's telemetry toward the control plane, put together: the workers' traffic merged
 * (TrafficAggregator, fed from node:cluster's 'message' event, so the worker pool needs no
 * change), a summary every period (TrafficPublisher) over NATS when a URL is given, else on the
 * CP stream, and the health the heartbeats carry (HealthProbe).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger, NatsLink } from '@gatehouse/shared';
import type { HeartbeatHealth } from '../sync/config-client.js';
import { HealthProbe } from './health.js';
import { NatsTrafficTransport } from './nats-transport.js';
import { isTrafficMessage } from './protocol.js';
import { TrafficAggregator } from './traffic-aggregator.js';
import { TrafficPublisher, type TrafficTransport } from './traffic-publisher.js';

export interface NodeTelemetryOptions {
  nodeId: string;
  region: string | null | undefined;
  /** The process's NATS link: summaries go on it (absent: on the CP stream). */
  nats: NatsLink | undefined;
  /** Summary period; 0 turns summaries off (health is still reported). */
  periodMs: number;
  /** The CP stream's transport (used without NATS); null in DB-less mode. */
  stream: TrafficTransport | null;
  serving(): number;
  configuredWorkers: number;
  hasConfig(): boolean;
  logger: Logger;
}

export interface TrafficSummaryStatus {
  transport: string;
  period_ms: number;
  sent: number;
  buffered: number;
  dropped: number;
}

/** How often each worker reports to the primary: a fraction of the period, at most 2 s. */
export function workerFlushMs(periodMs: number): number | undefined {
  return periodMs > 0 ? Math.max(100, Math.min(2000, Math.floor(periodMs / 2))) : undefined;
}

export class NodeTelemetry {
  private readonly aggregator: TrafficAggregator;
  private readonly publisher: TrafficPublisher | null = null;
  private readonly nats: NatsTrafficTransport | null = null;
  private readonly probe: HealthProbe;
  private readonly onMessage = (worker: Worker, m: unknown) => {
    if (isTrafficMessage(m)) this.aggregator.add(worker.id, m);
  };
  private readonly onExit = (worker: Worker) => this.aggregator.forgetWorker(worker.id);

  constructor(o: NodeTelemetryOptions) {
    this.aggregator = new TrafficAggregator(o.logger);
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
    this.probe = new HealthProbe({
      serving: () => o.serving(),
      configured: o.configuredWorkers,
      hasConfig: () => o.hasConfig(),
      workersMemory: () => this.aggregator.workersMemory(),
    });
    const transport =
      o.periodMs <= 0
        ? null
        : o.nats
          ? (this.nats = new NatsTrafficTransport({
              nats: o.nats,
              region: o.region,
              nodeId: o.nodeId,
              logger: o.logger,
            }))
          : o.stream;
    if (transport) {
      this.nats?.start();
      this.publisher = new TrafficPublisher({
        aggregator: this.aggregator,
        transport,
        nodeId: o.nodeId,
        region: o.region ?? '',
        logger: o.logger,
        periodMs: o.periodMs,
      });
      this.publisher.start();
    }
  }

  health(): HeartbeatHealth {
    return this.probe.report();
  }

  status(): TrafficSummaryStatus | null {
    const p = this.publisher;
    if (!p) return null;
    return {
      transport: this.nats ? 'nats' : 'stream',
      period_ms: p.periodMs,
      sent: p.sent,
      buffered: p.buffered,
      dropped: p.dropped,
    };
  }

  /** Stops publishing (the NATS link is the process's, closed by its owner). */
  async close(): Promise<void> {
    this.publisher?.stop();
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
    this.probe.close();
  }
}
