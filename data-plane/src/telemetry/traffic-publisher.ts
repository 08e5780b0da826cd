/**
 * Sends the node's traffic summary every period (10 s, aligned to the wall clock so every DP's
 * periods line up with the CP's buckets) through a transport: the CP stream or NATS. A transport
 * that cannot take it (stream down, NATS disconnected) leaves it in a bounded buffer, sent first
 * once the transport is back; beyond the bound the oldest is dropped and counted. Serving never
 * waits for any of this.
 */
import type { TrafficSummary } from '@gatehouse/proto';
import type { Logger } from '@gatehouse/shared';
import type { TrafficAggregator } from './traffic-aggregator.js';

export const DEFAULT_PERIOD_MS = 10_000;
/** Summaries kept while the transport is down (30 periods: 5 minutes at 10 s). */
export const DEFAULT_BUFFER_SUMMARIES = 30;

export interface TrafficTransport {
  /** Sends one summary; false when it cannot now (it is buffered and tried again). */
  send(summary: TrafficSummary): boolean;
  readonly name: string;
}

export interface TrafficPublisherOptions {
  aggregator: TrafficAggregator;
  transport: TrafficTransport;
  nodeId: string;
  region: string;
  logger: Logger;
  periodMs?: number;
  bufferSummaries?: number;
}

export class TrafficPublisher {
  readonly periodMs: number;
  private readonly bound: number;
  private readonly buffer: TrafficSummary[] = [];
  private timer: NodeJS.Timeout | null = null;
  private periodStart: number;
  /** Summaries dropped since start (buffer full). */
  dropped = 0;
  sent = 0;

  constructor(private readonly o: TrafficPublisherOptions) {
    this.periodMs = o.periodMs ?? DEFAULT_PERIOD_MS;
    this.bound = o.bufferSummaries ?? DEFAULT_BUFFER_SUMMARIES;
    this.periodStart = this.alignedNow();
  }

  get buffered(): number {
    return this.buffer.length;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Ends the current period: takes its summary and sends it (and whatever waits). */
  tick(now = Date.now()): void {
    const summary = this.o.aggregator.take({
      nodeId: this.o.nodeId,
      region: this.o.region,
      periodStartMs: this.periodStart,
      periodMs: this.periodMs,
    });
    this.periodStart = Math.floor(now / this.periodMs) * this.periodMs;
    if (summary) {
      if (this.buffer.length >= this.bound) {
        this.buffer.shift();
        this.dropped++;
      }
      this.buffer.push(summary);
    }
    this.drain();
  }

  private drain(): void {
    while (this.buffer.length > 0) {
      const next = this.buffer[0]!;
      next.droppedSummaries = BigInt(this.dropped);
      if (!this.o.transport.send(next)) return;
      this.buffer.shift();
      this.sent++;
    }
  }

  private alignedNow(): number {
    return Math.floor(Date.now() / this.periodMs) * this.periodMs;
  }

  private schedule(): void {
    const now = Date.now();
    const delay = this.periodMs - (now % this.periodMs);
    this.timer = setTimeout(() => {
      this.tick();
      this.schedule();
    }, delay);
    this.timer.unref();
  }
}
