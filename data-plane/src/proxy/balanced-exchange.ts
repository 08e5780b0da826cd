/**
 * A request to a balanced upstream: picks a target, dispatches to its pool, reports the outcome
 * to the passive health checks, and on a connection failure retries the next target (up to
 * `service.retries` more tries). A request is re-sent only when nothing of it reached the
 * failed target's application: the connection was never made (refused, connect timeout, TLS
 * handshake) and its body, if any, was not read yet; or, for an idempotent request without a
 * body, the connection broke or timed out before the response head.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Logger } from '@gatehouse/shared';
import { downstreamResponseHeaders } from './headers.js';
import { ProxyErrorCode, sendError } from './errors.js';
import { UpstreamExchange, type ClientSocket } from './exchange.js';
import type { BalancedService } from './service-targets.js';

const TIMEOUTS = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
/** Failures that are the request's fault or the client's, not the target's. */
const NOT_TARGET = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'GH_ERR_PROXY_CLIENT_CLOSED',
  'UND_ERR_ABORTED',
]);
const NOT_IDEMPOTENT = new Set(['POST', 'PATCH', 'LOCK']);
/** Round trip recorded for a failed try by the latency algorithm. */
const FAILED_TRY_MS = 1_000;

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export class BalancedExchange extends UpstreamExchange {
  private index = -1;
  private readonly tried: number[] = [];
  private connected = false;
  private inFlight = false;
  /** Start of the current try (latency balancing only). */
  private startedAt = 0;

  constructor(
    res: ServerResponse,
    socket: ClientSocket,
    logger: Logger,
    method: string,
    private readonly service: BalancedService,
    private readonly request: IncomingMessage,
    private readonly options: Dispatcher.DispatchOptions & { headers: string[] },
    private readonly hashValue: string,
    private readonly setCookie: string | null,
    /** Keep the Host header given in options (the route preserves the client's host). */
    private readonly preserveHost: boolean,
  ) {
    super(res, socket, logger, method);
  }

  /** Picks the first target and sends the request (or answers 503 when none is available). */
  start(): void {
    this.attempt();
  }

  private attempt(): void {
    if (this.clientGone) {
      this.finish();
      return;
    }
    const { balancer, pools, hostHeaders } = this.service;
    const i = balancer.select(this.hashValue, this.tried);
    if (i < 0) {
      this.finish();
      sendError(this.res, ProxyErrorCode.NO_PEER);
      return;
    }
    this.index = i;
    this.tried.push(i);
    this.connected = false;
    this.abortUpstream = null;
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

  override onConnect(abort: (reason?: Error) => void): void {
    this.connected = true;
    super.onConnect(abort);
  }

  override onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    const balancer = this.service.balancer;
    if (balancer.passiveEnabled) balancer.reportStatus(this.index, statusCode);
    const headers = downstreamResponseHeaders(rawHeaders);
    if (this.setCookie !== null) headers.push('set-cookie', this.setCookie);
    this.writeHead(statusCode, headers, resume);
    return true;
  }

  override onComplete(): void {
    this.release(false);
    super.onComplete();
  }

  override onError(err: Error): void {
    this.release(true);
    if (!this.clientGone && !this.done) {
      const code = errorCode(err);
      if (!NOT_TARGET.has(code)) {
        const balancer = this.service.balancer;
        if (balancer.passiveEnabled)
          balancer.reportFailure(this.index, TIMEOUTS.has(code) ? 'timeout' : 'tcp_failure');
        if (!this.res.headersSent && this.tried.length <= this.service.retries && this.mayResend()) {
          this.logger.debug(
            { err, code, upstream: balancer.name, target: balancer.targets[this.index]!.authority },
            'upstream target failed; trying the next one',
          );
          this.attempt();
          return;
        }
      }
    }
    super.onError(err);
  }

  private mayResend(): boolean {
    const body = this.options.body;
    if (!this.connected) return body == null || !this.request.readableDidRead;
    return body == null && !NOT_IDEMPOTENT.has(this.method);
  }
}
