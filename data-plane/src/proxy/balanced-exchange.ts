/**
 * A request to a balanced upstream, as an undici dispatch handler wrapped around the handler that
 * writes the response (UpstreamExchange, or the plugin runtime's exchange): it picks a target,
 * dispatches to its pool, reports the outcome to the passive health checks, and on a connection
 * failure retries the next target (up to `service.retries` more tries) before the inner handler
 * sees anything. A request is re-sent only when nothing of it reached the failed target's
 * application: the connection was never made (refused, connect timeout, TLS handshake) and its
 * body, if streamed, was not read yet; or, for an idempotent request without a body, the
 * connection broke or timed out before the response head. No target available: the inner
 * handler gets a `GH_ERR_PROXY_NO_PEER` error (answered 503).
 */
import type { Duplex } from 'node:stream';
import { hashValue } from '../balancer/hash-value.js';
import { BAD_REQUEST_CODES, ProxyErrorCode, TIMEOUT_CODES } from './errors.js';
import type { CoreHandler, RawHeaders } from './exchange.js';
import type { UpstreamOptions } from './dispatch.js';
import type { ProxyRequest } from './request.js';
import type { BalancedService } from './service-targets.js';

/** Given to the inner handler when no target can be chosen. */
export class NoPeerError extends Error {
  readonly code = ProxyErrorCode.NO_PEER;
}

/** Given to the inner handler when a service's host name has no address (Kong's 503). */
export class NameResolutionError extends Error {
  readonly code = ProxyErrorCode.NAME_RESOLUTION;
}

/** Failures that are the request's fault or the client's, not the target's. */
const NOT_TARGET: ReadonlySet<string> = new Set([
  ...BAD_REQUEST_CODES,
  'GH_ERR_PROXY_CLIENT_CLOSED',
  'UND_ERR_ABORTED',
]);
const NOT_IDEMPOTENT = new Set(['POST', 'PATCH', 'LOCK']);
/** Round trip recorded for a failed try by the latency algorithm. */
const FAILED_TRY_MS = 1_000;
const SET_COOKIE = Buffer.from('set-cookie');

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export class BalancedExchange implements CoreHandler {
  private index = -1;
  private readonly tried: number[] = [];
  private connected = false;
  private responded = false;
  private inFlight = false;
  /** Start of the current try (latency balancing only). */
  private startedAt = 0;
  private readonly hashValue: string;
  /** `Set-Cookie` value added to the response (consistent hashing on a created cookie). */
  private readonly setCookie: string | null;
  /** Keep the Host header given in options (the route preserves the client's host). */
  private readonly preserveHost: boolean;

  constructor(
    private readonly request: ProxyRequest,
    private readonly service: BalancedService,
    private readonly inner: CoreHandler,
    private readonly options: UpstreamOptions,
  ) {
    const upstream = service.balancer.upstream;
    const hash =
      upstream.algorithm === 'consistent-hashing'
        ? hashValue(upstream, {
            clientIp: request.peerIp,
            rawHeaders: request.rawHeaders,
            path: request.path,
            query: request.query,
            captures: request.captures,
            consumerId: request.consumerId,
          })
        : null;
    this.hashValue = hash?.value ?? '';
    this.setCookie = hash?.setCookie ?? null;
    this.preserveHost = request.preservesHost;
  }

  /** Picks the first target and sends the request. */
  start(): void {
    this.attempt();
  }

  private attempt(): void {
    const { balancer, pools, hostHeaders } = this.service;
    const i = balancer.select(this.hashValue, this.tried);
    if (i < 0) {
      this.inner.onError(
        balancer.serviceHost && balancer.targets.length === 0
          ? new NameResolutionError('name resolution failed')
          : new NoPeerError('failure to get a peer from the ring-balancer'),
      );
      return;
    }
    this.index = i;
    this.tried.push(i);
    this.connected = false;
    balancer.targets[i]!.inFlight++;
    this.inFlight = true;
    if (balancer.latency !== null) this.startedAt = performance.now();
    if (!this.preserveHost) this.options.headers[1] = hostHeaders[i]!;
    pools[i]!.dispatch(this.options, this);
  }

  /**
   * Ends the current try. For the latency algorithm it records the round trip (connect + whole
   * response); a failed try counts as at least FAILED_TRY_MS, so a target that refuses quickly
   * does not look fast.
   */
  private release(failed: boolean): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    const balancer = this.service.balancer;
    balancer.targets[this.index]!.inFlight--;
    if (balancer.latency !== null) {
      const rtt = performance.now() - this.startedAt;
      balancer.latency.observe(this.index, failed ? Math.max(rtt, FAILED_TRY_MS) : rtt);
    }
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.connected = true;
    this.inner.onConnect(abort);
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean {
    if (statusCode < 200) return this.inner.onHeaders(statusCode, rawHeaders, resume);
    this.responded = true;
    const balancer = this.service.balancer;
    if (balancer.passiveEnabled) balancer.reportStatus(this.index, statusCode);
    const headers =
      this.setCookie === null
        ? rawHeaders
        : [...rawHeaders, SET_COOKIE, Buffer.from(this.setCookie, 'latin1')];
    return this.inner.onHeaders(statusCode, headers, resume);
  }

  onData(chunk: Buffer): boolean {
    return this.inner.onData(chunk);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[], socket: Duplex): void {
    this.responded = true;
    this.release(false);
    const balancer = this.service.balancer;
    if (balancer.passiveEnabled) balancer.reportStatus(this.index, statusCode);
    this.inner.onUpgrade(statusCode, rawHeaders, socket);
  }

  onComplete(trailers: string[] | null): void {
    this.release(false);
    this.inner.onComplete(trailers);
  }

  onError(err: Error): void {
    this.release(true);
    const code = errorCode(err);
    if (!NOT_TARGET.has(code)) {
      const balancer = this.service.balancer;
      if (balancer.passiveEnabled)
        balancer.reportFailure(this.index, TIMEOUT_CODES.has(code) ? 'timeout' : 'tcp_failure');
      if (!this.responded && this.tried.length <= this.service.retries && this.mayResend()) {
        this.request.logger.debug(
          { err, code, upstream: balancer.name, target: balancer.targets[this.index]!.authority },
          'upstream target failed; trying the next one',
        );
        this.attempt();
        return;
      }
    }
    this.inner.onError(err);
  }

  private mayResend(): boolean {
    const body = this.options.body;
    if (!this.connected) {
      if (body == null || Buffer.isBuffer(body) || typeof body === 'string') return true;
      // A stream body is `request` or reads it (the plugin runtime's capped body, which starts
      // reading only when the upstream reads it): resendable while the client's body is unread.
      return !this.request.req.readableDidRead;
    }
    return body == null && !NOT_IDEMPOTENT.has(this.request.upstreamMethod);
  }
}
