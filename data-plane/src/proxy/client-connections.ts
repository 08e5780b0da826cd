/**
 * What the proxy allows a client connection: how long it may take to send its request head
 * (`client_header_timeout`), how long it may leave a request body idle and how slowly it may send
 * it (`client_body_timeout`, `client_body_min_rate`), how long a whole request may take
 * (`client_request_timeout`), how long an idle keep-alive connection stays, how many connections
 * one peer address may hold (`max_connections_per_ip`), and how an early answer is delivered to a
 * client that is still sending its body (lingering close).
 *
 * A timed-out client is answered 408 from the error table (the request head: on the raw socket;
 * a request already being served: through its response) and its upstream request is aborted, so
 * the upstream connection is released at once. One sweep timer per server watches the bodies in
 * flight; nothing is allocated for a request without a body.
 */
import http from 'node:http';
import net, { type Socket } from 'node:net';
import { constants as h2constants, type Http2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kExchange, type ClientSocket } from './exchange.js';
import { ProxyErrorCode, rawErrorResponse, sendError } from './errors.js';

export interface ClientLimits {
  /** Time allowed to receive a request head (node's headersTimeout). Default 10 s. */
  headerTimeoutMs: number;
  /**
   * Time a request body may stay idle while the proxy waits for it (not while the upstream
   * holds it back). 0 = off. Default 10 s.
   */
  bodyTimeoutMs: number;
  /**
   * Slowest average body rate (bytes/s) accepted once a body has been waited on for
   * `bodyTimeoutMs`. 0 = off. Default 500 (Apache mod_reqtimeout's MinRate).
   */
  bodyMinRate: number;
  /** Time allowed to receive a whole request, head and body (node's requestTimeout). 0 = off. Default 300 s. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this (Kong's keepalive_timeout). Default 60 s. */
  keepAliveTimeoutMs: number;
  /** Connections one peer address may hold open on this process; 0 = no cap (default). */
  maxConnectionsPerIp: number;
  /**
   * Lingering close: after an answer given while the client still sends its body, the connection
   * is half-closed and what the client sends is read and discarded for at most this long …
   */
  lingerMs: number;
  /** … and at most this many bytes, so the answer reaches the client instead of a reset. */
  lingerBytes: number;
  /**
   * Largest WebSocket message (payload of a frame and its continuations) either side of a
   * tunnel may send; a bigger one closes the tunnel with 1009. 0 = no limit. Default 16 MiB.
   */
  websocketMaxMessageSize: number;
  /** Requests in flight per worker beyond which new ones are shed with 503 (proxy/overload.ts); 0 = no cap. */
  maxConcurrentRequests: number;
  /** Event-loop delay in ms which, sustained for 500 ms by a worker using 0.4 of a core or more, sheds new requests with 503 (proxy/overload.ts); 0 = off. */
  maxEventLoopDelayMs: number;
  /** Queue time in ms past which, on a busy worker, a request is shed with 503 (proxy/overload.ts); 0 = off. */
  maxQueueTimeMs: number;
}

export const CLIENT_LIMIT_DEFAULTS: Readonly<ClientLimits> = Object.freeze({
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  bodyMinRate: 500,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 60_000,
  maxConnectionsPerIp: 0,
  lingerMs: 5_000,
  lingerBytes: 16 * 1024 * 1024,
  websocketMaxMessageSize: 16 * 1024 * 1024,
  maxConcurrentRequests: 0,
  // Off for an in-process ProxyServer (its loop is shared with other work); a DP worker gets
  // DP_MAX_EVENT_LOOP_DELAY_MS (off) from the CLI's default.
  maxEventLoopDelayMs: 0,
  // Likewise: DP_MAX_QUEUE_TIME_MS from the CLI's default.
  maxQueueTimeMs: 0,
});

/** The data plane's default queue-time bound for load shedding (`--max-queue-time`). */
export const DP_MAX_QUEUE_TIME_MS = 50;

/**
 * The data plane's default event-loop delay bound for load shedding (`--max-event-loop-delay`):
 * off since the queue-time signal (chaos F24, 7 Dec 2026: beside it, the delay signal's hold shed
 * whole seconds, 9–21 % of the offered 2× served against 22–38 % without it; docs/chaos.md).
 */
export const DP_MAX_EVENT_LOOP_DELAY_MS = 0;

/**
 * The proxy listeners' accept queue (listen(2) backlog; the kernel caps it at net.core.somaxconn).
 * Kong's default (`proxy_listen … backlog=16384`); node's 511 overflowed when 1,700 clients
 * connected at once (chaos F24): a handshake beyond the queue is dropped and retried by the client
 * 1, 3, 7 s later, so its first request waits seconds before the worker can read it, let alone shed it.
 */
export const LISTEN_BACKLOG = 16_384;

/** Longest period between two checks of the client timeouts. */
export const CHECK_INTERVAL_MAX_MS = 500;

/**
 * Most slow clients timed out in one turn of the event loop; the rest are cut in the turns after
 * (setImmediate), so the requests of other clients are served between batches. Chaos row F21:
 * 500 slow bodies cut in one sweep held a worker for ~120 ms of CPU in one go (its CPU profile:
 * the 408s, and aborting 500 upstream requests), and every normal request waited behind it.
 */
export const TIMEOUT_BATCH = 32;

/** The request being served on a connection (for the lingering close). */
const kRequest = Symbol('gatehouse.request');
/** Set once the connection is being closed: nothing more is answered on it. */
export const kClosing = Symbol('gatehouse.closing');

const kLinger = Symbol('gatehouse.linger');

type Conn = ClientSocket & {
  [kRequest]?: IncomingMessage | null;
  [kClosing]?: boolean;
  /** The limits of the server the connection belongs to (set on every HTTP connection). */
  [kLinger]?: ClientConnections;
  /** node's in-flight ServerResponse of an HTTP server socket (internal, stable since node 0.x). */
  _httpMessage?: ServerResponse | null;
};

/** node's own destroySoon (end, then destroy once the end is flushed). */
// eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(socket)
const destroySoon: (this: Socket) => void = net.Socket.prototype.destroySoon;

interface Watched {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly socket: Conn;
  /** The client sent `Expect: 100-continue`: it sends nothing until we answer 100. */
  readonly expectContinue: boolean;
  /** socket.bytesRead at the last sweep. */
  bytes: number;
  /** When bytes last arrived (or the proxy last stopped waiting for them). */
  idleSince: number;
  /** Time spent waiting for the client (not held back by the upstream), ms. */
  waited: number;
  /** Body bytes received while watched. */
  received: number;
  lastSweep: number;
}

/** True while a client that sent `Expect: 100-continue` still waits for the interim answer. */
function continueOwed(res: ServerResponse): boolean {
  // node marks the interim answer sent (`_sent100`, internal but stable since node 0.x).
  return (res as ServerResponse & { _sent100?: boolean })._sent100 !== true;
}

export class ClientConnections {
  readonly limits: Readonly<ClientLimits>;
  private readonly watched = new Set<Watched>();
  private readonly perIp = new Map<string, number>();
  private sweeper: NodeJS.Timeout | null = null;
  /** Connections found timed out, not yet cut (TIMEOUT_BATCH per turn). */
  private readonly expired: Conn[] = [];
  private draining: NodeJS.Immediate | null = null;
  /**
   * Sweep period: at most 500 ms (also node's connectionsCheckingInterval), so a slow client is
   * cut within its timeout + 1 s even when the event loop runs late (chaos row F21: with a 1 s
   * sweep, 500 slow-body clients were cut 11.3 s into a 10 s timeout).
   */
  readonly checkIntervalMs: number;
  /** Counters, for tests and status. */
  readonly counts = { refusedConnections: 0, headerTimeouts: 0, bodyTimeouts: 0 };

  constructor(limits: Partial<ClientLimits> = {}) {
    const merged = { ...CLIENT_LIMIT_DEFAULTS };
    for (const k of Object.keys(CLIENT_LIMIT_DEFAULTS) as (keyof ClientLimits)[]) {
      const v = limits[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(`client limit ${k} must be an integer >= 0, got ${String(v)}`);
      }
      merged[k] = v;
    }
    if (merged.headerTimeoutMs === 0 || merged.keepAliveTimeoutMs === 0) {
      throw new RangeError('client_header_timeout and keepalive_timeout must be > 0');
    }
    if (merged.requestTimeoutMs > 0 && merged.requestTimeoutMs < merged.headerTimeoutMs) {
      throw new RangeError(
        `client_request_timeout (${merged.requestTimeoutMs} ms) must not be shorter than client_header_timeout (${merged.headerTimeoutMs} ms)`,
      );
    }
    this.limits = Object.freeze(merged);
    const shortest = Math.min(
      merged.headerTimeoutMs,
      merged.bodyTimeoutMs > 0 ? merged.bodyTimeoutMs : Infinity,
    );
    this.checkIntervalMs = Math.max(50, Math.min(CHECK_INTERVAL_MAX_MS, Math.floor(shortest / 4)));
  }

  /** node:http / node:https server options carrying these limits. */
  serverOptions(): http.ServerOptions {
    return {
      keepAliveTimeout: this.limits.keepAliveTimeoutMs,
      headersTimeout: this.limits.headerTimeoutMs,
      requestTimeout: this.limits.requestTimeoutMs,
      connectionsCheckingInterval: this.checkIntervalMs,
    };
  }

  /**
   * Hooks a server's connections: the per-IP cap on every accepted TCP connection, and on each
   * HTTP connection (`secure`: the TLS socket, after the handshake) the exchange abort on close
   * and the lingering close.
   */
  install(server: http.Server, secure: boolean, onClose: (this: ClientSocket) => void): void {
    if (this.limits.maxConnectionsPerIp > 0) server.on('connection', (s: Socket) => this.admit(s));
    server.on(secure ? 'secureConnection' : 'connection', (socket: Conn) => {
      socket.on('close', onClose);
      socket.destroySoon = lingeringClose;
      socket[kLinger] = this;
    });
  }

  /** The per-IP cap: over it, the connection is closed before a byte is read. */
  private admit(socket: Socket): void {
    const ip = socket.remoteAddress;
    if (ip === undefined) return;
    const n = (this.perIp.get(ip) ?? 0) + 1;
    if (n > this.limits.maxConnectionsPerIp) {
      this.counts.refusedConnections += 1;
      socket.destroy();
      return;
    }
    this.perIp.set(ip, n);
    socket.once('close', () => {
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
  }

  /** Open connections per peer address (for tests). */
  connectionsOf(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /**
   * Called for every request: returns false when the connection is already being closed (the
   * request is dropped). Records the request for the lingering close, and watches its body.
   */
  admitRequest(
    req: IncomingMessage,
    res: ServerResponse,
    withBody: boolean,
    expectContinue = false,
  ): boolean {
    if (req.httpVersionMajor === 2) {
      if (withBody && this.limits.bodyTimeoutMs > 0) this.watchStream(req, res);
      return true;
    }
    const socket = req.socket as Conn;
    if (socket[kClosing] === true) {
      socket.destroy();
      return false;
    }
    socket[kRequest] = req;
    if (withBody && (this.limits.bodyTimeoutMs > 0 || this.limits.bodyMinRate > 0))
      this.watch(req, res, socket, expectContinue);
    return true;
  }

  /**
   * HTTP/2: the body of one stream may stay idle `bodyTimeoutMs` (the stream's own timer, re-armed
   * by every frame of it); then 408 (or the stream reset if the answer has started) and its
   * upstream request aborted. Time the proxy holds the body back (it sits unread) does not count.
   * The minimum rate is not checked on HTTP/2.
   */
  private watchStream(req: IncomingMessage, res: ServerResponse): void {
    const stream = (req as unknown as { stream: Http2Stream }).stream;
    const ms = this.limits.bodyTimeoutMs;
    const onTimeout = (): void => {
      if (req.complete || stream.destroyed) return;
      if (req.readableLength > 0 || stream.readableLength > 0) {
        stream.setTimeout(ms, onTimeout);
        return;
      }
      this.counts.bodyTimeouts += 1;
      const exchange = (stream as { [kExchange]?: { clientClosed(): void } | null })[kExchange];
      if (exchange != null) exchange.clientClosed();
      if (res.headersSent) stream.close(h2constants.NGHTTP2_CANCEL);
      else sendError(res, ProxyErrorCode.REQUEST_TIMEOUT);
    };
    stream.setTimeout(ms, onTimeout);
  }

  private watch(req: IncomingMessage, res: ServerResponse, socket: Conn, expectContinue: boolean): void {
    const now = Date.now();
    this.watched.add({
      req,
      res,
      socket,
      expectContinue,
      bytes: socket.bytesRead,
      idleSince: now,
      waited: 0,
      received: 0,
      lastSweep: now,
    });
    if (this.sweeper === null) {
      this.sweeper = setInterval(() => this.sweep(), this.checkIntervalMs);
      this.sweeper.unref();
    }
  }

  private sweep(): void {
    const now = Date.now();
    const { bodyTimeoutMs, bodyMinRate } = this.limits;
    for (const w of this.watched) {
      const { req, socket } = w;
      if (req.complete || socket.destroyed) {
        this.watched.delete(w);
        continue;
      }
      const bytes = socket.bytesRead;
      // Not reading (node paused the socket: the upstream or a plugin holds the body back), or
      // an interim 100 Continue still owed: the client is not the one who is slow.
      const waiting = !socket.isPaused() && !(w.expectContinue && continueOwed(w.res));
      if (bytes !== w.bytes) {
        w.received += bytes - w.bytes;
        w.bytes = bytes;
        w.idleSince = now;
      } else if (!waiting) {
        w.idleSince = now;
      }
      if (waiting) w.waited += now - w.lastSweep;
      w.lastSweep = now;
      const idle = bodyTimeoutMs > 0 && now - w.idleSince >= bodyTimeoutMs;
      const slow =
        bodyMinRate > 0 &&
        w.waited >= Math.max(bodyTimeoutMs, 1_000) &&
        w.received < (bodyMinRate * w.waited) / 1000;
      if (idle || slow) {
        this.watched.delete(w);
        this.counts.bodyTimeouts += 1;
        this.expire(socket);
      }
    }
    if (this.watched.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** node's clientError hook, for timeouts (ERR_HTTP_REQUEST_TIMEOUT): see {@link timeOutRequest}. */
  onRequestTimeout(socket: Conn): void {
    if (socket._httpMessage == null) this.counts.headerTimeouts += 1;
    else this.counts.bodyTimeouts += 1;
    this.expire(socket);
  }

  /**
   * Queues a timed-out connection: it is cut right after the current phase of the event loop
   * (setImmediate), TIMEOUT_BATCH at a time, with the I/O of other clients served between batches.
   */
  private expire(socket: Conn): void {
    this.expired.push(socket);
    this.draining ??= setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.draining = null;
    const batch = this.expired.splice(0, TIMEOUT_BATCH);
    if (this.expired.length > 0) this.draining = setImmediate(this.drain);
    for (const socket of batch) timeOutRequest(socket);
  };

  close(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    this.watched.clear();
    if (this.draining !== null) clearImmediate(this.draining);
    this.draining = null;
    this.expired.length = 0;
  }
}

/**
 * The client was too slow (request head, body idle or too slow, whole request): its upstream
 * request is aborted (the upstream connection is released now), and it is answered 408 unless
 * a response has started already (then the connection is just closed).
 */
export function timeOutRequest(socket: Conn): void {
  const exchange = socket[kExchange];
  if (exchange != null) exchange.clientClosed();
  const res = socket._httpMessage;
  if (socket[kClosing] === true || !socket.writable || (res != null && res.headersSent)) {
    socket.destroy();
    return;
  }
  socket[kClosing] = true;
  if (res == null) {
    // The request head never completed: there is no request to answer through.
    socket.write(rawErrorResponse(ProxyErrorCode.REQUEST_TIMEOUT));
    endAndLinger(socket, 0);
    return;
  }
  socket[kRequest] = null;
  sendError(res, ProxyErrorCode.REQUEST_TIMEOUT);
}

/**
 * Replaces node's `socket.destroySoon` (called once a `Connection: close` response is written):
 * when the request body was not read in full, closing now would make the kernel answer the
 * client's next bytes with a reset, which can wipe out the answer before the client reads it
 * (a 413 never seen). Instead: half-close (the answer and a FIN go out), read and discard what
 * the client still sends, and close once it stops (its FIN), after `lingerBytes`, or after
 * `lingerMs`.
 */
function lingeringClose(this: Conn): void {
  const req = this[kRequest];
  const owner = this[kLinger];
  if (owner === undefined || req == null || req.complete) {
    destroySoon.call(this);
    return;
  }
  this[kClosing] = true;
  this[kRequest] = null;
  let discarded = 0;
  const bound = owner.limits.lingerBytes;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bound) this.destroy();
  });
  req.once('end', () => this.destroy());
  req.resume();
  endAndLinger(this, owner.limits.lingerMs);
}

/** Ends the connection (FIN after what is queued) and destroys it at the client's FIN or after `ms` (0: once flushed). */
function endAndLinger(socket: Socket, ms: number): void {
  if (ms <= 0) {
    destroySoon.call(socket);
    return;
  }
  const destroy = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(destroy, ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', destroy);
  if (socket.writable) socket.end();
}
