/**
 * Runs a request through its route's chain: rewrite → access → (short-circuit | upstream with
 * the response phase) → log after the response is sent (off the request path).
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { GATEHOUSE_VERSION, type Logger } from '@gatehouse/shared';
import { sendError, ProxyErrorCode } from '../../proxy/errors.js';
import type { ClientSocket } from '../../proxy/exchange.js';
import type { CoreHandler } from '../../proxy/balanced-exchange.js';
import { HANDLER_FAILED, PluginErrors } from '../errors.js';
import { limitBody, type BodyLimit } from './body-limit.js';
import { PROTO_HTTP, PROTO_HTTPS, type Chain, type CompiledPlugins } from './compile.js';
import { PluginRequest, type RequestInit } from './context.js';
import { PluginExchange } from './exchange.js';
import {
  after,
  applyResponseHeaders,
  applyUpstreamHeaders,
  filterQuery,
  headerLookup,
  runPhase,
} from './phases.js';

const SERVER = `gatehouse/${GATEHOUSE_VERSION}`;

/** What a non-pool (balanced) dispatch gets after the chain ran. */
export interface OtherDispatch {
  /** Upstream path with the (filtered) query string. */
  path: string;
  query: string;
  headers: string[];
  /** The authenticated consumer's id (hash_on = consumer). */
  consumerId: string | undefined;
  /**
   * The body to send: a plugin's (read or replaced), or the client's stream (capped when a plugin
   * asked for `limitBody`); undefined = no body, or the client's stream uncapped.
   */
  body: Buffer | Readable | undefined;
  /** Writes the response, running the response phase (the balancer retries before it). */
  handler: CoreHandler;
}

/** What the proxy would dispatch upstream without plugins. */
export interface UpstreamRequest {
  /** The service's pool, or null when `dispatchOther` sends the request (balanced upstreams). */
  dispatcher: Dispatcher | null;
  dispatchOther: ((r: OtherDispatch) => void) | null;
  /** Upstream path without the query string. */
  path: string;
  /** Headers built by the proxy (X-Forwarded-* etc.). */
  headers: string[];
  /** The request has a body to stream. */
  hasBody: boolean;
  readTimeout: number;
}

function isBodyTooLarge(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'GH_ERR_PLUGIN_BODY_TOO_LARGE';
}

export class PluginRunner {
  constructor(private readonly logger: Logger) {}

  handle(
    compiled: CompiledPlugins,
    chain: Chain,
    init: RequestInit,
    up: UpstreamRequest,
    res: ServerResponse,
  ): void {
    const ctx = new PluginRequest(init, compiled.snapshot, this.logger);
    const proto = init.scheme === 'https' ? PROTO_HTTPS : PROTO_HTTP;
    if (chain.log !== null) res.once('close', () => setImmediate(() => this.runLog(ctx, chain, proto, res)));
    const fail = (err: unknown) => this.fail(ctx, res, err);
    try {
      const r = after(runPhase(ctx, chain.rewrite, 'rewrite', proto), () =>
        after(runPhase(ctx, chain.access, 'access', proto), () => this.proceed(ctx, chain, proto, up, res)),
      );
      if (r !== undefined) r.then(undefined, fail);
    } catch (e) {
      fail(e);
    }
  }

  private proceed(
    ctx: PluginRequest,
    chain: Chain,
    proto: number,
    up: UpstreamRequest,
    res: ServerResponse,
  ): void {
    if (res.destroyed) return;
    if (ctx.responded) {
      this.sendShortCircuit(ctx, chain, proto, res);
      return;
    }
    const limit = ctx.bodyLimit;
    const read = ctx.upstreamBody === null ? ctx.bodyBuffer : null;
    if (limit !== null && read !== null && read.length > limit) {
      this.fail(ctx, res, PluginErrors.bodyTooLarge(`request body larger than ${limit} bytes`));
      return;
    }
    let body: Buffer | Readable | null = ctx.upstreamBody ?? ctx.bodyBuffer;
    let headers = applyUpstreamHeaders(up.headers, ctx);
    if (body !== null) {
      const len = String(body.length);
      let found = false;
      for (let i = 0; i < headers.length; i += 2) {
        if (headers[i]!.toLowerCase() === 'content-length') {
          headers[i + 1] = len;
          found = true;
        }
      }
      if (!found && (body.length > 0 || up.hasBody)) headers = [...headers, 'content-length', len];
    } else if (up.hasBody) {
      body = limit === null ? ctx.req : this.limitedBody(ctx, res, limit);
    }
    let query = ctx.rawQuery;
    if (ctx.removedQueryArgs !== null && query !== '') query = filterQuery(query, ctx.removedQueryArgs);
    ctx.continueBody();
    const socket = ctx.req.socket as ClientSocket;
    const exchange = new PluginExchange(res, socket, this.logger, ctx, chain, proto, (err) =>
      this.fail(ctx, res, err),
    );
    if (up.dispatcher === null) {
      up.dispatchOther!({
        body: body ?? undefined,
        path: query === '' ? up.path : `${up.path}?${query}`,
        query,
        headers,
        consumerId: ctx.consumer?.id ?? ctx.credential?.id,
        handler: exchange,
      });
      return;
    }
    up.dispatcher.dispatch(
      {
        path: query === '' ? up.path : `${up.path}?${query}`,
        method: ctx.method,
        headers,
        body,
        headersTimeout: up.readTimeout,
        bodyTimeout: up.readTimeout,
      },
      exchange,
    );
  }

  /**
   * The client's body capped at `maxBytes` as it streams upstream. Crossing the cap aborts the
   * upstream request; the exchange's onError then answers 413 (see PluginExchange.onError). When
   * the response has started already, only closing the connection is left.
   */
  private limitedBody(ctx: PluginRequest, res: ServerResponse, maxBytes: number): BodyLimit {
    const body = limitBody(ctx.req, maxBytes);
    ctx.bodyLimiter = body;
    body.on('error', () => {
      if (body.exceeded && res.headersSent) res.destroy();
    });
    return body;
  }

  private sendShortCircuit(ctx: PluginRequest, chain: Chain, proto: number, res: ServerResponse): void {
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
    ctx.response = { status: sc.status, header: headerLookup(headers), body: sc.body };
    const write = () => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(sc.status, applyResponseHeaders(headers, ctx));
      res.end(sc.body ?? undefined);
    };
    // The response phase runs on short-circuits too (as Kong's header_filter), body excluded.
    const r = runPhase(ctx, chain.response, 'response', proto);
    if (r === undefined) write();
    else r.then(write, (err: unknown) => this.fail(ctx, res, err));
  }

  private fail(ctx: PluginRequest, res: ServerResponse, err: unknown): void {
    if (isBodyTooLarge(err)) {
      if (!res.headersSent) {
        const body = Buffer.from(JSON.stringify({ message: 'Request size limit exceeded' }));
        res.writeHead(413, [
          'content-type',
          'application/json; charset=utf-8',
          'content-length',
          String(body.length),
          'server',
          SERVER,
          'connection',
          'close',
        ]);
        res.end(body);
      } else res.destroy();
      return;
    }
    ctx.log.error({ err, code: HANDLER_FAILED }, 'plugin handler failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, ProxyErrorCode.INTERNAL);
  }

  private runLog(ctx: PluginRequest, chain: Chain, proto: number, res: ServerResponse): void {
    if (ctx.response === null) ctx.response = { status: res.statusCode, header: () => undefined, body: null };
    try {
      const r = runPhase(ctx, chain.log, 'log', proto);
      if (r !== undefined)
        r.then(undefined, (err: unknown) => ctx.log.error({ err }, 'plugin log phase failed'));
    } catch (err) {
      ctx.log.error({ err }, 'plugin log phase failed');
    }
  }
}
