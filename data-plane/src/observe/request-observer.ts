/**
 * The one place the proxy tells the rest of the data plane that a request is over. Metrics, the
 * access log, traffic summaries and tracing are each a RequestObserver given to the ProxyServer;
 * the server registers one 'close' listener per request only when at least one observer exists,
 * so a data plane with none pays nothing for this.
 *
 * What an observer reads of the request (all on ProxyRequest, see RequestTimings in
 * proxy/request.ts; times are performance.now() milliseconds, -1 = not reached):
 *   - route / service: `request.entry` (null: no route matched), `entry.route`, `entry.service`
 *   - status: `countedStatus(request)` (proxy/grpc.ts: the HTTP status, or a gRPC answer's table status); consumer: `request.consumerId`, `request.consumerName`
 *   - total latency: `endedAt - startedAt`
 *   - upstream latency (Kong's `latencies.proxy`, time to the upstream's response head):
 *     `upstreamHeadersAt - upstreamStartedAt` when `upstreamHeadersAt >= 0`
 *   - gateway-added latency (Kong's `latencies.kong`): `upstreamStartedAt - startedAt` when the
 *     request went upstream, else the total (a gateway answer: 404, auth refusal, cache hit…)
 *   - bytes: `bytesIn` (request head and body), `bytesOut` (response head and body)
 * `endedAt` and the bytes are set (`request.end()`) before the first observer is called.
 */
import type { ServerResponse } from 'node:http';
import type { ProxyRequest } from '../proxy/request.js';

/** The request a watched response belongs to (cleared once observed). */
const kWatched = Symbol('gatehouse.watchedRequest');
type WatchedResponse = ServerResponse & { [kWatched]?: ProxyRequest | null };

/** The one 'close' listener of every watched response (no closure or once-wrapper per request). */
function onResponseClose(this: WatchedResponse): void {
  const request = this[kWatched];
  if (request == null) return;
  this[kWatched] = null;
  request.settings.observers?.ended(request);
}

export interface RequestObserver {
  /**
   * Called once per request, after its response was sent or the client went away (the response's
   * 'close'). Runs on the request's worker; must not throw and must not do I/O synchronously.
   */
  requestEnded(request: ProxyRequest): void;
}

/** The observers of one ProxyServer, called in the order given. */
export class RequestObservers {
  private readonly list: readonly RequestObserver[];
  /** At least one observer: the server listens for the end of each request. */
  readonly active: boolean;

  constructor(observers: readonly RequestObserver[] = []) {
    this.list = observers;
    this.active = observers.length > 0;
  }

  /** Calls every observer for `request` when its response closes (only when `active`). */
  watch(request: ProxyRequest): void {
    const res = request.res as WatchedResponse;
    res[kWatched] = request;
    res.on('close', onResponseClose);
  }

  /** The response of `request` closed (the observers of its server are `request.settings.observers`). */
  ended(request: ProxyRequest): void {
    request.end();
    for (const o of this.list) {
      try {
        o.requestEnded(request);
      } catch (err) {
        request.logger.error({ err }, 'request observer failed');
      }
    }
  }
}
