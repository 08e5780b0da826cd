/**
 * prometheus (Kong priority 13): counts each request it runs on into Kong's series — its log
 * handler does what kong/plugins/prometheus/handler.lua and exporter.lua `log` do, into this
 * process's MetricStore; the data plane primary sums the workers and serves the series as
 * `kong_*` on the status port's /metrics (status/node-series.ts). Labels as Kong's: service
 * (name, else host), route (name, else id), code, source (`service` when the upstream answered,
 * `kong` when the gateway did), workspace (`default`), consumer (username, else custom_id, when
 * `per_consumer`; else ""). Like Kong, nothing is recorded for a request without a route.
 */
import type { Route } from '@gatehouse/shared';
import { definePlugin, type PluginContext } from '../api.js';
import { gatewayMs, totalMs, upstreamMs } from '../../observe/latencies.js';
import { metricStore, type KongCell, type MetricStore } from '../../observe/metric-store.js';
import { routeLabel, serviceLabel } from '../../observe/request-metrics.js';
import { prometheusSpec, type PrometheusConfig } from './schema.js';

interface State {
  readonly conf: PrometheusConfig;
  /** The Kong cell of each route this instance runs on (made on first use, per snapshot). */
  readonly cells: WeakMap<Route, KongCell>;
}

/** Records one finished request (the log phase) into `store`. */
export function recordKong(ctx: PluginContext, state: State, store: MetricStore = metricStore): void {
  const route = ctx.route;
  let cell = state.cells.get(route);
  if (cell === undefined) {
    cell = store.kongCell(serviceLabel(ctx.service), routeLabel(route));
    state.cells.set(route, cell);
  }
  const { conf } = state;
  const t = ctx.timings;
  const name = conf.per_consumer ? (ctx.consumer?.username ?? ctx.consumer?.custom_id) : null;
  const consumer = name == null ? '' : store.consumerLabel(name);
  let touched = false;
  if (conf.status_code_metrics) {
    const status = ctx.response?.status ?? 0;
    const fromService = t.upstreamHeadersAt >= 0 && !ctx.responded ? 1 : 0;
    let byCode = cell.requests.get(consumer);
    if (byCode === undefined) cell.requests.set(consumer, (byCode = new Map<number, number>()));
    const k = status * 2 + fromService;
    byCode.set(k, (byCode.get(k) ?? 0) + 1);
    touched = true;
  }
  if (conf.bandwidth_metrics && (t.bytesIn > 0 || t.bytesOut > 0)) {
    const b = cell.bandwidth.get(consumer);
    if (b === undefined) cell.bandwidth.set(consumer, [t.bytesIn, t.bytesOut]);
    else {
      b[0] += t.bytesIn;
      b[1] += t.bytesOut;
    }
    touched = true;
  }
  if (conf.latency_metrics) {
    const total = totalMs(t);
    if (total >= 0) cell.request.observe(total);
    const upstream = upstreamMs(t);
    if (upstream >= 0) cell.upstream.observe(upstream);
    const gateway = gatewayMs(t);
    if (gateway >= 0) cell.kong.observe(gateway);
    touched = true;
  }
  if (touched) store.touchKong(cell);
}

export default definePlugin({
  ...prometheusSpec,
  init(conf): State {
    return { conf, cells: new WeakMap() };
  },
  log(ctx, state) {
    recordKong(ctx, state);
  },
});
