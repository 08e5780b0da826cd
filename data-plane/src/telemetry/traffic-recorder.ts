/**
 * The worker's traffic recorder (a RequestObserver): per service/route/consumer, requests, 4xx
 * and 5xx responses and a latency sketch (request head read -> response end). `flush()` hands what
 * was counted to the primary and starts afresh; the worker calls it every few seconds.
 *
 * Bounded: at most `maxKeys` combinations per flush; requests beyond are counted as dropped.
 */
import {
  encodeSketch,
  newSketch,
  recordLatency,
  type Sketch,
} from '@gatehouse/shared/analytics/latency-sketch';
import type { RequestObserver } from '../observe/request-observer.js';
import type { ProxyRequest, ProxyRoute } from '../proxy/request.js';
import type { TrafficEntryData, TrafficMessage } from './protocol.js';
import { countedStatus } from '../proxy/grpc.js';

export const DEFAULT_MAX_KEYS = 1000;

interface Counts {
  serviceId: string;
  serviceName: string;
  routeId: string;
  routeName: string;
  consumerId: string;
  consumerName: string;
  requests: number;
  errors4xx: number;
  errors5xx: number;
  latency: Sketch;
}

export class TrafficRecorder implements RequestObserver {
  private counts = new Map<string, Counts>();
  /** The counts of a compiled route entry's consumer-less requests since the last flush. */
  private byEntry = new WeakMap<ProxyRoute, Counts>();
  private dropped = 0;

  constructor(
    private readonly maxKeys = DEFAULT_MAX_KEYS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  requestEnded(request: ProxyRequest): void {
    const entry = request.entry;
    // The common case, a matched route and no consumer: its cell without building the key.
    let c: Counts | undefined;
    if (entry !== null && request.consumerId === undefined) {
      c = this.byEntry.get(entry);
      if (c === undefined) {
        c = this.cellOf(request);
        if (c !== undefined) this.byEntry.set(entry, c);
      }
    } else {
      c = this.cellOf(request);
    }
    if (c === undefined) return;
    c.requests++;
    const status = countedStatus(request);
    if (status >= 500) c.errors5xx++;
    else if (status >= 400) c.errors4xx++;
    recordLatency(c.latency, this.now() - request.startedAt);
  }

  /** The counts of the request's combination (made when new), or undefined when over maxKeys (dropped). */
  private cellOf(request: ProxyRequest): Counts | undefined {
    const entry = request.entry;
    const routeId = entry?.route.id ?? '';
    const serviceId = entry?.service?.id ?? '';
    const consumerId = request.consumerId ?? '';
    const key = `${serviceId}|${routeId}|${consumerId}`;
    let c = this.counts.get(key);
    if (c === undefined) {
      if (this.counts.size >= this.maxKeys) {
        this.dropped++;
        return undefined;
      }
      c = {
        serviceId,
        serviceName: entry?.service?.name ?? '',
        routeId,
        routeName: entry?.route.name ?? '',
        consumerId,
        consumerName: request.consumerName ?? '',
        requests: 0,
        errors4xx: 0,
        errors5xx: 0,
        latency: newSketch(),
      };
      this.counts.set(key, c);
    }
    return c;
  }

  /** What was counted since the last flush (null when nothing was), as the message to the primary. */
  flush(): TrafficMessage | null {
    if (this.counts.size === 0 && this.dropped === 0) return null;
    const entries: TrafficEntryData[] = [];
    for (const c of this.counts.values()) entries.push({ ...c, latency: encodeSketch(c.latency) });
    const message: TrafficMessage = {
      t: 'traffic',
      entries,
      droppedEntries: this.dropped,
      rssBytes: 0,
      heapUsedBytes: 0,
    };
    this.counts = new Map();
    this.byEntry = new WeakMap();
    this.dropped = 0;
    return message;
  }
}

/**
 * Sends `recorder`'s counts to the primary every `flushMs`, with the worker's memory (even when
 * no request came: the primary's health report adds it up). The timer does not hold the process open.
 */
export function shipTraffic(
  recorder: TrafficRecorder,
  send: (m: TrafficMessage) => boolean,
  flushMs: number,
): () => void {
  const flush = () => {
    const m = recorder.flush() ?? {
      t: 'traffic',
      entries: [],
      droppedEntries: 0,
      rssBytes: 0,
      heapUsedBytes: 0,
    };
    const mem = process.memoryUsage();
    m.rssBytes = mem.rss;
    m.heapUsedBytes = mem.heapUsed;
    send(m);
  };
  const timer = setInterval(flush, flushMs);
  timer.unref();
  return () => clearInterval(timer);
}
