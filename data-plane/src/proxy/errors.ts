/**
 * Every response the proxy produces itself, and the one place that maps a failure to it.
 * Bodies are JSON (Kong's messages) and pre-encoded once; the error code travels in the
 * `x-gatehouse-error-code` response header. Request-path failures do not allocate Error objects:
 * they are codes looked up here.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { defineError } from '@gatehouse/shared/errors';
import { GATEHOUSE_VERSION } from '@gatehouse/shared/version';
import { isGrpcRequest, sendGrpcAnswer } from './grpc.js';
import { grpcWebKindOf, headerRecord, sendGrpcWebAnswer } from './grpc-web.js';

export const ProxyErrorCode = {
  NO_ROUTE: 'GH_ERR_PROXY_NO_ROUTE',
  BAD_REQUEST: 'GH_ERR_PROXY_BAD_REQUEST',
  /** A path the escaped-slash policy refuses (`proxy/path-policy.ts`). */
  BAD_PATH: 'GH_ERR_PROXY_BAD_PATH',
  /** Two Host headers, a Host that is not `host[:port]`, none on HTTP/1.1, a bad absolute-form authority. */
  BAD_HOST: 'GH_ERR_PROXY_BAD_HOST',
  /** An HTTP/0.9-style request line (no version). */
  BAD_VERSION: 'GH_ERR_PROXY_BAD_VERSION',
  /** Transfer-Encoding on an HTTP/1.0 request. */
  BAD_FRAMING: 'GH_ERR_PROXY_BAD_FRAMING',
  /** TRACE and CONNECT are never proxied. */
  METHOD_NOT_ALLOWED: 'GH_ERR_PROXY_METHOD_NOT_ALLOWED',
  HEADERS_TOO_LARGE: 'GH_ERR_PROXY_HEADERS_TOO_LARGE',
  HTTPS_REQUIRED: 'GH_ERR_PROXY_HTTPS_REQUIRED',
  UPSTREAM_UNAVAILABLE: 'GH_ERR_PROXY_UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'GH_ERR_PROXY_UPSTREAM_TIMEOUT',
  NO_PEER: 'GH_ERR_PROXY_NO_PEER',
  /** A service's host name does not resolve (no address cached: NXDOMAIN, no records, DNS down). */
  NAME_RESOLUTION: 'GH_ERR_PROXY_NAME_RESOLUTION',
  INTERNAL: 'GH_ERR_PROXY_INTERNAL',
  /** The client was too slow sending its request head or body (client_*_timeout): 408, closed. */
  REQUEST_TIMEOUT: 'GH_ERR_PROXY_REQUEST_TIMEOUT',
  /** No usable configuration yet (none received, no cache, or the cache refused): 503. */
  NO_CONFIG: 'GH_ERR_PROXY_NO_CONFIG',
  /** The worker sheds load (too many requests in flight, or its event loop too late): 503. */
  OVERLOADED: 'GH_ERR_PROXY_OVERLOADED',
  /** A body over a plugin's cap (`limitBody`, request-size-limiting): the connection is closed. */
  BODY_TOO_LARGE: 'GH_ERR_PLUGIN_BODY_TOO_LARGE',
  /** An auth plugin's `anonymous` names no consumer (Kong's 500, naming it). */
  ANONYMOUS_NOT_FOUND: 'GH_ERR_PLUGIN_ANONYMOUS_NOT_FOUND',
  /** The matched route has no service (Kong's 503, after the route's plugins ran). */
  NO_SERVICE: 'GH_ERR_PROXY_NO_SERVICE',
  /** A response body over a plugin's buffering cap (`limitResponseBody`, data-masking): 502. */
  RESPONSE_TOO_LARGE: 'GH_ERR_PLUGIN_RESPONSE_TOO_LARGE',
  /** A response a plugin must process and cannot (data-masking: unknown coding, too deep): 502. */
  RESPONSE_UNPROCESSABLE: 'GH_ERR_PLUGIN_RESPONSE_UNPROCESSABLE',
  /** A rate-limiting plugin's limit is reached (Kong's 429; `error_code`/`error_message` may replace both). */
  RATE_LIMITED: 'GH_ERR_PLUGIN_RATE_LIMITED',
  /** A response-aggregation call failed under the `fail` policy (502, naming the call). */
  AGGREGATION_FAILED: 'GH_ERR_PLUGIN_AGGREGATION_FAILED',
  /** The waf plugin's anomaly score reached its threshold in block mode: 403. */
  WAF_BLOCKED: 'GH_ERR_PLUGIN_WAF_BLOCKED',
} as const;
export type ProxyErrorCode = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];

/** Thrown by ProxyServer.apply() on a configuration it cannot compile (the old one stays). */
export const ProxyErrors = {
  invalidConfig: defineError('GH_ERR_PROXY_INVALID_CONFIG', 400),
  notListening: defineError('GH_ERR_PROXY_NOT_LISTENING', 500),
} as const;

interface ErrorResponse {
  readonly status: number;
  readonly message: string;
  readonly body: Buffer;
  readonly headers: readonly string[];
  /** The headers this answer adds to the JSON ones (e.g. `connection: close` on the 413). */
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** The raw HTTP/1.1 response, for errors answered on the socket (malformed requests). */
  readonly raw: Buffer;
}

const SERVER = `gatehouse/${GATEHOUSE_VERSION}`;
const CLOSE = ['connection', 'close'];

function errorResponse(
  code: ProxyErrorCode,
  status: number,
  message: string,
  extra: string[] = [],
): ErrorResponse {
  const body = Buffer.from(JSON.stringify({ message }));
  const headers = [
    'content-type',
    'application/json; charset=utf-8',
    'content-length',
    String(body.length),
    'server',
    SERVER,
    'x-gatehouse-error-code',
    code,
    ...extra,
  ];
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'connection') head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  }
  head += 'connection: close\r\n\r\n';
  const extraHeaders: Record<string, string> = {};
  for (let i = 0; i < extra.length; i += 2) extraHeaders[extra[i]!] = extra[i + 1]!;
  return {
    status,
    message,
    body,
    headers,
    extraHeaders: Object.freeze(extraHeaders),
    raw: Buffer.concat([Buffer.from(head, 'latin1'), body]),
  };
}

const RESPONSES: Record<ProxyErrorCode, ErrorResponse> = {
  [ProxyErrorCode.NO_ROUTE]: errorResponse(
    ProxyErrorCode.NO_ROUTE,
    404,
    'no Route matched with those values',
  ),
  [ProxyErrorCode.BAD_REQUEST]: errorResponse(ProxyErrorCode.BAD_REQUEST, 400, 'Bad request'),
  // The request-head refusals close the connection: what follows the head cannot be trusted.
  [ProxyErrorCode.BAD_PATH]: errorResponse(
    ProxyErrorCode.BAD_PATH,
    400,
    'Bad request: the path has an escaped slash or backslash, a double or invalid encoding, or a dot segment with parameters',
    CLOSE,
  ),
  [ProxyErrorCode.BAD_HOST]: errorResponse(
    ProxyErrorCode.BAD_HOST,
    400,
    'Bad request: the request needs exactly one valid Host (host[:port])',
    CLOSE,
  ),
  [ProxyErrorCode.BAD_VERSION]: errorResponse(
    ProxyErrorCode.BAD_VERSION,
    400,
    'Bad request: HTTP/0.9 requests are not supported',
    CLOSE,
  ),
  [ProxyErrorCode.BAD_FRAMING]: errorResponse(
    ProxyErrorCode.BAD_FRAMING,
    400,
    'Bad request: Transfer-Encoding is not allowed on HTTP/1.0',
    CLOSE,
  ),
  [ProxyErrorCode.METHOD_NOT_ALLOWED]: errorResponse(
    ProxyErrorCode.METHOD_NOT_ALLOWED,
    405,
    'Method not allowed',
    CLOSE,
  ),
  [ProxyErrorCode.HEADERS_TOO_LARGE]: errorResponse(
    ProxyErrorCode.HEADERS_TOO_LARGE,
    431,
    'Request header fields too large',
  ),
  [ProxyErrorCode.HTTPS_REQUIRED]: errorResponse(
    ProxyErrorCode.HTTPS_REQUIRED,
    426,
    'Please use HTTPS protocol',
    ['connection', 'Upgrade', 'upgrade', 'TLS/1.2, HTTP/1.1'],
  ),
  [ProxyErrorCode.UPSTREAM_UNAVAILABLE]: errorResponse(
    ProxyErrorCode.UPSTREAM_UNAVAILABLE,
    502,
    'An invalid response was received from the upstream server',
  ),
  [ProxyErrorCode.UPSTREAM_TIMEOUT]: errorResponse(
    ProxyErrorCode.UPSTREAM_TIMEOUT,
    504,
    'The upstream server is timing out',
  ),
  [ProxyErrorCode.NO_PEER]: errorResponse(
    ProxyErrorCode.NO_PEER,
    503,
    'failure to get a peer from the ring-balancer',
  ),
  // Kong's answer when a service host does not resolve (kong/runloop/balancer/init.lua).
  [ProxyErrorCode.NAME_RESOLUTION]: errorResponse(
    ProxyErrorCode.NAME_RESOLUTION,
    503,
    'name resolution failed',
  ),
  [ProxyErrorCode.INTERNAL]: errorResponse(ProxyErrorCode.INTERNAL, 500, 'An unexpected error occurred'),
  // Kong's message for 408 (kong/error_handlers.lua); the connection is closed after it.
  [ProxyErrorCode.REQUEST_TIMEOUT]: errorResponse(ProxyErrorCode.REQUEST_TIMEOUT, 408, 'Request timeout', [
    'connection',
    'close',
  ]),
  // Kong answers an empty router's 404 here; a 503 tells a load balancer to try another node.
  [ProxyErrorCode.NO_CONFIG]: errorResponse(ProxyErrorCode.NO_CONFIG, 503, 'no configuration yet'),
  // Ours (nginx/Kong have no load shedding): a client or load balancer may retry after a second.
  [ProxyErrorCode.OVERLOADED]: errorResponse(
    ProxyErrorCode.OVERLOADED,
    503,
    'The gateway is overloaded, please retry later',
    ['retry-after', '1'],
  ),
  [ProxyErrorCode.BODY_TOO_LARGE]: errorResponse(
    ProxyErrorCode.BODY_TOO_LARGE,
    413,
    'Request size limit exceeded',
    ['connection', 'close'],
  ),
  // Kong's message names the configured value (`{}`, see messageOf); the plugin answers it.
  [ProxyErrorCode.ANONYMOUS_NOT_FOUND]: errorResponse(
    ProxyErrorCode.ANONYMOUS_NOT_FOUND,
    500,
    "anonymous consumer {} is configured but doesn't exist",
  ),
  // kong/init.lua (access): a matched route without a service.
  [ProxyErrorCode.NO_SERVICE]: errorResponse(
    ProxyErrorCode.NO_SERVICE,
    503,
    'no Service found with those values',
  ),
  // Ours: a plugin that must see the whole response (data-masking) refuses to pass it unseen.
  [ProxyErrorCode.RESPONSE_TOO_LARGE]: errorResponse(
    ProxyErrorCode.RESPONSE_TOO_LARGE,
    502,
    'The upstream response is too large to be processed',
  ),
  [ProxyErrorCode.RESPONSE_UNPROCESSABLE]: errorResponse(
    ProxyErrorCode.RESPONSE_UNPROCESSABLE,
    502,
    'The upstream response could not be processed',
  ),
  // kong/plugins/rate-limiting/handler.lua: conf.error_code / conf.error_message (these defaults).
  [ProxyErrorCode.RATE_LIMITED]: errorResponse(ProxyErrorCode.RATE_LIMITED, 429, 'API rate limit exceeded'),
  // Ours (Kong has no aggregation): the message names the failed call and why (messageOf).
  [ProxyErrorCode.AGGREGATION_FAILED]: errorResponse(
    ProxyErrorCode.AGGREGATION_FAILED,
    502,
    // `{}`: "'<call>' failed: <why>".
    'aggregation call {}',
  ),
  // Ours (Kong OSS has no WAF): the message of Kong's other refusals (bot-detection, acl).
  [ProxyErrorCode.WAF_BLOCKED]: errorResponse(ProxyErrorCode.WAF_BLOCKED, 403, 'Forbidden'),
};

/** The answer for `code` (status, Kong message, header array, body), as `sendError` writes it. */
export function errorResponseOf(code: ProxyErrorCode): Readonly<Omit<ErrorResponse, 'raw'>> {
  return RESPONSES[code];
}

/** The table's message for `code`, `{}` replaced by `subject` (answers that name what failed). */
export function messageOf(code: ProxyErrorCode, subject?: string): string {
  const message = RESPONSES[code].message;
  return subject === undefined ? message : message.replace('{}', () => subject);
}

/**
 * True when the request of `res` announced a body that is not read in full: a gateway answer
 * given now closes the connection (`Connection: close`, then a lingering close that discards
 * the rest of the body within a bound), instead of reading an unbounded body to keep it alive.
 */
export function bodyUnread(req: IncomingMessage | undefined): boolean {
  if (req === undefined || req.complete) return false;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return raw[i + 1]!.trim() !== '0';
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

/**
 * Writes the error response for `code`, or destroys the response if headers are already out.
 * With the request body still unread the connection is closed after the answer (see bodyUnread).
 * `headers` replaces the table's headers (a route's response phase added to a copy of them).
 * A gRPC request gets the answer as gRPC (proxy/grpc.ts): HTTP 200, `grpc-status` derived from
 * the table's status, `grpc-message` the table's message (in the trailers once the head is out).
 * A gRPC-Web request gets it in gRPC-Web form (proxy/grpc-web.ts), with the response phase's headers.
 */
export function sendError(res: ServerResponse, code: ProxyErrorCode, headers?: readonly string[]): void {
  if (isGrpcRequest(res.req)) {
    const r = RESPONSES[code];
    sendGrpcAnswer(res, r.status, r.message, { 'x-gatehouse-error-code': code, server: SERVER });
    return;
  }
  const web = grpcWebKindOf(res.req);
  if (web !== 0) {
    const r = RESPONSES[code];
    if (bodyUnread(res.req)) res.shouldKeepAlive = false;
    sendGrpcWebAnswer(res, web, r.status, r.message, headerRecord(headers ?? r.headers));
    return;
  }
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  const r = RESPONSES[code];
  if (bodyUnread(res.req)) res.shouldKeepAlive = false;
  res.writeHead(r.status, (headers ?? r.headers) as string[]);
  res.end(r.body);
}

/**
 * Kong's answer to a plain-HTTP request on an https-only route whose
 * `https_redirect_status_code` is a redirect (301/302/307/308): `Location: https://<host><uri>`
 * (the request host without its port), no body.
 */
export function sendHttpsRedirect(res: ServerResponse, status: number, location: string): void {
  if (bodyUnread(res.req)) res.shouldKeepAlive = false;
  res.writeHead(status, [
    'location',
    location,
    'content-length',
    '0',
    'server',
    SERVER,
    'x-gatehouse-error-code',
    ProxyErrorCode.HTTPS_REQUIRED,
  ]);
  res.end();
}

/** The raw response for `code`, written straight to a socket (no ServerResponse exists). */
export function rawErrorResponse(code: ProxyErrorCode): Buffer {
  return RESPONSES[code].raw;
}

/** The raw response written straight to the socket for a request node could not parse. */
export function rawClientErrorResponse(nodeErrorCode: string | undefined): Buffer {
  return (
    nodeErrorCode === 'HPE_HEADER_OVERFLOW'
      ? RESPONSES[ProxyErrorCode.HEADERS_TOO_LARGE]
      : RESPONSES[ProxyErrorCode.BAD_REQUEST]
  ).raw;
}

/** undici / socket codes of an upstream that timed out (504; a passive-health timeout). */
export const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
/** undici codes of a request undici refused to send as it is (400; never the target's fault). */
export const BAD_REQUEST_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

/** Maps a failure of the upstream exchange (undici or socket error) to the response code. */
export function upstreamErrorCode(err: unknown): ProxyErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return ProxyErrorCode.UPSTREAM_TIMEOUT;
    if (code === ProxyErrorCode.NO_PEER) return ProxyErrorCode.NO_PEER;
    if (code === ProxyErrorCode.NAME_RESOLUTION) return ProxyErrorCode.NAME_RESOLUTION;
    if (BAD_REQUEST_CODES.has(code)) return ProxyErrorCode.BAD_REQUEST;
  }
  return ProxyErrorCode.UPSTREAM_UNAVAILABLE;
}
