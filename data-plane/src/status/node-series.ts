/**
 * The node's request series, in the primary: the sum of every worker's MetricsDelta (pulled over
 * the worker IPC at each scrape, see WorkerPool.pullMetrics), exposed through prom-client's
 * registry as custom metrics (so prom-client renders and escapes them). Two families:
 *
 *   - gatehouse_*: always (docs/observability.md lists them);
 *   - kong_*: Kong's prometheus plugin names and labels, only while the served config enables a
 *     `prometheus` plugin (as Kong exports nothing without one); upstream target health only
 *     when one of them sets `upstream_health_metrics`.
 *
 * Counters only grow: a worker that dies loses what it counted since the last scrape, never
 * what the node had already summed.
 */
import { SHED_REASONS } from '../proxy/overload.js';
import { type KongExport } from '../runtime/node-config.js';
import type { Registry } from 'prom-client';
import {
  KONG_LATENCY_BUCKETS,
  KONG_UPSTREAM_BUCKETS,
  LISTENERS,
  SECONDS_BUCKETS,
  type HistogramDelta,
  type Listener,
  type MetricsDelta,
} from '../observe/metric-store.js';

type Labels = Record<string, string | number>;
interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}
type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric prom-client's registry renders from `get()` (the shape of its own metrics). */
class CustomMetric {
  readonly aggregator = 'sum' as const;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly values: () => Value[],
  ) {}
  get(): { name: string; help: string; type: MetricType; values: Value[]; aggregator: 'sum' } {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: 'sum' };
  }
  reset(): void {}
}

class SummedHistogram {
  readonly counts: number[];
  sum = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }
  add(d: HistogramDelta): void {
    const n = Math.min(d.c.length, this.counts.length);
    for (let i = 0; i < n; i++) this.counts[i]! += d.c[i]!;
    this.sum += d.s;
  }
  /** Prometheus' cumulative buckets, _sum and _count. */
  values(name: string, labels: Labels, out: Value[]): void {
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: this.bounds[i]! }, value: acc });
    }
    acc += this.counts[this.bounds.length]!;
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: acc });
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: acc });
  }
}

interface RouteTotals {
  service: string;
  route: string;
  codes: Map<number, number>;
  total: SummedHistogram;
  upstream: SummedHistogram;
  gateway: SummedHistogram;
  bytesIn: number;
  bytesOut: number;
}

interface KongTotals {
  service: string;
  route: string;
  /** `${code} ${source} ${consumer}` -> count */
  requests: Map<string, { code: number; source: string; consumer: string; n: number }>;
  bandwidth: Map<string, [number, number]>;
  kong: SummedHistogram;
  upstream: SummedHistogram;
  request: SummedHistogram;
}

export interface NodeFacts {
  nodeId: string;
  version: string;
  /** 1 while the control plane stream is up. */
  cpConnected: () => number;
  /** upstream name -> target -> healthy */
  upstreamHealth: () => Record<string, Record<string, boolean>>;
}

const statusClass = (code: number): string => `${Math.floor(code / 100)}xx`;
const key = (a: string, b: string): string => `${a}\u0000${b}`;

export class NodeSeries {
  private readonly routes = new Map<string, RouteTotals>();
  private readonly kongTotals = new Map<string, KongTotals>();
  private readonly plugins = new Map<string, number>();
  private readonly openByWorker = new Map<number, Record<Listener, number>>();
  private accepted = 0;
  private http2Sessions = 0;
  /** Requests shed, per SHED_REASONS. */
  private readonly shed = SHED_REASONS.map(() => 0);
  private http2RapidResetCloses = 0;
  /** log name -> [sent, dropped, retried] */
  private readonly logs = new Map<string, [number, number, number]>();
  private kongExport: KongExport = { enabled: false, upstreamHealth: false };

  constructor(private readonly facts: NodeFacts) {}

  /** Follows the served config's prometheus plugins (see `kongExportOf`). */
  setKongExport(e: KongExport): void {
    this.kongExport = e;
  }

  /** Adds one worker's delta (`worker`: its id, for the open-connections gauge). */
  add(worker: number, d: MetricsDelta): void {
    for (const r of d.routes) {
      const k = key(r.service, r.route);
      let t = this.routes.get(k);
      if (t === undefined) {
        t = {
          service: r.service,
          route: r.route,
          codes: new Map(),
          total: new SummedHistogram(SECONDS_BUCKETS),
          upstream: new SummedHistogram(SECONDS_BUCKETS),
          gateway: new SummedHistogram(SECONDS_BUCKETS),
          bytesIn: 0,
          bytesOut: 0,
        };
        this.routes.set(k, t);
      }
      for (let i = 0; i + 1 < r.codes.length; i += 2)
        t.codes.set(r.codes[i]!, (t.codes.get(r.codes[i]!) ?? 0) + r.codes[i + 1]!);
      t.total.add(r.total);
      t.upstream.add(r.upstream);
      t.gateway.add(r.gateway);
      t.bytesIn += r.bytesIn;
      t.bytesOut += r.bytesOut;
    }
    for (const c of d.kong) {
      const k = key(c.service, c.route);
      let t = this.kongTotals.get(k);
      if (t === undefined) {
        t = {
          service: c.service,
          route: c.route,
          requests: new Map(),
          bandwidth: new Map(),
          kong: new SummedHistogram(KONG_LATENCY_BUCKETS),
          upstream: new SummedHistogram(KONG_UPSTREAM_BUCKETS),
          request: new SummedHistogram(KONG_UPSTREAM_BUCKETS),
        };
        this.kongTotals.set(k, t);
      }
      for (let i = 0; i + 3 < c.requests.length; i += 4) {
        const code = c.requests[i] as number;
        const source = c.requests[i + 1] === 1 ? 'service' : 'kong';
        const consumer = c.requests[i + 2] as string;
        const rk = `${code} ${source} ${consumer}`;
        const e = t.requests.get(rk);
        if (e === undefined) t.requests.set(rk, { code, source, consumer, n: c.requests[i + 3] as number });
        else e.n += c.requests[i + 3] as number;
      }
      for (let i = 0; i + 2 < c.bandwidth.length; i += 3) {
        const consumer = c.bandwidth[i] as string;
        const b = t.bandwidth.get(consumer);
        if (b === undefined)
          t.bandwidth.set(consumer, [c.bandwidth[i + 1] as number, c.bandwidth[i + 2] as number]);
        else {
          b[0] += c.bandwidth[i + 1] as number;
          b[1] += c.bandwidth[i + 2] as number;
        }
      }
      if (c.kong !== null) t.kong.add(c.kong);
      if (c.upstream !== null) t.upstream.add(c.upstream);
      if (c.request !== null) t.request.add(c.request);
    }
    for (let i = 0; i + 2 < d.plugins.length; i += 3) {
      const k = key(d.plugins[i] as string, d.plugins[i + 1] as string);
      this.plugins.set(k, (this.plugins.get(k) ?? 0) + (d.plugins[i + 2] as number));
    }
    this.openByWorker.set(worker, d.connections);
    this.accepted += d.accepted;
    d.shed?.forEach((n, i) => {
      if (i < this.shed.length) this.shed[i]! += n;
    });
    if (d.http2 !== undefined) {
      this.http2Sessions += d.http2[0];
      this.http2RapidResetCloses += d.http2[1];
    }
    for (let i = 0; i + 3 < d.logs.length; i += 4) {
      const name = d.logs[i] as string;
      let t = this.logs.get(name);
      if (t === undefined) this.logs.set(name, (t = [0, 0, 0]));
      t[0] += d.logs[i + 1] as number;
      t[1] += d.logs[i + 2] as number;
      t[2] += d.logs[i + 3] as number;
    }
  }

  /**
   * A scrape starts: open connections are what the workers answering it report (a worker that
   * died no longer counts).
   */
  beginScrape(): void {
    this.openByWorker.clear();
  }

  private requestsTotal(): number {
    let n = 0;
    for (const t of this.routes.values()) for (const c of t.codes.values()) n += c;
    return n;
  }

  /** Open connections of the node: on `listener`, or on every listener. */
  private openConnections(listener?: Listener): number {
    let n = 0;
    for (const c of this.openByWorker.values())
      for (const l of LISTENERS) if (listener === undefined || l === listener) n += c[l] ?? 0;
    return n;
  }

  /** Registers every series on `registry`. */
  register(registry: Registry): void {
    const metric = (name: string, help: string, type: MetricType, values: () => Value[]): void =>
      registry.registerMetric(new CustomMetric(name, help, type, values) as never);
    const perRoute = (fn: (t: RouteTotals, out: Value[]) => void) => (): Value[] => {
      const out: Value[] = [];
      for (const t of this.routes.values()) fn(t, out);
      return out;
    };
    metric(
      'gatehouse_http_requests_total',
      'Requests by service, route, status code and class ("" service/route: no route matched).',
      'counter',
      perRoute((t, out) => {
        for (const [code, n] of t.codes)
          out.push({
            labels: { service: t.service, route: t.route, code, class: statusClass(code) },
            value: n,
          });
      }),
    );
    for (const [name, help, pick] of [
      [
        'gatehouse_request_duration_seconds',
        'Total request latency: head received to response closed.',
        'total',
      ],
      [
        'gatehouse_upstream_duration_seconds',
        "Upstream latency: request handed to the upstream to its response head (Kong's proxy latency).",
        'upstream',
      ],
      [
        'gatehouse_gateway_duration_seconds',
        "Latency the gateway added before going upstream (all of it when the gateway answered; Kong's kong latency).",
        'gateway',
      ],
    ] as const)
      metric(
        name,
        help,
        'histogram',
        perRoute((t, out) => t[pick].values(name, { service: t.service, route: t.route }, out)),
      );
    metric(
      'gatehouse_request_bytes_total',
      'Bytes received from clients (request heads and bodies).',
      'counter',
      perRoute((t, out) => out.push({ labels: { service: t.service, route: t.route }, value: t.bytesIn })),
    );
    metric(
      'gatehouse_response_bytes_total',
      'Bytes sent to clients (response heads and bodies).',
      'counter',
      perRoute((t, out) => out.push({ labels: { service: t.service, route: t.route }, value: t.bytesOut })),
    );
    metric(
      'gatehouse_plugin_outcomes_total',
      'Plugin decisions by plugin and outcome (rate-limiting allowed/limited, proxy-cache Hit/Miss/Bypass/Refresh, waf passed/blocked/detected/body_skipped/body_rejected).',
      'counter',
      () => {
        const out: Value[] = [];
        for (const [k, n] of this.plugins) {
          const [plugin, outcome] = k.split('\u0000') as [string, string];
          out.push({ labels: { plugin, outcome }, value: n });
        }
        return out;
      },
    );
    metric(
      'gatehouse_dp_open_connections',
      'Client connections open on the proxy (every worker), by listener (http, https).',
      'gauge',
      () => LISTENERS.map((listener) => ({ labels: { listener }, value: this.openConnections(listener) })),
    );
    metric(
      'gatehouse_dp_connections_accepted_total',
      'Client connections accepted by the proxy.',
      'counter',
      () => [{ labels: {}, value: this.accepted }],
    );
    metric(
      'gatehouse_dp_requests_shed_total',
      'Requests answered 503 GH_ERR_PROXY_OVERLOADED by load shedding, by reason: event_loop_delay (--max-event-loop-delay), concurrency (--max-concurrent-requests), queue_time (--max-queue-time).',
      'counter',
      () => SHED_REASONS.map((reason, i) => ({ labels: { reason }, value: this.shed[i]! })),
    );
    metric(
      'gatehouse_dp_http2_sessions_total',
      'HTTP/2 client connections (h2 by ALPN and h2c) the proxy served.',
      'counter',
      () => [{ labels: {}, value: this.http2Sessions }],
    );
    metric(
      'gatehouse_dp_http2_rapid_reset_closes_total',
      'HTTP/2 client connections closed with GOAWAY(ENHANCE_YOUR_CALM) for resetting too many streams before their response (rapid reset, CVE-2023-44487).',
      'counter',
      () => [{ labels: {}, value: this.http2RapidResetCloses }],
    );
    const perLog = (fn: (log: string, t: [number, number, number], out: Value[]) => void) => (): Value[] => {
      const out: Value[] = [];
      for (const [log, t] of this.logs) fn(log, t, out);
      return out;
    };
    metric(
      'gatehouse_log_entries_total',
      'Log entries by log (the log plugins, access-log) and result: sent (delivered or written), dropped (queue full, retries exhausted, write or transport error).',
      'counter',
      perLog((log, t, out) => {
        out.push({ labels: { log, result: 'sent' }, value: t[0] });
        out.push({ labels: { log, result: 'dropped' }, value: t[1] });
      }),
    );
    metric(
      'gatehouse_log_retries_total',
      'Failed log deliveries that were retried (http-log), by log.',
      'counter',
      perLog((log, t, out) => out.push({ labels: { log }, value: t[2] })),
    );
    metric(
      'gatehouse_upstream_target_health',
      'Health of each upstream target as this node sees it (1 = healthy, 0 = unhealthy).',
      'gauge',
      () => {
        const out: Value[] = [];
        for (const [upstream, targets] of Object.entries(this.facts.upstreamHealth()))
          for (const [target, healthy] of Object.entries(targets))
            out.push({ labels: { upstream, target }, value: healthy ? 1 : 0 });
        return out;
      },
    );
    this.registerKong(metric);
  }

  private registerKong(
    metric: (name: string, help: string, type: MetricType, values: () => Value[]) => void,
  ): void {
    const ifKong = (fn: (out: Value[]) => void) => (): Value[] => {
      const out: Value[] = [];
      if (this.kongExport.enabled) fn(out);
      return out;
    };
    const workspace = 'default';
    metric(
      'kong_http_requests_total',
      'HTTP status codes per consumer/service/route in Kong',
      'counter',
      ifKong((out) => {
        for (const t of this.kongTotals.values())
          for (const r of t.requests.values())
            out.push({
              labels: {
                service: t.service,
                route: t.route,
                code: r.code,
                source: r.source,
                workspace,
                consumer: r.consumer,
              },
              value: r.n,
            });
      }),
    );
    for (const [name, help, pick] of [
      [
        'kong_kong_latency_ms',
        'Latency added by Kong and enabled plugins for each service/route in Kong',
        'kong',
      ],
      [
        'kong_upstream_latency_ms',
        'Latency added by upstream response for each service/route in Kong',
        'upstream',
      ],
      [
        'kong_request_latency_ms',
        'Total latency incurred during requests for each service/route in Kong',
        'request',
      ],
    ] as const)
      metric(
        name,
        help,
        'histogram',
        ifKong((out) => {
          for (const t of this.kongTotals.values())
            if (t[pick].counts.some((c) => c > 0))
              t[pick].values(name, { service: t.service, route: t.route, workspace }, out);
        }),
      );
    metric(
      'kong_bandwidth_bytes',
      'Total bandwidth (ingress/egress) throughput in bytes',
      'counter',
      ifKong((out) => {
        for (const t of this.kongTotals.values())
          for (const [consumer, [ingress, egress]] of t.bandwidth) {
            if (ingress > 0)
              out.push({
                labels: { service: t.service, route: t.route, direction: 'ingress', workspace, consumer },
                value: ingress,
              });
            if (egress > 0)
              out.push({
                labels: { service: t.service, route: t.route, direction: 'egress', workspace, consumer },
                value: egress,
              });
          }
      }),
    );
    const node = { node_id: this.facts.nodeId, subsystem: 'http' };
    metric(
      'kong_nginx_connections_total',
      'Number of connections by subsystem',
      'gauge',
      ifKong((out) => {
        const open = this.openConnections();
        out.push({ labels: { ...node, state: 'accepted' }, value: this.accepted });
        out.push({ labels: { ...node, state: 'handled' }, value: this.accepted });
        out.push({ labels: { ...node, state: 'total' }, value: this.requestsTotal() });
        out.push({ labels: { ...node, state: 'active' }, value: open });
      }),
    );
    metric(
      'kong_nginx_requests_total',
      'Number of requests total',
      'gauge',
      ifKong((out) => out.push({ labels: node, value: this.requestsTotal() })),
    );
    metric(
      'kong_node_info',
      'Kong Node metadata information',
      'gauge',
      ifKong((out) =>
        out.push({ labels: { node_id: this.facts.nodeId, version: this.facts.version }, value: 1 }),
      ),
    );
    metric(
      'kong_control_plane_connected',
      'Kong connected to control plane, 0 is unconnected',
      'gauge',
      ifKong((out) => out.push({ labels: {}, value: this.facts.cpConnected() })),
    );
    metric(
      'kong_upstream_target_health',
      'Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.',
      'gauge',
      ifKong((out) => {
        if (!this.kongExport.upstreamHealth) return;
        for (const [upstream, targets] of Object.entries(this.facts.upstreamHealth()))
          for (const [target, healthy] of Object.entries(targets)) {
            const now = healthy ? 'healthy' : 'unhealthy';
            for (const state of ['healthchecks_off', 'healthy', 'unhealthy', 'dns_error'])
              out.push({
                labels: { upstream, target, address: target, state, subsystem: 'http' },
                value: state === now ? 1 : 0,
              });
          }
      }),
    );
  }
}

export { kongExportOf, type KongExport } from '../runtime/node-config.js';
