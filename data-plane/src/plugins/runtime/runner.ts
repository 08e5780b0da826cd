import { STATUS_CODES } from 'node:http';
/**
 * Runs a request through its route's chain: rewrite → access → (short-circuit | upstream with
 * the response phase) → log after the response is sent (off the request path). The request is
 * the proxy's one record (ProxyRequest); the chain changes its upstream fields (headers, query,
 * body) and `dispatchUpstream` sends it as it sends a request without plugins.
 */
import { GATEHOUSE_VERSION } from '@gatehouse/shared/version';
import { bodyUnread, errorResponseOf, sendError, ProxyErrorCode } from '../../proxy/errors.js';
import { isGrpcRequest, sendGrpcAnswer } from '../../proxy/grpc.js';
import { grpcWebKindOf, headerRecord, sendGrpcWebAnswer } from '../../proxy/grpc-web.js';
import { dispatchUpstream } from '../../proxy/dispatch.js';
import { withContentLength } from '../../proxy/headers.js';
import type { ProxyRequest } from '../../proxy/request.js';
import { HANDLER_FAILED, PluginErrors } from '../errors.js';
import { limitBody, type BodyLimit } from './body-limit.js';
import type { Chain } from './compile.js';
import { PluginRequest } from './context.js';
import { PluginExchange } from './exchange.js';
import { bareResponse } from './response-view.js';
import type { SnapshotIndex } from './snapshot-view.js';
import {
  applyResponseHeaders,
  applyUpstreamHeaders,
  filterQuery,
  runPhase,
  type PhaseRun,
} from './phases.js';

const SERVER = `gatehouse/${GATEHOUSE_VERSION}`;

/** Failures a plugin raises that the error table answers as they are (413, 502). */
const TABLE_ANSWERED: ReadonlySet<unknown> = new Set([
  ProxyErrorCode.BODY_TOO_LARGE,
  ProxyErrorCode.RESPONSE_TOO_LARGE,
  ProxyErrorCode.RESPONSE_UNPROCESSABLE,
]);

function tableCode(e: unknown): ProxyErrorCode | null {
  const code = (e as { code?: unknown } | null)?.code;
  return TABLE_ANSWERED.has(code) ? (code as ProxyErrorCode) : null;
}

/**
 * Applies the method, path and query plugins set (setUpstreamMethod/Path/Query) and the query
 * arguments they removed to the upstream request target; untouched requests keep theirs as built.
 */
function rewriteTarget(request: ProxyRequest, ctx: PluginRequest): void {
  if (ctx.upstreamMethod !== null) request.upstreamMethod = ctx.upstreamMethod;
  const removed = ctx.removedQueryArgs;
  if (ctx.upstreamPath === null && ctx.upstreamQuery === null && (removed === null || request.query === ''))
    return;
  let query = ctx.upstreamQuery ?? request.query;
  if (removed !== null && query !== '') query = filterQuery(query, removed);
  request.query = query;
  if (ctx.upstreamPath !== null) request.upstreamPath = ctx.upstreamPath;
  request.upstreamUri = query === '' ? request.upstreamPath : `${request.upstreamPath}?${query}`;
}

export class PluginRunner {
  /** Runs the route's chain for `request` (whose route has one). */
  handle(request: ProxyRequest, snapshot: SnapshotIndex): void {
    const chain = request.route.chain!;
    const ctx = new PluginRequest(request, snapshot);
    if (chain.log !== null) request.res.once('close', () => setImmediate(() => this.runLog(ctx, chain)));
    try {
      // Sync-first: no closure and no promise unless a handler returns one.
      const rewrite = runPhase(ctx, chain.rewrite, 'rewrite');
      const r = rewrite === undefined ? this.access(ctx, chain) : rewrite.then(() => this.access(ctx, chain));
      if (r !== undefined) r.then(undefined, (err: unknown) => this.fail(ctx, err));
    } catch (e) {
      this.fail(ctx, e);
    }
  }

  private access(ctx: PluginRequest, chain: Chain): PhaseRun {
    const access = runPhase(ctx, chain.access, 'access');
    if (access !== undefined) return access.then(() => this.proceed(ctx, chain));
    this.proceed(ctx, chain);
    return undefined;
  }

  private proceed(ctx: PluginRequest, chain: Chain): void {
    const request = ctx.proxied;
    // Answered meanwhile (a client timeout's 408) or gone: nothing to send upstream.
    if (request.res.destroyed || request.res.writableEnded) return;
    if (ctx.responded) {
      this.sendShortCircuit(ctx, chain);
      return;
    }
    // Kong (kong/init.lua, access): a route without a service answers 503 once its plugins ran.
    if (request.route.service === null) {
      this.sendGatewayError(ctx, ProxyErrorCode.NO_SERVICE);
      return;
    }
    const limit = ctx.bodyLimit;
    const read = ctx.upstreamBody === null ? ctx.bodyBuffer : null;
    if (limit !== null && read !== null && read.length > limit) {
      this.fail(ctx, PluginErrors.bodyTooLarge(`request body larger than ${limit} bytes`));
      return;
    }
    const body: Buffer | null = ctx.upstreamBody ?? ctx.bodyBuffer;
    const headers = applyUpstreamHeaders(request.headers, ctx);
    if (body !== null) {
      request.headers = withContentLength(headers, body, request.hasBody);
      request.body = body;
    } else {
      request.headers = headers;
      if (request.hasBody && limit !== null) request.body = this.limitedBody(ctx, limit);
    }
    rewriteTarget(request, ctx);
    request.consumerId = ctx.consumer?.id ?? ctx.credential?.id;
    ctx.continueBody();
    dispatchUpstream(request, new PluginExchange(ctx, chain, this));
  }

  /**
   * The client's body capped at `maxBytes` as it streams upstream. Crossing the cap aborts the
   * upstream request; the exchange's onError then answers 413 (see PluginExchange.onError). When
   * the response has started already, only closing the connection is left.
   */
  private limitedBody(ctx: PluginRequest, maxBytes: number): BodyLimit {
    const res = ctx.proxied.res;
    const body = limitBody(ctx.req, maxBytes);
    ctx.bodyLimiter = body;
    body.on('error', () => {
      if (body.exceeded && res.headersSent) res.destroy();
    });
    return body;
  }

  private sendShortCircuit(ctx: PluginRequest, chain: Chain): void {
    const res = ctx.proxied.res;
    const sc = ctx.shortCircuit!;
    const headers: string[] = [];
    if (sc.body !== null) {
      if (sc.contentType !== null) headers.push('content-type', sc.contentType);
      headers.push('content-length', String(sc.body.length));
    }
    headers.push('server', SERVER);
    for (const [name, value] of Object.entries(sc.headers)) {
      if (typeof value === 'string') headers.push(name, value);
      else for (const v of value) headers.push(name, v);
    }
    ctx.setResponse(sc.status, headers, sc.body);
    const write = () => {
      if (res.headersSent || res.destroyed) return;
      // A body still unread: close after the answer (lingering, bounded) rather than read it all.
      if (bodyUnread(ctx.req)) res.shouldKeepAlive = false;
      // A response-phase plugin may have replaced the body (setResponseBody).
      const body = ctx.responseBody ?? sc.body;
      if (body !== sc.body && body !== null) {
        const i = headers.indexOf('content-length');
        if (i >= 0) headers[i + 1] = String(body.length);
      }
      const out = applyResponseHeaders(headers, ctx);
      if (isGrpcRequest(ctx.req)) {
        // Kong's kong.response.exit on a gRPC request: the status and message as gRPC's.
        sendGrpcAnswer(res, sc.status, grpcMessageOf(sc.status, body), headerRecord(out));
        return;
      }
      const web = grpcWebKindOf(ctx.req);
      if (web !== 0) {
        // The same on a gRPC-Web request, in gRPC-Web form (status and message in the headers).
        sendGrpcWebAnswer(res, web, sc.status, grpcMessageOf(sc.status, body), headerRecord(out));
        return;
      }
      res.writeHead(sc.status, out);
      res.end(body ?? undefined);
    };
    // The response phase runs on short-circuits too (as Kong's header_filter), body excluded.
    const r = runPhase(ctx, chain.response, 'response');
    if (r === undefined) write();
    else r.then(write, (err: unknown) => this.fail(ctx, err));
  }

  /**
   * Answers `code` from the error table once the route's response phase ran over it, as Kong's
   * header_filter runs on the gateway's own answers (the cors headers of a 502, 503 or 504).
   * A response phase that fails leaves the table's answer as it is.
   */
  sendGatewayError(ctx: PluginRequest, code: ProxyErrorCode): void {
    const res = ctx.proxied.res;
    const slots = ctx.proxied.route.chain?.response ?? null;
    if (slots === null || res.headersSent) {
      sendError(res, code);
      return;
    }
    const answer = errorResponseOf(code);
    const headers = [...answer.headers];
    // The table's body is not offered for rewriting (body null): the answer stays the table's.
    ctx.setResponse(answer.status, headers, null);
    const write = (): void => {
      if (!res.destroyed) sendError(res, code, applyResponseHeaders(headers, ctx));
    };
    const plain = (err: unknown): void => {
      ctx.log.error({ err, code: HANDLER_FAILED }, 'plugin response phase failed on a gateway answer');
      sendError(res, code);
    };
    try {
      const r = runPhase(ctx, slots, 'response');
      if (r === undefined) write();
      else r.then(write, plain);
    } catch (err) {
      plain(err);
    }
  }

  /**
   * Answers a failure of the chain: 413 for a body over a cap, 502 for a response a plugin could
   * not process (response phase run over the answer), else 500 (logged).
   */
  fail(ctx: PluginRequest, err: unknown): void {
    const res = ctx.proxied.res;
    const code = tableCode(err);
    if (code !== null) {
      this.sendGatewayError(ctx, code);
      return;
    }
    ctx.log.error({ err, code: HANDLER_FAILED }, 'plugin handler failed');
    sendError(res, ProxyErrorCode.INTERNAL);
  }

  private runLog(ctx: PluginRequest, chain: Chain): void {
    ctx.proxied.end();
    if (ctx.response === null) ctx.response = bareResponse(ctx.proxied.res.statusCode);
    try {
      const r = runPhase(ctx, chain.log, 'log');
      if (r !== undefined)
        r.then(undefined, (err: unknown) => ctx.log.error({ err }, 'plugin log phase failed'));
    } catch (err) {
      ctx.log.error({ err }, 'plugin log phase failed');
    }
  }
}

/** The `grpc-message` of a plugin's answer: its JSON `message`, else the status's reason phrase. */
function grpcMessageOf(status: number, body: Buffer | null): string {
  if (body !== null && body.length > 0 && body.length < 64 * 1024) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      const message = (parsed as { message?: unknown } | null)?.message;
      if (typeof message === 'string') return message;
    } catch {
      // not JSON: the reason phrase
    }
  }
  return STATUS_CODES[status] ?? '';
}
