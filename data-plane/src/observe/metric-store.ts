/**
 * A worker's request metrics: plain counters and histogram buckets, kept per label set in cells
 * made once (per route and snapshot, cached on the route entry), so recording a request builds
 * no string and allocates nothing once its cell exists. The primary pulls what changed since the
 * last pull (`drain`, a `MetricsDelta` over the worker IPC) and adds it to the node's totals
 * (status/node-series.ts): one scrape of the status port is the whole node.
 *
 * One store per process (`metricStore`): the request-metrics observer, the prometheus plugin and
 * the rate-limiting / proxy-cache plugins all count into it.
 */

import { SHED_REASONS, type ShedReason } from '../proxy/overload.js';
import { allLogCounters } from './log-queue.js';

/** Buckets (seconds) of the gatehouse_* latency histograms. */
export const SECONDS_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
/** Kong's buckets (ms) of kong_kong_latency_ms (kong/plugins/prometheus/exporter.lua). */
export const KONG_LATENCY_BUCKETS: readonly number[] = [
  1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000,
];
/** Kong's buckets (ms) of kong_upstream_latency_ms and kong_request_latency_ms. */
export const KONG_UPSTREAM_BUCKETS: readonly number[] = [
  25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000,
];

/** Distinct consumer label values kept per process; later consumers are counted with consumer "". */
export const MAX_CONSUMER_LABELS = 1000;

/** Counts per bucket (not cumulative; the last slot is above the highest bound) and the sum. */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]! += 1;
    this.sum += v;
  }

  /** What was observed since the last take, then zero. */
  take(): HistogramDelta {
    const c = Array.from(this.counts);
    this.counts.fill(0);
    const s = this.sum;
    this.sum = 0;
    return { c, s };
  }
}

export interface HistogramDelta {
  /** Per-bucket counts (not cumulative), the last one above the highest bound. */
  c: number[];
  s: number;
}

/** The gatehouse_* series of one (service, route). */
export class RouteCell {
  dirty = false;
  /** status code -> requests */
  readonly codes = new Map<number, number>();
  readonly total = new Histogram(SECONDS_BUCKETS);
  readonly upstream = new Histogram(SECONDS_BUCKETS);
  readonly gateway = new Histogram(SECONDS_BUCKETS);
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly service: string,
    readonly route: string,
  ) {}
}

/** Kong's series of one (service, route) where a prometheus plugin ran. */
export class KongCell {
  dirty = false;
  /** consumer -> (code * 2 + (source is 'service' ? 1 : 0)) -> requests */
  readonly requests = new Map<string, Map<number, number>>();
  /** consumer -> [ingress, egress] bytes */
  readonly bandwidth = new Map<string, [number, number]>();
  readonly kong = new Histogram(KONG_LATENCY_BUCKETS);
  readonly upstream = new Histogram(KONG_UPSTREAM_BUCKETS);
  readonly request = new Histogram(KONG_UPSTREAM_BUCKETS);

  constructor(
    readonly service: string,
    readonly route: string,
  ) {}
}

export interface RouteDelta {
  service: string;
  route: string;
  /** [code, count, code, count, …] */
  codes: number[];
  total: HistogramDelta;
  upstream: HistogramDelta;
  gateway: HistogramDelta;
  bytesIn: number;
  bytesOut: number;
}

export interface KongDelta {
  service: string;
  route: string;
  /** [code, source (1 = service, 0 = kong), consumer, count, …] */
  requests: (string | number)[];
  /** [consumer, ingress, egress, …] */
  bandwidth: (string | number)[];
  kong: HistogramDelta | null;
  upstream: HistogramDelta | null;
  request: HistogramDelta | null;
}

/** The proxy's listeners whose client connections are counted. */
export const LISTENERS = ['http', 'https'] as const;
export type Listener = (typeof LISTENERS)[number];

/** What a worker sends the primary: everything counted since its previous delta. */
export interface MetricsDelta {
  routes: RouteDelta[];
  kong: KongDelta[];
  /** [plugin, outcome, count, …] (rate-limiting allowed/limited, proxy-cache Hit/Miss/Bypass…). */
  plugins: (string | number)[];
  /** Client connections open on this worker now, per listener. */
  connections: Record<Listener, number>;
  /** Client connections accepted by this worker since the previous delta (every listener). */
  accepted: number;
  /** HTTP/2 sessions opened and sessions closed for rapid reset since the previous delta (absent: none). */
  http2?: [sessions: number, rapidResetCloses: number];
  /** Requests the worker shed (load shedding, proxy/overload.ts) since the previous delta, per SHED_REASONS (absent: none). */
  shed?: number[];
  /**
   * [log, sent, dropped, retried, …]: what each log (the log plugins by name, `access-log`)
   * counted since the previous delta; only logs that counted something.
   */
  logs: (string | number)[];
}

const cellKey = (service: string, route: string): string => `${service}\u0000${route}`;

export class MetricStore {
  private readonly routes = new Map<string, RouteCell>();
  private readonly kongCells = new Map<string, KongCell>();
  private readonly plugins = new Map<string, Map<string, number>>();
  private readonly consumers = new Set<string>();
  private dirtyRoutes: RouteCell[] = [];
  private dirtyKong: KongCell[] = [];
  /** Open client connections per listener (observe/connection-count.ts keeps them). */
  readonly connections: Record<Listener, number> = { http: 0, https: 0 };
  accepted = 0;
  /** The proxy's HTTP/2 counters (running totals, proxy/http2-edge.ts), read at each drain; null: no HTTP/2. */
  http2: { readonly sessions: number; readonly rapidResetCloses: number } | null = null;
  private http2Seen: [number, number] = [0, 0];
  /** The proxy's load-shedding guard (running totals by reason, proxy/overload.ts), read at each drain; null: none. */
  overload: { readonly shedBy: Readonly<Record<ShedReason, number>> } | null = null;
  private readonly shedSeen = SHED_REASONS.map(() => 0);
  /** Each log's counters as of the previous drain: [sent, dropped, retried]. */
  private readonly logsSeen = new Map<string, [number, number, number]>();

  /** The cell of (service, route), made once. Call per route per snapshot, not per request. */
  routeCell(service: string, route: string): RouteCell {
    const key = cellKey(service, route);
    let cell = this.routes.get(key);
    if (cell === undefined) this.routes.set(key, (cell = new RouteCell(service, route)));
    return cell;
  }

  kongCell(service: string, route: string): KongCell {
    const key = cellKey(service, route);
    let cell = this.kongCells.get(key);
    if (cell === undefined) this.kongCells.set(key, (cell = new KongCell(service, route)));
    return cell;
  }

  touchRoute(cell: RouteCell): void {
    if (!cell.dirty) {
      cell.dirty = true;
      this.dirtyRoutes.push(cell);
    }
  }

  touchKong(cell: KongCell): void {
    if (!cell.dirty) {
      cell.dirty = true;
      this.dirtyKong.push(cell);
    }
  }

  /** The consumer label to use: `name`, or "" once MAX_CONSUMER_LABELS others were seen. */
  consumerLabel(name: string): string {
    if (this.consumers.has(name)) return name;
    if (this.consumers.size >= MAX_CONSUMER_LABELS) return '';
    this.consumers.add(name);
    return name;
  }

  /** Counts one outcome of a plugin (e.g. 'rate-limiting', 'limited'). */
  countPlugin(plugin: string, outcome: string): void {
    let m = this.plugins.get(plugin);
    if (m === undefined) this.plugins.set(plugin, (m = new Map<string, number>()));
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }

  /** Everything counted since the previous drain (cells keep their labels, counts go back to zero). */
  drain(): MetricsDelta {
    const routes: RouteDelta[] = [];
    for (const cell of this.dirtyRoutes) {
      cell.dirty = false;
      const codes: number[] = [];
      for (const [code, n] of cell.codes) codes.push(code, n);
      cell.codes.clear();
      routes.push({
        service: cell.service,
        route: cell.route,
        codes,
        total: cell.total.take(),
        upstream: cell.upstream.take(),
        gateway: cell.gateway.take(),
        bytesIn: cell.bytesIn,
        bytesOut: cell.bytesOut,
      });
      cell.bytesIn = 0;
      cell.bytesOut = 0;
    }
    this.dirtyRoutes = [];
    const kong: KongDelta[] = [];
    for (const cell of this.dirtyKong) {
      cell.dirty = false;
      const requests: (string | number)[] = [];
      for (const [consumer, byCode] of cell.requests)
        for (const [k, n] of byCode) requests.push(k >> 1, k & 1, consumer, n);
      cell.requests.clear();
      const bandwidth: (string | number)[] = [];
      for (const [consumer, [i, e]] of cell.bandwidth) bandwidth.push(consumer, i, e);
      cell.bandwidth.clear();
      kong.push({
        service: cell.service,
        route: cell.route,
        requests,
        bandwidth,
        kong: takeIfAny(cell.kong),
        upstream: takeIfAny(cell.upstream),
        request: takeIfAny(cell.request),
      });
    }
    this.dirtyKong = [];
    const plugins: (string | number)[] = [];
    for (const [plugin, m] of this.plugins) for (const [outcome, n] of m) plugins.push(plugin, outcome, n);
    this.plugins.clear();
    const accepted = this.accepted;
    this.accepted = 0;
    const delta: MetricsDelta = {
      routes,
      kong,
      plugins,
      connections: { ...this.connections },
      accepted,
      logs: this.drainLogs(),
    };
    const h2 = this.http2;
    if (h2 !== null) {
      const [s, r] = this.http2Seen;
      if (h2.sessions !== s || h2.rapidResetCloses !== r) {
        delta.http2 = [h2.sessions - s, h2.rapidResetCloses - r];
        this.http2Seen = [h2.sessions, h2.rapidResetCloses];
      }
    }
    const shedBy = this.overload?.shedBy;
    if (shedBy !== undefined && SHED_REASONS.some((r, i) => shedBy[r] !== this.shedSeen[i])) {
      delta.shed = SHED_REASONS.map((r, i) => shedBy[r] - this.shedSeen[i]!);
      SHED_REASONS.forEach((r, i) => (this.shedSeen[i] = shedBy[r]));
    }
    return delta;
  }

  /** What each log counted since the previous drain (allLogCounters keeps running totals). */
  private drainLogs(): (string | number)[] {
    const out: (string | number)[] = [];
    for (const [name, c] of allLogCounters()) {
      let seen = this.logsSeen.get(name);
      if (seen === undefined) this.logsSeen.set(name, (seen = [0, 0, 0]));
      const sent = c.sent - seen[0];
      const dropped = c.dropped - seen[1];
      const retried = c.retried - seen[2];
      if (sent === 0 && dropped === 0 && retried === 0) continue;
      out.push(name, sent, dropped, retried);
      seen[0] = c.sent;
      seen[1] = c.dropped;
      seen[2] = c.retried;
    }
    return out;
  }
}

function takeIfAny(h: Histogram): HistogramDelta | null {
  for (const c of h.counts) if (c !== 0) return h.take();
  return null;
}

/** This process's store. */
export const metricStore = new MetricStore();
