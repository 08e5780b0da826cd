/**
 * The one record of a request on its way through the proxy. The server handler creates it once;
 * the router matches it, the plugin runtime wraps it (PluginRequest), `dispatchUpstream` sends it,
 * the exchange answers from it and the log phase reads it. Every field is assigned in the
 * constructor, so all requests share one hidden class; the route and upstream fields are filled in
 * as the request moves along (see docs/dev/architecture.md, "The request path, hop by hop").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Logger } from '@gatehouse/shared';
import type { ClientIpResolver } from '../net/client-ip.js';
import type { RouteEntry, RouteMatch } from '../router/router.js';
import { upstreamPath } from '../router/upstream-path.js';
import { performance } from 'node:perf_hooks';
import type { ClientSocket } from './exchange.js';
import { upstreamRequestHeaders } from './headers.js';
import { isGrpcRequest } from './grpc.js';
import { h2StreamOf, type EdgeH2Request, type EdgeH2Response } from './http2-edge.js';
import type { RequestHead, RequestPolicy } from './request-head.js';
import { NO_SERVICE_TARGET, type ServiceTarget } from './service-targets.js';
import type { Chain } from '../plugins/runtime/compile.js';
import type { RequestTrace, RequestTracer } from '../tracing/tracer.js';
import type { RequestObservers } from '../observe/request-observer.js';
import type { ExchangeFacts } from '../observe/exchange-facts.js';

/** What a route entry of the proxy's router carries: the service target and the plugin chain. */
export type ProxyRoute = RouteEntry<ServiceTarget, Chain>;

/** Per-listener facts every request reads (one object per ProxyServer). */
export interface RequestSettings {
  readonly logger: Logger;
  /** Kong's trusted_ips resolution of the client address, or null when no proxy is trusted. */
  readonly clientIps: ClientIpResolver | null;
  /** X-Forwarded-Port for plain and TLS requests (the listening ports). */
  readonly forwardedPort: string;
  readonly tlsForwardedPort: string;
  /** The request-line, path and header rules (DP settings). */
  readonly policy: RequestPolicy;
  /** Starts each request's trace; null when tracing is off (then no request has a span). */
  readonly tracer?: RequestTracer | null;
  /** Told of the end of each request (the server's observers), or null when it has none. */
  readonly observers?: RequestObservers | null;
  /** Largest WebSocket message payload a tunnel passes (bytes; 0 = no limit; ClientLimits). */
  readonly websocketMaxMessageSize?: number;
}

/** Bytes read and written on a client socket when its previous request ended (keep-alive). */
const kReadMark = Symbol('gatehouse.bytesReadMark');
const kWrittenMark = Symbol('gatehouse.bytesWrittenMark');
type MarkedSocket = ClientSocket & { [kReadMark]?: number; [kWrittenMark]?: number };

/**
 * When a request passed each point (performance.now() milliseconds; -1 = not reached) and what it
 * cost in bytes: what metrics, the access log, traffic summaries and tracing read in
 * `requestEnded` (see observe/request-observer.ts for the derived latencies).
 */
export interface RequestTimings {
  /** The request head was parsed (the ProxyRequest was made). */
  readonly startedAt: number;
  /** The request was handed to the upstream pool or balancer (first try). */
  readonly upstreamStartedAt: number;
  /** The upstream's response head arrived (last try). */
  readonly upstreamHeadersAt: number;
  /** The response closed (sent, or the client went away); -1 until `end()`. */
  readonly endedAt: number;
  /** Bytes read from the client for this request (head and body), once ended. */
  readonly bytesIn: number;
  /** Bytes written to the client for this request (head and body), once ended. */
  readonly bytesOut: number;
}

/** An HTTP/2 request has a body unless its HEADERS ended the stream (or it says Content-Length: 0). */
function h2HasBody(stream: ServerHttp2Stream, raw: readonly string[]): boolean {
  return !stream.endAfterHeaders && firstHeader(raw, 'content-length') !== '0';
}

/** An HTTP/1.1-style size of header fields (`name: value\r\n` each), for HTTP/2's byte counts. */
function fieldBytes(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) n += raw[i]!.length + 2;
  return n;
}

function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return raw[i + 1] !== '0';
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

export class ProxyRequest implements RequestTimings {
  // --- the client's request (set once) ---
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /**
   * The client connection's socket. On HTTP/2 it is node's per-stream proxy of the session's
   * socket: its address and TLS facts are the connection's; never write to it.
   */
  readonly socket: ClientSocket;
  /**
   * The HTTP/2 stream of the request, or null (HTTP/1.x). On HTTP/2 the exchange registers on it
   * (a reset stream aborts the upstream request), not on the socket the session's streams share.
   */
  readonly stream: ServerHttp2Stream | null;
  readonly settings: RequestSettings;
  readonly method: string;
  /**
   * The client's raw headers, node's flat [name, value, …] array (also the router's input), less
   * those the request policy drops (underscored names).
   */
  readonly rawHeaders: readonly string[];
  /** The host (an absolute-form target's, else the Host header; may carry a port), or undefined. */
  readonly host: string | undefined;
  /** The request target in origin form (`/path?query`). */
  readonly url: string;
  /** The path as the client sent it, without the query string. */
  readonly rawPath: string;
  /** The query string without `?` ("" when none). */
  readonly rawQuery: string;
  /** The normalised path, the escaped-slash policy applied (what routes match and what is forwarded). */
  readonly path: string;
  readonly secure: boolean;
  /** 'http' or 'https'. */
  readonly scheme: string;
  /** The TCP peer. */
  readonly peerIp: string;
  /** The client as resolved with trusted_ips (the peer unless a trusted proxy named it). */
  readonly clientIp: string;
  /** The peer is in trusted_ips: the X-Forwarded-* and Forwarded headers it sends are believed. */
  readonly trustedPeer: boolean;
  /**
   * Kong's forwarded_proto: a trusted peer's X-Forwarded-Proto (its first value), else `scheme`.
   * What the https-only check of a route and the upstream's X-Forwarded-Proto use.
   */
  readonly forwardedProto: string;
  /** The client sends a body (Content-Length other than 0, or chunked). */
  readonly hasBody: boolean;
  /** The client waits for `100 Continue` before sending its body. */
  expectContinue: boolean;
  /**
   * A WebSocket upgrade (node's `upgrade` event, see proxy/websocket/upgrade.ts): matches
   * `ws`/`wss` routes, goes upstream with undici's `upgrade` option and becomes a tunnel on 101.
   */
  readonly upgrade: boolean;
  /**
   * A gRPC call (`content-type: application/grpc…`, proxy/grpc.ts, decided once): gateway answers
   * are gRPC statuses, plugins run for the `grpc`/`grpcs` protocol, the response is never buffered.
   */
  readonly grpc: boolean;

  // --- the route (set by `routeTo`) ---
  entry: ProxyRoute | null;
  /** Length of the matched path prefix; -1 when the route matched without a path. */
  prefixLength: number;
  /** Regex path captures, or null. */
  captures: Readonly<Record<string, string | undefined>> | null;

  // --- what goes upstream (built by `routeTo`, changed by plugins) ---
  /** The method sent upstream (the client's unless a plugin changed it). */
  upstreamMethod: string;
  /** Where the request is sent: the route's service target, or a plugin's alternate destination. */
  target: ServiceTarget;
  /** The upstream path without the query string. */
  upstreamPath: string;
  /** The upstream request target: path and query string. */
  upstreamUri: string;
  /** The query string sent upstream, without `?` (plugins may remove arguments). */
  query: string;
  /** The upstream request headers; index 1 holds the Host value (set per target when balanced). */
  headers: string[];
  /** A body read or replaced by a plugin, or the client's stream (capped or not); null = none. */
  body: Buffer | Readable | null;
  /** The authenticated consumer (or credential) id, for hash_on = consumer. */
  consumerId: string | undefined;
  /** Query arguments an auth plugin read a credential from (the access log redacts their values), or null. */
  credentialQueryArgs: Set<string> | null;
  /** Request headers (lower case) an auth plugin read a credential from (the log entry redacts them), or null. */
  credentialHeaders: Set<string> | null;
  /** A plugin set the Host header sent upstream (the balancer keeps it, as a preserved host). */
  hostSet: boolean;
  /**
   * The authenticated consumer's label for metrics and logs (Kong: its username, else its
   * custom_id), or undefined.
   */
  consumerName: string | undefined;

  // --- timings and sizes (RequestTimings) ---
  readonly startedAt: number;
  upstreamStartedAt: number;
  upstreamHeadersAt: number;
  endedAt: number;
  bytesIn: number;
  bytesOut: number;

  /** The request's trace (server span, upstream span); null when tracing is off. */
  span: RequestTrace | null;

  /** What the logs read of it once it ended (observe/exchange-facts.ts), made on first use. */
  facts: ExchangeFacts | null;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    head: RequestHead,
    settings: RequestSettings,
    upgrade = false,
  ) {
    this.req = req;
    this.res = res;
    const socket = req.socket as ClientSocket;
    this.socket = socket;
    const stream = h2StreamOf(req);
    this.stream = stream;
    this.settings = settings;
    this.method = req.method ?? 'GET';
    const raw = head.rawHeaders;
    this.rawHeaders = raw;
    this.host = head.host;
    this.url = head.url;
    this.rawPath = head.rawPath;
    this.rawQuery = head.rawQuery;
    this.path = head.path;
    this.secure = (socket as { encrypted?: boolean }).encrypted === true;
    this.scheme = this.secure ? 'https' : 'http';
    const peerIp = socket.remoteAddress ?? '';
    this.peerIp = peerIp;
    const clientIps = settings.clientIps;
    const trustedPeer = clientIps !== null && clientIps.isTrusted(peerIp);
    this.trustedPeer = trustedPeer;
    this.clientIp = clientIps === null ? peerIp : clientIps.resolve(peerIp, raw);
    this.forwardedProto = (trustedPeer && firstHeader(raw, 'x-forwarded-proto')) || this.scheme;
    this.hasBody = stream === null ? hasBody(raw) : h2HasBody(stream, raw);
    this.expectContinue = false;
    this.upgrade = upgrade;
    this.grpc = isGrpcRequest(req);
    this.entry = null;
    this.prefixLength = -1;
    this.captures = null;
    this.upstreamMethod = this.method;
    this.target = NO_SERVICE_TARGET;
    this.upstreamPath = '';
    this.upstreamUri = '';
    this.query = this.rawQuery;
    this.headers = [];
    this.body = null;
    this.consumerId = undefined;
    this.credentialQueryArgs = null;
    this.credentialHeaders = null;
    this.hostSet = false;
    this.consumerName = undefined;
    this.startedAt = performance.now();
    this.upstreamStartedAt = -1;
    this.upstreamHeadersAt = -1;
    this.endedAt = -1;
    this.bytesIn = 0;
    this.bytesOut = 0;
    const tracer = settings.tracer;
    this.facts = null;
    this.span = tracer == null ? null : tracer.start(this);
  }

  /**
   * Marks the end of the request (once; later calls do nothing): `endedAt`, and the bytes read
   * and written on the client socket since the previous request on it ended. Called when the
   * response closes, before the observers and the log phase run.
   */
  end(): void {
    if (this.endedAt >= 0) return;
    this.endedAt = performance.now();
    if (this.stream !== null) {
      // HTTP/2 multiplexes the connection: its byte counters are not this request's. Counted:
      // the header fields and body bytes as an HTTP/1.1 message would carry them.
      const res = this.res as unknown as EdgeH2Response;
      this.bytesIn = fieldBytes(this.rawHeaders) + ((this.req as unknown as EdgeH2Request).bodyBytes ?? 0);
      this.bytesOut = (res.bodyBytes ?? 0) + 13 + headerObjectBytes(res);
      return;
    }
    const socket = this.socket as MarkedSocket;
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    this.bytesIn = read - (socket[kReadMark] ?? 0);
    this.bytesOut = written - (socket[kWrittenMark] ?? 0);
    socket[kReadMark] = read;
    socket[kWrittenMark] = written;
  }

  get logger(): Logger {
    return this.settings.logger;
  }

  /** The matched route (only after `routeTo`). */
  get route(): ProxyRoute {
    return this.entry!;
  }

  /**
   * Takes the matched route: computes the upstream path (strip_path, path_handling, the
   * service's path), the request target and the upstream headers (X-Forwarded-*, Host).
   */
  routeTo(match: RouteMatch<ServiceTarget, Chain>): void {
    const entry = match.entry;
    this.entry = entry;
    this.prefixLength = match.prefixLength;
    this.captures = match.captures;
    this.target = entry.target;
    const servicePath = entry.target.servicePath;
    // The hot case (nothing stripped, no service path) builds no input record.
    const upPath =
      !entry.stripPath && servicePath === '/'
        ? this.path
        : upstreamPath({
            path: this.path,
            prefixLength: match.prefixLength,
            stripPath: entry.stripPath,
            pathHandling: entry.pathHandling,
            servicePath,
          });
    this.upstreamPath = upPath;
    const q = this.url.indexOf('?');
    this.upstreamUri = q < 0 ? upPath : upPath + this.url.slice(q);
    this.headers = upstreamRequestHeaders(this);
    if (this.hasBody) this.body = this.req;
  }

  /**
   * Sends the request to `target` instead (a plugin's alternate destination, same service): the
   * Host header follows unless the route preserves the client's.
   */
  retarget(target: ServiceTarget): void {
    this.target = target;
    if (!this.preservesHost) this.headers[1] = target.hostHeader;
  }

  /** The Host header is kept as it is: the client's (the route preserves it) or a plugin's. */
  get preservesHost(): boolean {
    return this.hostSet || (this.entry!.preserveHost && this.host !== undefined);
  }

  /** X-Forwarded-Prefix: the stripped prefix, or null when nothing was stripped. */
  get strippedPrefix(): string | null {
    return this.entry!.stripPath && this.prefixLength > 0 ? this.path.slice(0, this.prefixLength) : null;
  }

  /** X-Forwarded-Port: the port of the listener the request came in on. */
  get forwardedPort(): string {
    return this.secure ? this.settings.tlsForwardedPort : this.settings.forwardedPort;
  }
}

/** The size of an HTTP/2 response's header fields, counted as HTTP/1.1 lines. */
function headerObjectBytes(res: EdgeH2Response): number {
  if (typeof res.getHeaders !== 'function') return 0;
  const h = res.getHeaders();
  let n = 0;
  for (const name of Object.keys(h)) n += name.length + String(h[name]).length + 4;
  return n;
}

/** The first value of header `name` (lower case) in node's raw header array, or null. */
function firstHeader(raw: readonly string[], name: string): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === name.length && n.toLowerCase() === name) return raw[i + 1]!;
  }
  return null;
}
