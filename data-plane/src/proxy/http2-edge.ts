/**
 * HTTP/2 at the edge of the proxy: one node:http2 server that never listens itself. The plain
 * listener hands it the connections that open with the HTTP/2 client preface (h2c with prior
 * knowledge, see proxy/preface-sniff.ts); the HTTPS listener those that negotiated `h2` by ALPN.
 * Every other connection stays with the HTTP/1.1 servers, exactly as before.
 *
 * Requests arrive through node's compatibility API (Http2ServerRequest / Http2ServerResponse) and
 * take the same path as HTTP/1.1 requests (ProxyServer.handle): router, plugins, error table,
 * observers, upstream over HTTP/1.1 (undici). What differs is absorbed in three places:
 * `readH2RequestHead` (pseudo-headers, `:authority`, cookies), `EdgeH2Response` (no
 * connection-specific header may go into an HTTP/2 response) and ProxyRequest (`stream`).
 *
 * Limits against the known HTTP/2 attacks, per session (connection):
 * - concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS, default 128 as nginx's
 *   http2_max_concurrent_streams); streams opened over it are refused by nghttp2 and, past
 *   `maxSessionRejectedStreams`, the session is closed;
 * - header list size (SETTINGS_MAX_HEADER_LIST_SIZE, default 32 KiB): a larger header block resets
 *   its stream; nghttp2 (node ≥ 20.12) also bounds CONTINUATION frames per block, so an endless
 *   CONTINUATION flood closes the session (CVE-2024-27983 / VU#421644);
 * - rapid reset (CVE-2023-44487): streams the client resets (or that close) before the proxy sent
 *   their response head are counted; once a session has PREMATURE_RESET_LIMIT of them and they are
 *   more than half of its streams, it gets GOAWAY(ENHANCE_YOUR_CALM) and is closed;
 * - memory: `maxSessionMemory` (MB) bounds what a session may hold in nghttp2 buffers; over it new
 *   streams are refused.
 */
import http2, {
  constants,
  type Http2ServerRequest,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@gatehouse/shared';
import { kExchange, type UpstreamExchange } from './exchange.js';
import { ProxyErrorCode, sendError } from './errors.js';

/** The HTTP/2 settings of a proxy (DP settings `--http2-*`). */
export interface Http2Settings {
  /** h2 by ALPN on the HTTPS listener (Kong's `http2` flag of `listen`). Default true. */
  readonly tls: boolean;
  /** h2c with prior knowledge on the plain listener (the preface sniffed). Default true. */
  readonly cleartext: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of each session (nginx's http2_max_concurrent_streams). Default 128. */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: largest header list a request may send, bytes (RFC 9113 §6.5.2 accounting). Default 32 KiB. */
  readonly maxHeaderListSize: number;
}

export const HTTP2_DEFAULTS: Readonly<Http2Settings> = Object.freeze({
  tls: true,
  cleartext: true,
  maxConcurrentStreams: 128,
  maxHeaderListSize: 32 * 1024,
});

/** Bounds of the numeric settings (also the CLI's). */
export const HTTP2_LIMITS = Object.freeze({
  maxConcurrentStreams: { min: 1, max: 65_535 },
  maxHeaderListSize: { min: 1_024, max: 16 * 1024 * 1024 },
});

/**
 * Streams closed before their response head, per session, before the session may be closed for
 * rapid reset (and only while they are more than half of its streams). Envoy closes a connection
 * on the same ratio; 100 lets a client cancel many requests of a long-lived connection.
 */
export const PREMATURE_RESET_LIMIT = 100;
/** nghttp2 buffer memory one session may hold (MB; node's default, made explicit). */
export const MAX_SESSION_MEMORY_MB = 10;
/** Streams refused (over the concurrency limit) and invalid frames a session may send before it is closed. */
export const MAX_SESSION_REJECTED_STREAMS = 100;
export const MAX_SESSION_INVALID_FRAMES = 100;
/** Header fields per request (node's HTTP/1.1 maxHeadersCount; the size limit bounds them first). */
export const MAX_HEADER_LIST_PAIRS = 2_000;

/** The settings with defaults applied; throws a RangeError naming the value at fault. */
export function http2Settings(partial: Partial<Http2Settings> = {}): Http2Settings {
  const s = { ...HTTP2_DEFAULTS, ...partial };
  for (const k of ['tls', 'cleartext'] as const) {
    if (typeof s[k] !== 'boolean')
      throw new RangeError(`http2 ${k} must be true or false, got ${String(s[k])}`);
  }
  for (const k of ['maxConcurrentStreams', 'maxHeaderListSize'] as const) {
    const v = s[k];
    const { min, max } = HTTP2_LIMITS[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw new RangeError(`http2 ${k} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return Object.freeze(s);
}

/** A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it: name + value + 32 per field (RFC 9113 §6.5.2). */
export function headerListSize(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 32;
  return n;
}

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Headers that must not appear in an HTTP/2 message (RFC 9113 §8.2.2); node's http2 throws on
 * them. Dropped from every response the proxy writes on an HTTP/2 stream (`Connection: close` of
 * the error table, a plugin's header, …).
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
]);

function isConnectionSpecific(name: string): boolean {
  const n = name.length;
  return n >= 2 && n <= 17 && CONNECTION_SPECIFIC.has(name.toLowerCase());
}

function withoutConnectionSpecific(headers: readonly string[]): readonly string[] {
  let out: string[] | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    if (isConnectionSpecific(headers[i]!)) {
      out ??= headers.slice(0, i);
      continue;
    }
    out?.push(headers[i]!, headers[i + 1]!);
  }
  return out ?? headers;
}

/**
 * The compatibility response, made safe for the proxy's writers: connection-specific headers are
 * dropped instead of thrown on, `destroyed` reads the stream's, and the body bytes are counted
 * (what the request's `bytesOut` reports on HTTP/2).
 */
export class EdgeH2Response extends http2.Http2ServerResponse {
  /** Body bytes written (the request's bytesOut adds its head). */
  bodyBytes = 0;

  override writeHead(
    statusCode: number,
    statusMessage?: string | http2.OutgoingHttpHeaders | readonly string[],
    headers?: http2.OutgoingHttpHeaders | readonly string[],
  ): this {
    let h = typeof statusMessage === 'string' ? headers : statusMessage;
    if (Array.isArray(h)) h = withoutConnectionSpecific(h as readonly string[]);
    else if (h != null) {
      let o = h as http2.OutgoingHttpHeaders;
      for (const name of Object.keys(o)) if (isConnectionSpecific(name)) o = omit(o, name);
      h = o;
    }
    // The status message has no place in HTTP/2 (node would warn).
    super.writeHead(statusCode, h as http2.OutgoingHttpHeaders);
    return this;
  }

  override setHeader(name: string, value: number | string | readonly string[]): this {
    if (!isConnectionSpecific(name)) super.setHeader(name, value);
    return this;
  }

  /**
   * Ends the response; when the client has not sent its whole body (an early answer: 401, 408,
   * 413…), the stream is then reset with NO_ERROR once the response is out (RFC 9113 §8.1), so
   * the client stops sending and the stream does not stay half open (HTTP/1.1 closes the
   * connection instead).
   */
  override end(...args: unknown[]): this {
    (super.end as (...a: unknown[]) => unknown).apply(this, args);
    const stream = this.stream;
    // Only while the client may still send: not for a request without a body (its HEADERS ended
    // the stream), nor one whose body was read or fully received.
    if (stream.endAfterHeaders || stream.destroyed) return this;
    const req = this.req as Http2ServerRequest | undefined;
    if (req !== undefined && !req.complete && stream.state.remoteClose !== 1)
      stream.close(constants.NGHTTP2_NO_ERROR);
    return this;
  }

  override write(chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean {
    if (chunk != null)
      this.bodyBytes +=
        typeof chunk === 'string'
          ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
          : chunk.length;
    return (super.write as (c: unknown, e?: unknown, cb?: unknown) => boolean)(chunk, encoding, cb);
  }
}

// The compatibility response is a legacy Stream without `destroyed`: the proxy's writers read the stream's.
Object.defineProperty(EdgeH2Response.prototype, 'destroyed', {
  get(this: EdgeH2Response): boolean {
    return this.stream.destroyed;
  },
});

function omit(h: http2.OutgoingHttpHeaders, name: string): http2.OutgoingHttpHeaders {
  const copy = { ...h };
  delete copy[name];
  return copy;
}

/** The compatibility request, counting the body bytes it receives (the request's bytesIn on HTTP/2). */
export class EdgeH2Request extends http2.Http2ServerRequest {
  bodyBytes = 0;

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk != null) this.bodyBytes += (chunk as Buffer).length;
    return super.push(chunk, encoding);
  }
}

/** Per-session counters of the rapid-reset guard. */
interface SessionGuard {
  /** Streams opened. */
  streams: number;
  /** Streams reset (or closed) before their response head. */
  premature: number;
  /** Streams open now. */
  open: number;
  /** The session is over the rapid-reset limit: new streams are refused unserved. */
  tripped: boolean;
}
const kGuard = Symbol('gatehouse.h2guard');
type GuardedSession = ServerHttp2Session & { [kGuard]?: SessionGuard };
interface StreamGuard {
  readonly guard: SessionGuard;
  readonly session: GuardedSession;
  readonly edge: Http2Edge;
}
type GuardedStream = ServerHttp2Stream & {
  [kGuard]?: StreamGuard;
  [kExchange]?: UpstreamExchange | null;
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface Http2EdgeOptions {
  settings: Http2Settings;
  /** Idle sessions (no stream open) are closed after this (the keep-alive timeout). */
  idleTimeoutMs: number;
  /** A new session that has not sent a whole first request head by then is closed (the header timeout). */
  firstRequestTimeoutMs: number;
  logger: Logger;
  /** Every request (the proxy's handler). */
  onRequest: Handler;
  /** Requests with `Expect: 100-continue`. */
  onCheckContinue: Handler;
  /** CONNECT requests (never proxied: 405 from the error table). */
  onConnect: Handler;
}

export class Http2Edge {
  readonly server: http2.Http2Server;
  readonly settings: Http2Settings;
  private readonly logger: Logger;
  private readonly firstRequestTimeoutMs: number;
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Counters, for tests and status. */
  readonly counts = { sessions: 0, streams: 0, rapidResetCloses: 0, sessionErrors: 0, headerTimeouts: 0 };

  constructor(options: Http2EdgeOptions) {
    this.settings = options.settings;
    this.logger = options.logger;
    this.firstRequestTimeoutMs = options.firstRequestTimeoutMs;
    const s = options.settings;
    this.server = http2.createServer({
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      maxSessionRejectedStreams: MAX_SESSION_REJECTED_STREAMS,
      maxSessionInvalidFrames: MAX_SESSION_INVALID_FRAMES,
      maxHeaderListPairs: MAX_HEADER_LIST_PAIRS,
      settings: {
        maxConcurrentStreams: s.maxConcurrentStreams,
        maxHeaderListSize: s.maxHeaderListSize,
        enablePush: false,
      },
      Http2ServerRequest: EdgeH2Request,
      Http2ServerResponse: EdgeH2Response as unknown as typeof http2.Http2ServerResponse,
    });
    // node's 'timeout' fires when a session had no activity for this long (re-armed by any frame).
    this.server.setTimeout(options.idleTimeoutMs);
    this.server.on('timeout', this.onSessionTimeout);
    this.server.on('session', this.onSession);
    this.server.on('sessionError', (err: Error) => {
      this.counts.sessionErrors += 1;
      this.logger.debug({ err }, 'HTTP/2 session error');
    });
    const h = this.server as unknown as {
      on(
        event: 'request' | 'checkContinue' | 'connect',
        fn: (req: Http2ServerRequest, res: unknown) => void,
      ): void;
    };
    // A stream of a session over the rapid-reset limit is not served (no routing, no upstream).
    // nghttp2 applies SETTINGS_MAX_HEADER_LIST_SIZE only once the client acknowledged it, so the
    // limit is checked here too: a request over it is answered 431 from the error table.
    const maxHeaderListSize = s.maxHeaderListSize;
    const served =
      (handler: Handler) =>
      (req: Http2ServerRequest, res: unknown): void => {
        const stream = req.stream as GuardedStream;
        if (stream.destroyed || stream[kGuard]?.guard.tripped === true) return;
        if (headerListSize(req.rawHeaders) > maxHeaderListSize) {
          sendError(res as ServerResponse, ProxyErrorCode.HEADERS_TOO_LARGE);
          return;
        }
        handler(req as unknown as IncomingMessage, res as ServerResponse);
      };
    h.on('request', served(options.onRequest));
    h.on('checkContinue', served(options.onCheckContinue));
    h.on('connect', options.onConnect as unknown as (req: Http2ServerRequest, res: unknown) => void);
  }

  /** Makes `socket` an HTTP/2 session (its first bytes, if already read, unshifted back onto it). */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  private readonly onSession = (session: GuardedSession): void => {
    this.counts.sessions += 1;
    const guard: SessionGuard = { streams: 0, premature: 0, open: 0, tripped: false };
    session[kGuard] = guard;
    this.sessions.add(session);
    // Slowloris on HTTP/2: the first request head (a header block may be cut in CONTINUATIONs)
    // must arrive within the header timeout, as on HTTP/1.1; later ones within the idle timeout.
    const first = setTimeout(() => {
      if (guard.streams === 0 && !session.destroyed) {
        this.counts.headerTimeouts += 1;
        session.destroy();
      }
    }, this.firstRequestTimeoutMs);
    first.unref();
    session.once('close', () => clearTimeout(first));
    // Before node's own listener, which hands the stream to the compatibility layer (the request).
    session.prependListener('stream', (stream: GuardedStream) => this.onStream(session, guard, stream));
    session.once('close', () => this.sessions.delete(session));
  };

  /**
   * A new stream. node emits it once nghttp2 has processed what the client sent with it, so a
   * stream the client reset in the same packets arrives dead: it is counted and never served (no
   * routing, no upstream request). A live one is watched for a reset to come ('aborted').
   */
  private onStream(session: GuardedSession, guard: SessionGuard, stream: GuardedStream): void {
    this.counts.streams += 1;
    guard.streams += 1;
    const g: StreamGuard = { guard, session, edge: this };
    if (stream.destroyed || stream.closed) {
      countPremature(g);
      return;
    }
    guard.open += 1;
    stream[kGuard] = g;
    stream.once('close', onStreamClose);
    stream.once('aborted', onStreamAborted);
    if (guard.tripped) stream.close(constants.NGHTTP2_REFUSED_STREAM);
  }

  /** A session idle for the keep-alive timeout is closed; one with streams open is left alone. */
  private readonly onSessionTimeout = (session: GuardedSession): void => {
    const guard = session[kGuard];
    if (guard !== undefined && guard.open > 0) return;
    session.close();
    const force = setTimeout(() => session.destroy(), 1_000);
    force.unref();
    session.once('close', () => clearTimeout(force));
  };

  /**
   * The client reset too many streams before their answer. Called inside nghttp2's processing of
   * what the client sent: from now on the session's new streams are refused unserved, and the
   * session gets GOAWAY(ENHANCE_YOUR_CALM) and is closed once that processing is over.
   */
  rapidReset(session: GuardedSession, guard: SessionGuard): void {
    if (guard.tripped) return;
    guard.tripped = true;
    this.counts.rapidResetCloses += 1;
    this.logger.warn(
      { peer: session.socket?.remoteAddress, streams: guard.streams, premature: guard.premature },
      'HTTP/2 session closed: too many streams reset before their response (rapid reset)',
    );
    setImmediate(() => {
      // GOAWAY with that code; node emits the error on the session ('sessionError', counted).
      if (!session.destroyed)
        session.destroy(new Error('HTTP/2 rapid reset'), constants.NGHTTP2_ENHANCE_YOUR_CALM);
    });
  }

  /** Open sessions (for tests). */
  get openSessions(): number {
    return this.sessions.size;
  }

  /** Sends GOAWAY to every session (in-flight streams finish), destroying those left after `ms`. */
  async close(ms = 5_000): Promise<void> {
    if (this.sessions.size === 0) return;
    const all = [...this.sessions];
    const closed = Promise.all(
      all.map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.close(() => resolve())))),
    );
    const force = setTimeout(() => {
      for (const s of all) s.destroy();
    }, ms);
    force.unref();
    await closed;
    clearTimeout(force);
  }
}

/**
 * 'aborted' of an HTTP/2 stream (the client reset it, or the session went, before the response
 * ended; emitted as nghttp2 processes the RST_STREAM): aborts its upstream exchange, and counts it
 * when not even the response head was sent.
 */
function onStreamAborted(this: GuardedStream): void {
  const exchange = this[kExchange];
  if (exchange != null) exchange.clientClosed();
  const g = this[kGuard];
  if (g !== undefined && !this.headersSent) countPremature(g);
}

function countPremature(g: StreamGuard): void {
  const guard = g.guard;
  guard.premature += 1;
  if (guard.premature >= PREMATURE_RESET_LIMIT && guard.premature * 2 > guard.streams)
    g.edge.rapidReset(g.session, guard);
}

function onStreamClose(this: GuardedStream): void {
  const g = this[kGuard];
  if (g !== undefined) g.guard.open -= 1;
}

/** The HTTP/2 stream of a request, or null for HTTP/1.x. */
export function h2StreamOf(req: IncomingMessage): ServerHttp2Stream | null {
  return req.httpVersionMajor === 2 ? (req as unknown as Http2ServerRequest).stream : null;
}
