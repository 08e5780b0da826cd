/**
 * The gatehouse_* request series: a RequestObserver counting each request into its (service,
 * route) cell of the process's MetricStore. The cell of a route entry is looked up once per
 * snapshot (a WeakMap on the compiled entry, so an old snapshot's entries go with it); per
 * request it is one map lookup, a few additions and three bucket searches.
 */
import type { ProxyRequest, ProxyRoute } from '../proxy/request.js';
import type { RequestObserver } from './request-observer.js';
import { gatewayMs, totalMs, upstreamMs } from './latencies.js';
import { metricStore, type MetricStore, type RouteCell } from './metric-store.js';
import { countedStatus } from '../proxy/grpc.js';

/** Kong's labels: the service's name (else its host), the route's name (else its id); "" for none. */
export function serviceLabel(service: { name?: string | null; host: string } | null): string {
  return service === null ? '' : (service.name ?? service.host);
}
export function routeLabel(route: { name?: string | null; id: string } | null): string {
  return route === null ? '' : (route.name ?? route.id);
}

export class RequestMetrics implements RequestObserver {
  private readonly cells = new WeakMap<ProxyRoute, RouteCell>();
  private readonly unmatched: RouteCell;

  constructor(private readonly store: MetricStore = metricStore) {
    this.unmatched = store.routeCell('', '');
  }

  private cellOf(entry: ProxyRoute | null): RouteCell {
    if (entry === null) return this.unmatched;
    let cell = this.cells.get(entry);
    if (cell === undefined) {
      cell = this.store.routeCell(serviceLabel(entry.service), routeLabel(entry.route));
      this.cells.set(entry, cell);
    }
    return cell;
  }

  requestEnded(request: ProxyRequest): void {
    const cell = this.cellOf(request.entry);
    this.store.touchRoute(cell);
    const code = countedStatus(request);
    cell.codes.set(code, (cell.codes.get(code) ?? 0) + 1);
    const total = totalMs(request);
    if (total >= 0) cell.total.observe(total / 1000);
    const upstream = upstreamMs(request);
    if (upstream >= 0) cell.upstream.observe(upstream / 1000);
    const gateway = gatewayMs(request);
    if (gateway >= 0) cell.gateway.observe(gateway / 1000);
    cell.bytesIn += request.bytesIn;
    cell.bytesOut += request.bytesOut;
  }
}
