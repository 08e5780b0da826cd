/**
 * One proxied request: an undici dispatch handler (the core callback interface, so undici adds no
 * wrapper and no parsed-header object) that writes the upstream response straight into node's
 * ServerResponse, with backpressure both ways and no stream.pipeline.
 *
 * `UpstreamExchange` is the one base of every exchange: it registers itself on the client socket
 * (a closed client aborts the upstream request), streams the body with backpressure, and maps an
 * upstream failure to the error table's answer. The plugin runtime's exchange adds the response
 * phase on top (plugins/runtime/exchange.ts); the balancer wraps either (balanced-exchange.ts).
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { contentLengthOf, downstreamResponseHeaders, upgradeResponseHead } from './headers.js';
import { Tunnel } from './websocket/tunnel.js';
import { sendError, upstreamErrorCode, type ProxyErrorCode } from './errors.js';
import type { ProxyRequest } from './request.js';

/** The exchange currently served on a client connection (so a closed socket aborts it). */
export const kExchange = Symbol('gatehouse.exchange');
export type ClientSocket = Socket & { [kExchange]?: UpstreamExchange | null };
/** Where the exchange of a request is registered: its socket (HTTP/1.x) or its stream (HTTP/2). */
type ExchangeSlot = { [kExchange]?: UpstreamExchange | null };

/**
 * An upstream response's header fields, name and value by turns, as the client read them:
 * Buffers from undici and the HTTP/2 pool, latin1 strings from the llhttp client (h1-upstream.ts).
 */
export type RawHeaders = readonly (Buffer | string)[];

/** undici's core dispatch callbacks (what every exchange implements). */
export interface CoreHandler {
  onConnect(abort: (reason?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
  /** The upstream answered 101 to a WebSocket upgrade (only requests sent with `upgrade`). */
  onUpgrade(statusCode: number, rawHeaders: Buffer[], socket: Duplex): void;
}

const SMALL_FIRST_CHUNK = 16 * 1024;

export class ClientClosedError extends Error {
  readonly code = 'GH_ERR_PROXY_CLIENT_CLOSED';
}

export class UpstreamExchange implements CoreHandler {
  protected abortUpstream: ((reason?: Error) => void) | null = null;
  protected resumeUpstream: (() => void) | null = null;
  /** Chunks held back (a subclass waiting for its response phase); null = write through. */
  protected held: Buffer[] | null = null;
  protected done = false;
  protected clientGone = false;
  /**
   * Set by onHeaders until the first body chunk: the upstream response's Content-Length, or -1
   * (none); -2 once a chunk was written (or for a subclass that writes the head itself). A small
   * first chunk goes out with the head; one of exactly that length is the whole body.
   */
  private firstChunk = -2;

  constructor(protected readonly request: ProxyRequest) {
    const slot = (request.stream as ExchangeSlot | null) ?? request.socket;
    slot[kExchange] = this;
  }

  /** Called when the client connection closes before the exchange finished. */
  clientClosed(): void {
    if (this.done) return;
    this.clientGone = true;
    if (this.abortUpstream !== null)
      this.abortUpstream(new ClientClosedError('client closed the connection'));
  }

  // --- undici DispatchHandler (core callbacks) ---

  onConnect(abort: (reason?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(new ClientClosedError('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: RawHeaders, resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.request.upstreamHeadersAt = performance.now();
    this.resumeUpstream = resume;
    this.firstChunk = contentLengthOf(rawHeaders);
    this.request.res.writeHead(statusCode, downstreamResponseHeaders(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    const held = this.held;
    if (held !== null) {
      held.push(chunk);
      return true;
    }
    const res = this.request.res;
    const first = this.firstChunk;
    this.firstChunk = -2;
    // A small first chunk goes out as latin1 text: node then joins it to the header block and
    // sends both as one string instead of a writev of the head and a buffer. (`headersSent` is
    // already true after writeHead, so the exchange keeps its own mark.)
    if (first !== -2 && chunk.length <= SMALL_FIRST_CHUNK) {
      if (chunk.length === first) {
        // The whole body: `end` with it skips `write`'s cork-until-next-tick; onComplete then
        // has nothing left to end.
        res.end(chunk.toString('latin1'), 'latin1');
        return true;
      }
      const ok = res.write(chunk.toString('latin1'), 'latin1');
      if (!ok && this.resumeUpstream !== null) res.once('drain', this.resumeUpstream);
      return ok;
    }
    const ok = res.write(chunk);
    if (!ok && this.resumeUpstream !== null) res.once('drain', this.resumeUpstream);
    return ok;
  }

  onComplete(trailers?: string[] | null): void {
    this.finish();
    const res = this.request.res;
    writeTrailers(this.request, trailers);
    if (!res.writableEnded) res.end();
  }

  onError(err: Error): void {
    this.finish();
    if (this.clientGone) return;
    this.answerError(err);
  }

  /**
   * The upstream switched to WebSocket: the client gets the 101 (its hop-by-hop headers as the
   * handshake needs them) and the two sockets become a tunnel (proxy/websocket/tunnel.ts), idle
   * for at most the service's read_timeout. The request is over for the proxy (observers and the
   * log phase run when the client socket closes, with status 101). A non-101 answer never comes
   * here: undici gives it to onHeaders, and it is passed to the client as any response is.
   */
  onUpgrade(_statusCode: number, rawHeaders: Buffer[], upstream: Duplex): void {
    this.finish();
    const request = this.request;
    request.upstreamHeadersAt = performance.now();
    const client = request.socket;
    if (this.clientGone || client.destroyed) {
      upstream.destroy();
      return;
    }
    request.res.statusCode = 101;
    client.write(upgradeResponseHead(rawHeaders), 'latin1');
    new Tunnel(client, upstream, {
      idleTimeoutMs: request.target.readTimeout,
      maxMessageSize: request.settings.websocketMaxMessageSize ?? 0,
    }).start();
  }

  /** Answers an upstream failure from the error table (502, 503, 504, 400). */
  protected answerError(err: Error): void {
    const code = upstreamErrorCode(err);
    const request = this.request;
    request.logger.debug({ err, code, method: request.method }, 'upstream request failed');
    this.sendAnswer(code);
  }

  /** Writes the error table's answer for `code` (the plugin exchange runs the response phase first). */
  protected sendAnswer(code: ProxyErrorCode): void {
    sendError(this.request.res, code);
  }

  /** The exchange is over: a later close of the client connection no longer concerns it. */
  protected finish(): void {
    this.done = true;
    const slot = (this.request.stream as ExchangeSlot | null) ?? this.request.socket;
    if (slot[kExchange] === this) slot[kExchange] = null;
  }
}

/**
 * Passes the upstream's trailers (an HTTP/2 upstream's: gRPC's `grpc-status`, `grpc-message` and
 * trailing metadata) to an HTTP/2 client. HTTP/1.1 clients get none (the proxy does not chunk a
 * response to carry them).
 */
export function writeTrailers(request: ProxyRequest, trailers: readonly string[] | null | undefined): void {
  if (trailers == null || trailers.length === 0 || request.stream === null) return;
  const res = request.res;
  if (res.writableEnded) return;
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < trailers.length; i += 2) {
    const name = String(trailers[i]).toLowerCase();
    const value = String(trailers[i + 1]);
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  res.addTrailers(out);
}

/** 'close' listener installed once per client socket. */
export function onClientSocketClose(this: ClientSocket): void {
  const exchange = this[kExchange];
  if (exchange != null) exchange.clientClosed();
}
