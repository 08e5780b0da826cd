/**
 * The one way a request goes upstream, for the plain, the balanced and the plugin paths: a
 * directly proxied service's pool, or a target picked by the upstream's balancer (with retries,
 * see balanced-exchange.ts). `handler` writes the response (an UpstreamExchange or the plugin
 * runtime's exchange). A route with `request_buffering` (Kong's default) has the client's body
 * read whole first (request-buffering.ts); a failure meanwhile goes to `handler.onError`, as an
 * upstream failure would.
 */
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { BalancedExchange } from './balanced-exchange.js';
import type { CoreHandler, UpstreamExchange } from './exchange.js';
import type { ProxyRequest } from './request.js';
import { bufferBody, buffersBody } from './request-buffering.js';

/** undici's dispatch options with the header array the proxy builds. */
export type UpstreamOptions = Dispatcher.DispatchOptions & { headers: string[] };

export function dispatchUpstream(request: ProxyRequest, handler: UpstreamExchange): void {
  if (buffersBody(request)) {
    bufferBody(
      request,
      () => dispatchNow(request, handler),
      (err) => handler.onError(err),
    );
    return;
  }
  dispatchNow(request, handler);
}

function dispatchNow(request: ProxyRequest, handler: UpstreamExchange): void {
  request.upstreamStartedAt = performance.now();
  const target = request.target;
  // Tracing: the upstream span starts here and its context goes into the headers (before they are sent).
  const trace = request.span;
  const h: CoreHandler = trace === null ? handler : trace.upstream(request, handler);
  const options: UpstreamOptions = {
    path: request.upstreamUri,
    method: request.upstreamMethod,
    headers: request.headers,
    body: request.body,
    headersTimeout: target.readTimeout,
    bodyTimeout: target.readTimeout,
  };
  // undici writes `Connection: upgrade` / `Upgrade: websocket` itself (the client's were dropped
  // with the other hop-by-hop headers) and hands over the socket on 101 (onUpgrade).
  if (request.upgrade) options.upgrade = 'websocket';
  if (target.balanced === null) target.pool!.dispatch(options, h);
  else new BalancedExchange(request, target.balanced, h, options).start();
}
