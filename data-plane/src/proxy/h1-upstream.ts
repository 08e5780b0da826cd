/**
 * HTTP/1.1 to a plain-TCP upstream without undici: keep-alive connections (`net.Socket`) and
 * node's own llhttp response parser (`HTTPParser` of `_http_common`, the one node's http client
 * uses), behind undici's `dispatch(options, handler)` so the exchanges do not know which client
 * sent their request. The default client of plain-HTTP upstreams (`--upstream-client undici` turns
 * it off; docs/data-plane.md, "Upstream client"): measured, undici costs ~14 µs of CPU per proxied
 * request on top of node:http (floor 39 µs against 25 µs with this client, test/bench/README.md
 * "Where the time goes").
 *
 * Only the requests whose bytes on the wire are certain to be undici's are sent here (the same
 * request line, `host` first, `connection: keep-alive`, the headers in order, the same
 * Content-Length rules): no body or a Buffer body, no upgrade, a method other than HEAD and
 * CONNECT, valid tokens and values, and none of the headers undici treats apart (Connection,
 * Expect, Transfer-Encoding, Keep-Alive, Upgrade, a second Host, a Content-Length that does not
 * match the body). Everything else goes to an undici Pool for the same origin (`fallback`), so
 * what undici refuses is refused as before, with its error codes.
 *
 * Errors carry undici's codes (UND_ERR_CONNECT_TIMEOUT, UND_ERR_HEADERS_TIMEOUT,
 * UND_ERR_BODY_TIMEOUT, UND_ERR_SOCKET, UND_ERR_ABORTED, UND_ERR_CLOSED, UND_ERR_DESTROYED) or the
 * socket's (ECONNREFUSED…), so errors.ts maps them to the same answers and the passive health
 * checks count them the same way.
 */
import net from 'node:net';
import { createRequire } from 'node:module';
import type { CoreHandler } from './exchange.js';
import type { UpstreamOptions } from './dispatch.js';

/** node's llhttp binding, as `_http_common` exports it (internal; the http client's own parser). */
interface HttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  [key: number]: unknown;
}
interface HttpParserClass {
  new (): HttpParser;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: HttpParserClass };
const kOnHeaders = HTTPParser.kOnHeaders | 0;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
const kOnBody = HTTPParser.kOnBody | 0;
const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;

/** An upstream failure with undici's code (errors.ts maps codes, not classes). */
export class H1UpstreamError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** What a target's pool needs besides this client: undici's Pool for the same origin, made on first use. */
export interface FallbackPool {
  dispatch(options: UpstreamOptions, handler: CoreHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export interface H1PoolOptions<F extends FallbackPool = FallbackPool> {
  readonly connectTimeout: number;
  /** Idle keep-alive connections are closed after this long (or the upstream's `Keep-Alive: timeout` hint, less a second). */
  readonly keepAliveTimeout: number;
  /** Connections open at most; requests beyond wait for one. */
  readonly connections: number;
  /** The undici Pool for the requests this client does not send (made on first use). */
  readonly fallback: () => F;
}

/** undici's `isValidHTTPToken` and `isValidHeaderValue`, and its path check. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_PATH = /[^\u0021-\u00ff]/;
/** Methods undici sends `content-length: 0` for when there is no body. */
const EXPECTS_PAYLOAD: ReadonlySet<string> = new Set([
  'PUT',
  'POST',
  'PATCH',
  'QUERY',
  'PROPFIND',
  'PROPPATCH',
]);
/** Header names (lower case) undici treats apart: such requests go to the fallback. */
const APART: ReadonlySet<string> = new Set([
  'connection',
  'expect',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
]);
const APART_LENGTHS: ReadonlySet<number> = new Set([...APART, 'host', 'content-length'].map((n) => n.length));
/** undici's `keepAliveTimeoutThreshold` for 7.x: an upstream's hint less this. */
const KEEP_ALIVE_THRESHOLD_MS = 2_000;

/**
 * The request head undici would write for `options` to `origin host`, or null when the request is
 * not one this client sends (see the module comment).
 */
export function requestHead(options: UpstreamOptions, defaultHost: string): string | null {
  const method = options.method;
  if (method === 'HEAD' || method === 'CONNECT' || !TOKEN.test(method)) return null;
  const path = options.path;
  if (typeof path !== 'string' || path === '' || BAD_PATH.test(path)) return null;
  if (options.upgrade != null) return null;
  const body = options.body;
  if (body != null && !Buffer.isBuffer(body)) return null;
  const headers = options.headers;
  let host: string | null = null;
  let declared: number | null = null;
  let lines = '';
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string') return null;
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) return null;
    if (APART_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (APART.has(lower)) return null;
      if (lower === 'host') {
        if (host !== null) return null;
        host = value;
        continue;
      }
      if (lower === 'content-length') {
        if (declared !== null || !/^\d{1,15}$/.test(value)) return null;
        declared = Number(value);
        continue;
      }
    }
    lines += `${name}: ${value}\r\n`;
  }
  const length = body == null ? 0 : body.length;
  // undici: a declared length must match a body; without a body it must be 0.
  if (declared !== null && declared !== length) return null;
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host ?? defaultHost}\r\nconnection: keep-alive\r\n${lines}`;
  if (length > 0) {
    // undici closes the connection after a body on a method that does not expect one.
    if (!EXPECTS_PAYLOAD.has(method)) return null;
    head += `content-length: ${length}\r\n`;
  } else if (EXPECTS_PAYLOAD.has(method)) head += 'content-length: 0\r\n';
  return head + '\r\n';
}

const IDLE = 0;
const WAITING_HEAD = 1;
const READING_BODY = 2;

/** One keep-alive connection; at most one request at a time. */
class Connection {
  readonly socket: net.Socket;
  private readonly parser: HttpParser;
  handler: CoreHandler | null = null;
  private state = IDLE;
  private timer: NodeJS.Timeout | null = null;
  private timeoutMs = 0;
  /** Header lines of a response longer than llhttp's batch, or its trailers. */
  private pendingHeaders: string[] | null = null;
  private keepAlive = true;
  /** When this idle connection is to be closed (keep-alive timeout). */
  idleUntil = 0;
  connected = false;
  dead = false;
  private readonly resume = (): void => {
    if (!this.dead) this.socket.resume();
  };
  readonly abort = (reason?: Error): void => {
    if (this.handler === null) return;
    this.fail(reason ?? new H1UpstreamError('Request aborted', 'UND_ERR_ABORTED'));
  };

  constructor(
    private readonly pool: H1Pool,
    host: string,
    port: number,
    connectTimeout: number,
  ) {
    const socket = (this.socket = net.connect({ host, port, noDelay: true }));
    socket.setKeepAlive(true, 60_000);
    const parser = (this.parser = new HTTPParser());
    parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    parser[kOnHeaders] = this.onHeaderLines;
    parser[kOnHeadersComplete] = this.onHeadersComplete;
    parser[kOnBody] = this.onBody;
    parser[kOnMessageComplete] = this.onMessageComplete;
    if (connectTimeout > 0) {
      this.timer = setTimeout(this.onConnectTimeout, connectTimeout);
      this.timer.unref();
      this.timerMs = -1;
    }
    socket.once('connect', () => {
      this.connected = true;
      this.disarm();
      this.write();
    });
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /**
   * Sends one request (`head` and `body`); the handler hears the rest. As with undici, the
   * handler's `onConnect` comes once the connection is up, just before the request is written (a
   * balancer may send a request again to another target only if it was never written).
   */
  send(head: string, body: Buffer | null, handler: CoreHandler, options: UpstreamOptions): void {
    this.handler = handler;
    this.state = WAITING_HEAD;
    this.keepAlive = true;
    this.bodyTimeout = options.bodyTimeout ?? 0;
    this.timeoutMs = options.headersTimeout ?? 0;
    this.head = head;
    this.body = body;
    if (this.connected) this.write();
  }

  /** The request waiting for the connection. */
  private head: string | null = null;
  private body: Buffer | null = null;

  private write(): void {
    const handler = this.handler;
    const head = this.head;
    const body = this.body;
    this.head = null;
    this.body = null;
    if (handler === null || head === null) return;
    handler.onConnect(this.abort);
    if (this.handler !== handler) return; // aborted in onConnect
    if (body === null || body.length === 0) this.socket.write(head, 'latin1');
    else {
      this.socket.cork();
      this.socket.write(head, 'latin1');
      this.socket.write(body);
      this.socket.uncork();
    }
    this.arm(this.timeoutMs);
  }

  private bodyTimeout = 0;

  private arm(ms: number): void {
    if (ms <= 0) {
      this.disarm();
      return;
    }
    if (this.timer !== null && this.timerMs === ms) this.timer.refresh();
    else {
      this.disarm();
      this.timerMs = ms;
      this.timer = setTimeout(this.onTimeout, ms);
      this.timer.unref();
    }
  }

  /** The delay `timer` was set with (headers or body timeout). */
  private timerMs = 0;

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly onConnectTimeout = (): void => {
    this.timer = null;
    if (this.connected) return;
    const err = new H1UpstreamError('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT');
    if (this.handler !== null) this.fail(err);
    else this.kill();
  };

  private readonly onTimeout = (): void => {
    this.timer = null;
    if (this.state === WAITING_HEAD)
      this.fail(new H1UpstreamError('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT'));
    else if (this.state === READING_BODY)
      this.fail(new H1UpstreamError('Body Timeout Error', 'UND_ERR_BODY_TIMEOUT'));
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.handler === null) {
      // Bytes with no request outstanding: the upstream is not speaking HTTP/1.1 to us.
      this.kill();
      return;
    }
    const r = this.parser.execute(chunk);
    if (r instanceof Error) this.fail(upstreamParseError(r));
    else this.afterMessage();
  };

  /**
   * After the parser returned: a response that completed frees the connection now, not inside
   * the parser's callback, so bytes after it in the same read (an upstream answering more than
   * asked) close the connection instead of being read as the next request's response.
   */
  private afterMessage(): void {
    if (!this.complete) return;
    this.complete = false;
    if (this.reusable && !this.dead) this.pool.release(this);
    else this.kill();
  }

  /** A response completed in the current read (see afterMessage); whether its connection may be reused. */
  private complete = false;
  private reusable = false;

  private readonly onEnd = (): void => {
    if (this.handler !== null && this.state === READING_BODY) {
      // A body delimited by the end of the connection.
      const r = this.parser.finish();
      if (r instanceof Error) {
        this.fail(upstreamParseError(r));
        return;
      }
      this.reusable = false;
      this.afterMessage();
    }
    if (this.handler !== null) this.fail(new H1UpstreamError('other side closed', 'UND_ERR_SOCKET'));
    else this.kill();
  };

  private readonly onError = (err: Error): void => {
    if (this.handler !== null) this.fail(err);
    else this.kill();
  };

  private readonly onClose = (): void => {
    if (this.handler !== null) this.fail(new H1UpstreamError('other side closed', 'UND_ERR_SOCKET'));
    this.kill();
  };

  private readonly onHeaderLines = (headers: string[]): void => {
    (this.pendingHeaders ??= []).push(...headers);
  };

  private readonly onHeadersComplete = (
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    _method: unknown,
    _url: unknown,
    statusCode: number,
    _statusMessage: unknown,
    _upgrade: boolean,
    shouldKeepAlive: boolean,
  ): number => {
    const handler = this.handler;
    if (handler === null) {
      // A response nobody asked for.
      this.kill();
      return 0;
    }
    let raw = headers ?? [];
    if (this.pendingHeaders !== null) {
      raw = headers === undefined ? this.pendingHeaders : [...this.pendingHeaders, ...headers];
      this.pendingHeaders = null;
    }
    if (statusCode < 200) {
      // 1xx: informational (101 cannot come: upgrades go to the fallback); the response follows.
      if (statusCode === 101) this.fail(new H1UpstreamError('unexpected 101 response', 'UND_ERR_SOCKET'));
      return 0;
    }
    this.keepAlive = shouldKeepAlive;
    this.hint(raw);
    this.state = READING_BODY;
    this.arm(this.bodyTimeout);
    if (handler.onHeaders(statusCode, raw, this.resume) === false) this.socket.pause();
    return 0;
  };

  /** The upstream's `Keep-Alive: timeout=N` (seconds): idle for at most N − 2 s (undici's rule). */
  private hint(raw: string[]): void {
    this.hinted = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
      const m = /timeout=(\d+)/i.exec(raw[i + 1]!);
      if (m === null) continue;
      const ms = Number(m[1]) * 1000 - KEEP_ALIVE_THRESHOLD_MS;
      if (ms <= 0) this.keepAlive = false;
      else this.hinted = Math.min(ms, this.pool.keepAliveTimeout);
    }
  }

  /** The idle timeout the upstream asked for (ms), or 0. */
  hinted = 0;

  private readonly onBody = (chunk: Buffer): void => {
    const handler = this.handler;
    if (handler === null) return;
    if (this.bodyTimeout > 0) this.arm(this.bodyTimeout);
    if (handler.onData(chunk) === false) this.socket.pause();
  };

  private readonly onMessageComplete = (): void => {
    const handler = this.handler;
    if (handler === null || this.state !== READING_BODY) return;
    const trailers = this.pendingHeaders;
    this.pendingHeaders = null;
    this.handler = null;
    // The timer stays (re-armed by the next request; firing while idle does nothing).
    this.state = IDLE;
    if (this.socket.isPaused()) this.socket.resume();
    this.reusable = this.keepAlive;
    this.complete = true;
    handler.onComplete(trailers);
  };

  /** Ends the current request with `err` and closes the connection. */
  private fail(err: Error): void {
    const handler = this.handler;
    this.handler = null;
    this.state = IDLE;
    this.kill();
    handler?.onError(err);
  }

  /** Closes the connection for good. */
  kill(): void {
    this.disarm();
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.pool.forget(this);
  }

  get busy(): boolean {
    return this.handler !== null;
  }
}

/** llhttp's error (HPE_…) as an upstream failure (502, never a crash). */
function upstreamParseError(err: Error): Error {
  const code = (err as { code?: unknown }).code;
  return new H1UpstreamError(
    `invalid upstream response: ${typeof code === 'string' ? code : err.message}`,
    'UND_ERR_SOCKET',
  );
}

/** A queued request: the pool is at its connection limit. */
interface Waiting {
  head: string;
  body: Buffer | null;
  handler: CoreHandler;
  options: UpstreamOptions;
}

/** The connections to one `http://host:port` origin (undici's Pool interface as the proxy uses it). */
export class H1Pool<F extends FallbackPool = FallbackPool> {
  private readonly host: string;
  private readonly port: number;
  private readonly defaultHost: string;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Waiting[] = [];
  private fallbackPool: F | null = null;
  private closed = false;
  private drained: (() => void) | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  readonly keepAliveTimeout: number;

  constructor(
    readonly origin: string,
    private readonly options: H1PoolOptions<F>,
  ) {
    const url = new URL(origin);
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = Number(url.port || 80);
    this.defaultHost = url.host;
    this.keepAliveTimeout = options.keepAliveTimeout;
  }

  /**
   * The undici Pool of the same origin: what the requests this client does not send go to, and
   * what a plugin's own requests to the service use (undici's promise API, service-endpoint.ts).
   */
  get undici(): F {
    return (this.fallbackPool ??= this.options.fallback());
  }

  /** Connections open now (tests). */
  get size(): number {
    return this.all.size;
  }

  /** Sends one request (undici's dispatch signature); the handler learns everything. */
  dispatch(options: UpstreamOptions, handler: CoreHandler): boolean {
    if (this.closed) {
      handler.onError(new H1UpstreamError('The client is destroyed', 'UND_ERR_DESTROYED'));
      return false;
    }
    const head = requestHead(options, this.defaultHost);
    if (head === null) return this.undici.dispatch(options, handler);
    const body = (options.body as Buffer | null | undefined) ?? null;
    const c = this.take();
    if (c === null) this.waiting.push({ head, body, handler, options });
    else c.send(head, body, handler, options);
    return true;
  }

  /** An idle connection (the most recently used), a new one, or null at the limit. */
  private take(): Connection | null {
    const now = Date.now();
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (!c.dead && c.idleUntil > now) return c;
      c.kill();
    }
    if (this.all.size >= this.options.connections) return null;
    const c = new Connection(this, this.host, this.port, this.options.connectTimeout);
    this.all.add(c);
    return c;
  }

  /** A connection finished its request and may be used again. */
  release(c: Connection): void {
    const next = this.waiting.shift();
    if (next !== undefined) {
      c.send(next.head, next.body, next.handler, next.options);
      return;
    }
    if (this.closed) {
      c.kill();
      this.checkDrained();
      return;
    }
    c.idleUntil = Date.now() + (c.hinted > 0 ? c.hinted : this.keepAliveTimeout);
    this.idle.push(c);
    if (this.sweeper === null) {
      this.sweeper = setInterval(this.sweep, 1_000);
      this.sweeper.unref();
    }
  }

  /** Closes the idle connections past their keep-alive timeout. */
  private readonly sweep = (): void => {
    const now = Date.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i]!;
      if (c.idleUntil <= now) c.kill();
    }
    if (this.idle.length === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  };

  /** A connection closed: it is no longer counted (and a waiting request may open another). */
  forget(c: Connection): void {
    this.all.delete(c);
    const at = this.idle.indexOf(c);
    if (at >= 0) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next === undefined) {
      if (this.closed) this.checkDrained();
    } else {
      const fresh = this.take();
      if (fresh === null) this.waiting.unshift(next);
      else fresh.send(next.head, next.body, next.handler, next.options);
    }
  }

  private checkDrained(): void {
    if (this.drained === null || this.waiting.length > 0) return;
    for (const c of this.all) if (c.busy) return;
    const d = this.drained;
    this.drained = null;
    d();
  }

  /** Stops taking requests and stops the idle sweep (close and destroy). */
  private shut(): void {
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /**
   * Lets the requests in flight and those waiting for a connection finish, then closes every
   * connection (undici's `close`); a request dispatched after it fails.
   */
  async close(): Promise<void> {
    this.shut();
    for (const c of this.idle.splice(0)) c.kill();
    const busy = this.waiting.length > 0 || [...this.all].some((c) => c.busy);
    const fallback = this.fallbackPool?.close();
    if (busy) await new Promise<void>((resolve) => (this.drained = resolve));
    for (const c of [...this.all]) c.kill();
    await fallback;
  }

  /** Closes every connection now; requests in flight or waiting fail (undici's `destroy`). */
  async destroy(): Promise<void> {
    this.shut();
    const destroyed = (): Error => new H1UpstreamError('The client is destroyed', 'UND_ERR_DESTROYED');
    for (const w of this.waiting.splice(0)) w.handler.onError(destroyed());
    for (const c of [...this.all]) {
      if (c.busy) c.abort(destroyed());
      else c.kill();
    }
    this.drained?.();
    this.drained = null;
    await this.fallbackPool?.destroy();
  }
}
