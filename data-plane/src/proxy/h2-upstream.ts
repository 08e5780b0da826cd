/**
 * Upstream HTTP/2 (gRPC services: `protocol: grpc|grpcs`): a pool of node:http2 client sessions
 * to one origin that takes the same `dispatch(options, handler)` as an undici Pool, so
 * `dispatchUpstream` and the balancer send to it as to any other pool (one dispatch, the pool is
 * the kind). Sessions are reused while they have stream capacity (the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS, at most MAX_STREAMS_PER_SESSION), a new one opens when all
 * are full, and a session that got GOAWAY or closed is dropped (the next request opens another).
 *
 * A request streams both ways (client-streaming, server-streaming, bidi): the body is piped into
 * the HTTP/2 stream with backpressure, the response's DATA frames go to the handler as they come,
 * its trailers (`grpc-status`, `grpc-message`, custom metadata) to `onComplete`. A trailers-only
 * response (status in the one HEADERS frame) is split into a head and trailers, so the client
 * gets its metadata as trailing metadata whatever the edge writes.
 *
 * Deadlines: the `grpc-timeout` of the request (forwarded as it is) bounds the whole exchange,
 * the service's `read_timeout` each wait for the upstream; either expiring cancels the upstream
 * stream and fails with a timeout code (504 → gRPC DEADLINE_EXCEEDED at the client).
 */
import http2, { constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { UpstreamTls } from '../tls/upstream-tls.js';
import type { CoreHandler } from './exchange.js';
import type { UpstreamOptions } from './dispatch.js';
import { parseGrpcTimeout } from './grpc.js';

/** Streams one session carries at most (nghttp2's default peer limit is 100). */
export const MAX_STREAMS_PER_SESSION = 100;
/** An idle session (no stream) is closed after this, as the HTTP/1.1 pools' keep-alive. */
const IDLE_TIMEOUT_MS = 60_000;
/** setTimeout's bound. */
const MAX_TIMER_MS = 2_147_483_647;

/** Headers never sent on an HTTP/2 request (connection-specific, RFC 9113 §8.2.2) or replaced. */
const NOT_FORWARDED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
]);

/** A failure of the HTTP/2 exchange, with a code the error table maps (proxy/errors.ts). */
export class H2UpstreamError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface H2PoolOptions {
  readonly connectTimeout: number;
  readonly tls: UpstreamTls | null;
}

interface Session {
  readonly session: ClientHttp2Session;
  active: number;
  connected: boolean;
  /** GOAWAY received or closing: takes no new stream. */
  draining: boolean;
  /** Requests waiting for the connection. */
  readonly waiting: Array<() => void>;
  error: Error | null;
}

/** An HTTP/2 request's header object from the proxy's flat header array. */
function requestHeaders(options: UpstreamOptions, scheme: string): http2.OutgoingHttpHeaders {
  const raw = options.headers;
  const out: http2.OutgoingHttpHeaders = {
    ':method': options.method,
    ':scheme': scheme,
    ':path': options.path,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'host') {
      out[':authority'] = value;
      continue;
    }
    if (NOT_FORWARDED.has(name) || name.charCodeAt(0) === 0x3a) continue;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  // gRPC requires it (and it is the only TE value HTTP/2 allows).
  out['te'] = 'trailers';
  return out;
}

/** A header object's fields as a flat array (pseudo-headers left out). */
function flatten(headers: http2.IncomingHttpHeaders, into: string[], skip: ReadonlySet<string> | null): void {
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 0x3a || (skip !== null && skip.has(name))) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) into.push(name, v);
    else into.push(name, String(value));
  }
}

function toBuffers(flat: readonly string[]): Buffer[] {
  return flat.map((s) => Buffer.from(s, 'latin1'));
}

/** What of a trailers-only response stays in the head; everything else is trailing metadata. */
const HEAD_OF_TRAILERS_ONLY = new Set(['content-type']);

export class H2Pool {
  private sessions: Session[] = [];
  private closed = false;
  private readonly scheme: string;
  private readonly authority: string;

  constructor(
    readonly origin: string,
    private readonly options: H2PoolOptions,
  ) {
    const url = new URL(origin);
    this.scheme = url.protocol === 'https:' ? 'https' : 'http';
    this.authority = url.host;
  }

  /** Sends one request (undici's dispatch signature); the handler learns everything. */
  dispatch(options: UpstreamOptions, handler: CoreHandler): boolean {
    if (this.closed) {
      handler.onError(new H2UpstreamError('upstream pool closed', 'UND_ERR_CLOSED'));
      return false;
    }
    const s = this.pick();
    s.active++;
    if (s.connected) this.send(s, options, handler);
    else
      s.waiting.push(() => {
        if (s.connected && !s.session.destroyed) this.send(s, options, handler);
        else {
          s.active--;
          handler.onError(s.error ?? new H2UpstreamError('upstream connection closed', 'UND_ERR_SOCKET'));
        }
      });
    return true;
  }

  /** Sessions open now (tests, metrics). */
  get size(): number {
    return this.sessions.length;
  }

  private limit(s: Session): number {
    const peer = s.connected ? s.session.remoteSettings.maxConcurrentStreams : undefined;
    return Math.min(MAX_STREAMS_PER_SESSION, peer ?? MAX_STREAMS_PER_SESSION);
  }

  private pick(): Session {
    for (const s of this.sessions) if (!s.draining && s.active < this.limit(s)) return s;
    return this.open();
  }

  private open(): Session {
    const t = this.options.tls;
    const url = new URL(this.origin);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const session = http2.connect(this.origin, {
      ...(t === null
        ? {}
        : {
            rejectUnauthorized: t.rejectUnauthorized,
            ...(t.ca === undefined ? {} : { ca: t.ca }),
            ...(t.cert === undefined ? {} : { cert: t.cert, key: t.privateKey }),
            ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
          }),
    });
    const s: Session = { session, active: 0, connected: false, draining: false, waiting: [], error: null };
    this.sessions.push(s);
    const timer = setTimeout(() => {
      s.error = new H2UpstreamError('upstream connect timed out', 'UND_ERR_CONNECT_TIMEOUT');
      session.destroy();
    }, this.options.connectTimeout);
    timer.unref();
    const flush = (): void => {
      const waiting = s.waiting.splice(0);
      for (const w of waiting) w();
    };
    session.once('connect', () => {
      clearTimeout(timer);
      s.connected = true;
      flush();
    });
    session.on('error', (err: Error) => {
      s.error ??= err;
    });
    session.once('goaway', () => this.drop(s));
    session.once('close', () => {
      clearTimeout(timer);
      this.drop(s);
      s.connected = false;
      flush();
    });
    session.setTimeout(IDLE_TIMEOUT_MS, () => {
      if (s.active === 0) session.close();
    });
    // An idle session must not keep the process alive.
    session.unref();
    return s;
  }

  private drop(s: Session): void {
    s.draining = true;
    const i = this.sessions.indexOf(s);
    if (i >= 0) this.sessions.splice(i, 1);
  }

  private send(s: Session, options: UpstreamOptions, handler: CoreHandler): void {
    const body = options.body as Buffer | Readable | string | null | undefined;
    let stream: ClientHttp2Stream;
    try {
      stream = s.session.request(requestHeaders(options, this.scheme), { endStream: body == null });
    } catch (err) {
      s.active--;
      handler.onError(err as Error);
      return;
    }
    s.session.ref();
    let done = false;
    let headersSeen = false;
    let trailers: string[] | null = null;
    let deadline: NodeJS.Timeout | null = null;
    const end = (): boolean => {
      if (done) return false;
      done = true;
      if (deadline !== null) clearTimeout(deadline);
      s.active--;
      if (s.active === 0) s.session.unref();
      if (body != null && typeof body === 'object' && !Buffer.isBuffer(body)) body.unpipe(stream);
      return true;
    };
    const fail = (err: Error): void => {
      if (!end()) return;
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      handler.onError(err);
    };
    const timedOut = (what: string): void =>
      fail(
        new H2UpstreamError(
          `upstream ${what}`,
          headersSeen ? 'UND_ERR_BODY_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT',
        ),
      );
    // The client's deadline bounds the exchange; the service's read_timeout each wait.
    const grpcTimeout = parseGrpcTimeout(grpcTimeoutOf(options.headers));
    if (grpcTimeout !== null) {
      deadline = setTimeout(
        () => timedOut('exceeded the grpc-timeout deadline'),
        Math.min(grpcTimeout, MAX_TIMER_MS),
      );
      deadline.unref();
    }
    const readTimeout = options.headersTimeout ?? 0;
    if (readTimeout > 0)
      stream.setTimeout(Math.min(readTimeout, MAX_TIMER_MS), () => timedOut('read timed out'));
    handler.onConnect((reason?: Error) => fail(reason ?? new H2UpstreamError('aborted', 'UND_ERR_ABORTED')));
    if (done) return;
    if (body != null) {
      if (typeof body === 'string' || Buffer.isBuffer(body)) stream.end(body);
      else {
        body.on('error', (err: Error) => fail(err));
        body.pipe(stream);
      }
    }
    stream.on('response', (headers, flags) => {
      if (done) return;
      const status = Number(headers[':status'] ?? 0);
      headersSeen = true;
      const head: string[] = [];
      if ((flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 && status === 200) {
        // Trailers-only: the status and metadata are trailers.
        flatten(headers, head, null);
        const keep: string[] = [];
        trailers = [];
        for (let i = 0; i < head.length; i += 2)
          (HEAD_OF_TRAILERS_ONLY.has(head[i]!) ? keep : trailers).push(head[i]!, head[i + 1]!);
        handler.onHeaders(status, toBuffers(keep), () => stream.resume());
        return;
      }
      flatten(headers, head, null);
      handler.onHeaders(status, toBuffers(head), () => stream.resume());
    });
    stream.on('trailers', (headers: http2.IncomingHttpHeaders) => {
      const t: string[] = [];
      flatten(headers, t, null);
      trailers = t;
    });
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      if (!handler.onData(chunk)) stream.pause();
    });
    stream.on('end', () => {
      if (!end()) return;
      handler.onComplete(trailers);
    });
    stream.on('error', (err: Error) => fail(err));
    stream.on('close', () => {
      if (done) return;
      const code = stream.rstCode;
      fail(
        new H2UpstreamError(
          `upstream stream closed before its end (RST_STREAM ${code ?? 'none'})`,
          s.error !== null ? ((s.error as { code?: string }).code ?? 'UND_ERR_SOCKET') : 'UND_ERR_SOCKET',
        ),
      );
    });
  }

  /** Closes every session once its streams are done (GOAWAY), then resolves. */
  async close(): Promise<void> {
    this.closed = true;
    const sessions = this.sessions.splice(0);
    await Promise.all(
      sessions.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.session.closed || s.session.destroyed) {
              resolve();
              return;
            }
            s.session.close(() => resolve());
          }),
      ),
    );
  }

  /** Ends every session now. */
  async destroy(): Promise<void> {
    this.closed = true;
    for (const s of this.sessions.splice(0)) s.session.destroy();
  }
}

function grpcTimeoutOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 12 && n.toLowerCase() === 'grpc-timeout') return raw[i + 1];
  }
  return undefined;
}
