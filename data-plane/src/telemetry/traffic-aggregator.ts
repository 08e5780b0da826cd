/**
 * The primary's side of traffic summaries: merges what each worker sends (counts add, sketches
 * merge by bins) into the node's current period, and turns the period into a TrafficSummary.
 * It also keeps each worker's last reported memory, for the health the heartbeat carries.
 */
import { create } from '@bufbuild/protobuf';
import {
  LatencySketchSchema,
  TrafficEntrySchema,
  TrafficSummarySchema,
  type TrafficSummary,
} from '@gatehouse/proto/gen/gatehouse/v1/cluster_pb';
import {
  decodeSketch,
  encodeSketch,
  mergeSketch,
  type Sketch,
} from '@gatehouse/shared/analytics/latency-sketch';
import type { Logger } from '@gatehouse/shared/logger';
import type { TrafficEntryData, TrafficMessage } from './protocol.js';

/** Most entries one summary holds (it must stay well under the CP's 1 MiB message limit). */
export const MAX_SUMMARY_ENTRIES = 2000;

interface NodeCounts extends Omit<TrafficEntryData, 'latency'> {
  latency: Sketch;
}

export interface WorkerMemory {
  rssBytes: number;
  heapUsedBytes: number;
}

export class TrafficAggregator {
  private counts = new Map<string, NodeCounts>();
  private droppedEntries = 0;
  private readonly memory = new Map<number, WorkerMemory>();

  constructor(
    private readonly logger?: Logger,
    private readonly maxEntries = MAX_SUMMARY_ENTRIES,
  ) {}

  /** Takes one worker's message (a malformed one is logged and left out). */
  add(workerId: number, m: TrafficMessage): void {
    if (Number.isFinite(m.rssBytes) && Number.isFinite(m.heapUsedBytes))
      this.memory.set(workerId, { rssBytes: m.rssBytes, heapUsedBytes: m.heapUsedBytes });
    if (Number.isFinite(m.droppedEntries)) this.droppedEntries += m.droppedEntries;
    if (!Array.isArray(m.entries)) return;
    for (const e of m.entries) {
      try {
        this.addEntry(e);
      } catch (err) {
        this.logger?.warn({ err, workerId }, 'malformed traffic entry from a worker; left out');
      }
    }
  }

  private addEntry(e: TrafficEntryData): void {
    const key = `${e.serviceId}|${e.routeId}|${e.consumerId}`;
    const sketch = decodeSketch(e.latency);
    const c = this.counts.get(key);
    if (c) {
      c.requests += e.requests;
      c.errors4xx += e.errors4xx;
      c.errors5xx += e.errors5xx;
      mergeSketch(c.latency, sketch);
      if (e.consumerName) c.consumerName = e.consumerName;
      return;
    }
    if (this.counts.size >= this.maxEntries) {
      this.droppedEntries += e.requests;
      return;
    }
    this.counts.set(key, { ...e, latency: sketch });
  }

  /** A worker is gone: its memory no longer counts. */
  forgetWorker(workerId: number): void {
    this.memory.delete(workerId);
  }

  /** Memory of the workers, as they last reported it. */
  workersMemory(): WorkerMemory {
    let rssBytes = 0;
    let heapUsedBytes = 0;
    for (const m of this.memory.values()) {
      rssBytes += m.rssBytes;
      heapUsedBytes += m.heapUsedBytes;
    }
    return { rssBytes, heapUsedBytes };
  }

  /** The period so far as a summary (null when nothing happened), and a fresh period. */
  take(o: {
    nodeId: string;
    region: string;
    periodStartMs: number;
    periodMs: number;
  }): TrafficSummary | null {
    if (this.counts.size === 0 && this.droppedEntries === 0) return null;
    const entries = [...this.counts.values()].map((c) =>
      create(TrafficEntrySchema, {
        serviceId: c.serviceId,
        serviceName: c.serviceName,
        routeId: c.routeId,
        routeName: c.routeName,
        consumerId: c.consumerId,
        consumerUsername: c.consumerName,
        requests: BigInt(c.requests),
        errors4xx: BigInt(c.errors4xx),
        errors5xx: BigInt(c.errors5xx),
        latency: create(LatencySketchSchema, encodeSketch(c.latency)),
      }),
    );
    const summary = create(TrafficSummarySchema, {
      nodeId: o.nodeId,
      region: o.region,
      periodStartUnixMs: BigInt(o.periodStartMs),
      periodMs: o.periodMs,
      entries,
      droppedEntries: BigInt(this.droppedEntries),
    });
    this.counts = new Map();
    this.droppedEntries = 0;
    return summary;
  }
}
