/**
 * The node's health for the heartbeat: serving workers, memory (primary + workers, as they last
 * reported it) and the primary's event-loop delay (p99 since the previous heartbeat).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { WorkerMemory } from './traffic-aggregator.js';

export interface NodeHealthReport {
  status: 'ok' | 'degraded' | 'starting';
  workers: number;
  workersConfigured: number;
  rssBytes: bigint;
  heapUsedBytes: bigint;
  eventLoopLagMs: number;
}

export interface HealthSources {
  serving(): number;
  configured: number;
  hasConfig(): boolean;
  workersMemory(): WorkerMemory;
}

export class HealthProbe {
  private readonly delay: IntervalHistogram;

  constructor(private readonly sources: HealthSources) {
    this.delay = monitorEventLoopDelay({ resolution: 20 });
    this.delay.enable();
  }

  report(): NodeHealthReport {
    const serving = this.sources.serving();
    const own = process.memoryUsage();
    const workers = this.sources.workersMemory();
    const lagMs = this.delay.count > 0 ? this.delay.percentile(99) / 1e6 : 0;
    this.delay.reset();
    return {
      status: !this.sources.hasConfig() ? 'starting' : serving < this.sources.configured ? 'degraded' : 'ok',
      workers: serving,
      workersConfigured: this.sources.configured,
      rssBytes: BigInt(Math.round(own.rss + workers.rssBytes)),
      heapUsedBytes: BigInt(Math.round(own.heapUsed + workers.heapUsedBytes)),
      eventLoopLagMs: Math.round(lagMs * 1000) / 1000,
    };
  }

  close(): void {
    this.delay.disable();
  }
}
