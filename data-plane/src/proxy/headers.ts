/**
 * Header rewriting in both directions, on node's flat raw-header arrays ([name, value, …]) so that
 * node never builds `req.headers` and undici / `writeHead` get arrays they take as they are.
 *
 * Upstream request: hop-by-hop headers (RFC 9110 7.6.1) and those named in `Connection` are
 * removed; the client's framing headers (Transfer-Encoding, Expect, Upgrade) are never copied —
 * the body stream carries the framing — and Content-Length (validated by node's parser) is
 * passed on only as the length of the streamed body. X-Forwarded-* / X-Real-IP are set as Kong
 * sets them: X-Forwarded-For appended to; X-Forwarded-Proto/-Host/-Port/-Path/-Prefix replaced
 * by ours, except that a peer in `trusted_ips` (a load balancer in front) has the ones it sent
 * passed on (Kong's runloop: `if trusted_ip then forwarded_proto = get_header(...) or ...`); and
 * `Via` gets `1.1 gatehouse` appended. `Proxy` is never forwarded (httpoxy); `Forwarded`
 * (RFC 7239) only from a trusted peer — from anyone else it is dropped, as the X-Forwarded-* it
 * parallels are replaced.
 */
import { GATEHOUSE_VERSION } from '@gatehouse/shared/version';
import { hostWithoutPort } from '../router/host.js';
import type { ProxyRequest } from './request.js';
import type { RawHeaders } from './exchange.js';

const enum Kind {
  Drop = 1,
  Connection,
  XForwardedFor,
  Via,
  ContentLength,
  Host,
  Forwarded,
  /** X-Forwarded-Proto/-Host/-Port/-Path/-Prefix: a trusted peer's is kept, anyone else's dropped. */
  XForwardedProto,
  XForwardedHost,
  XForwardedPort,
  XForwardedPath,
  XForwardedPrefix,
}

const REQUEST_SPECIAL = new Map<string, Kind>([
  ['connection', Kind.Connection],
  ['keep-alive', Kind.Drop],
  ['proxy-connection', Kind.Drop],
  ['te', Kind.Drop],
  ['trailer', Kind.Drop],
  ['transfer-encoding', Kind.Drop],
  ['upgrade', Kind.Drop],
  ['expect', Kind.Drop],
  ['host', Kind.Host],
  ['content-length', Kind.ContentLength],
  ['x-forwarded-for', Kind.XForwardedFor],
  ['x-forwarded-proto', Kind.XForwardedProto],
  ['x-forwarded-host', Kind.XForwardedHost],
  ['x-forwarded-port', Kind.XForwardedPort],
  ['x-forwarded-path', Kind.XForwardedPath],
  ['x-forwarded-prefix', Kind.XForwardedPrefix],
  ['x-real-ip', Kind.Drop],
  ['via', Kind.Via],
  // httpoxy: CGI-style upstreams turn `Proxy` into HTTP_PROXY, their outbound proxy.
  ['proxy', Kind.Drop],
  ['forwarded', Kind.Forwarded],
]);

const RESPONSE_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** lengths[n] = 1 when some special name has n characters: other names skip the lookup. */
function lengthsOf(names: Iterable<string>): Uint8Array {
  const lengths = new Uint8Array(64);
  for (const n of names) lengths[n.length] = 1;
  return lengths;
}
const REQUEST_LENGTHS = lengthsOf(REQUEST_SPECIAL.keys());
const RESPONSE_LENGTHS = lengthsOf(RESPONSE_HOP_BY_HOP);

function requestKind(name: string): Kind | undefined {
  if (name.length >= 64 || REQUEST_LENGTHS[name.length] === 0) return undefined;
  return REQUEST_SPECIAL.get(name) ?? REQUEST_SPECIAL.get(name.toLowerCase());
}

export const VIA_REQUEST = '1.1 gatehouse';
export const VIA_RESPONSE = `1.1 gatehouse/${GATEHOUSE_VERSION}`;

/** Header names listed in a Connection value, other than the keep-alive/close options. */
function connectionTokens(value: string, into: Set<string> | null): Set<string> | null {
  // The common values name no header: skip the split.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return into;
  }
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'keep-alive' || name === 'close') continue;
    (into ??= new Set()).add(name);
  }
  return into;
}

function withoutNamed(headers: string[], names: Set<string>, from: number): string[] {
  const out = headers.slice(0, from);
  for (let i = from; i < headers.length; i += 2) {
    if (!names.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/**
 * Builds the upstream request's headers from the client's raw headers: Host (the client's when
 * the route preserves it, else the service's), X-Forwarded-For (the peer appended), X-Real-IP
 * (the client as resolved with trusted_ips), X-Forwarded-Proto/-Host/-Port/-Path/-Prefix (a
 * trusted peer's first value of each, else ours).
 */
export function upstreamRequestHeaders(request: ProxyRequest): string[] {
  const raw = request.rawHeaders;
  const host = request.host;
  const out: string[] = ['host', request.preservesHost ? host! : request.target.hostHeader];
  let xff: string | null = null;
  let via: string | null = null;
  let contentLength: string | null = null;
  let connectionNamed: Set<string> | null = null;
  const trusted = request.trustedPeer;
  let xfHost: string | null = null;
  let xfPort: string | null = null;
  let xfPath: string | null = null;
  let xfPrefix: string | null = null;

  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const kind = requestKind(name);
    if (kind === undefined) {
      out.push(name, raw[i + 1]!);
      continue;
    }
    switch (kind) {
      case Kind.Connection:
        connectionNamed = connectionTokens(raw[i + 1]!, connectionNamed);
        break;
      case Kind.XForwardedFor:
        xff = xff === null ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`;
        break;
      case Kind.Via:
        via = via === null ? raw[i + 1]! : `${via}, ${raw[i + 1]!}`;
        break;
      case Kind.ContentLength:
        contentLength ??= raw[i + 1]!;
        break;
      case Kind.Forwarded:
        if (trusted) out.push(name, raw[i + 1]!);
        break;
      case Kind.XForwardedHost:
        if (trusted) xfHost ??= raw[i + 1]!;
        break;
      case Kind.XForwardedPort:
        if (trusted) xfPort ??= raw[i + 1]!;
        break;
      case Kind.XForwardedPath:
        if (trusted) xfPath ??= raw[i + 1]!;
        break;
      case Kind.XForwardedPrefix:
        if (trusted) xfPrefix ??= raw[i + 1]!;
        break;
      default:
        break;
    }
  }

  const result = connectionNamed === null ? out : withoutNamed(out, connectionNamed, 2);
  result.push(
    'x-forwarded-for',
    xff === null ? request.peerIp : `${xff}, ${request.peerIp}`,
    'x-forwarded-proto',
    request.forwardedProto,
    'x-forwarded-host',
    xfHost ?? (host === undefined ? '' : hostWithoutPort(host)),
    'x-forwarded-port',
    xfPort ?? request.forwardedPort,
    'x-forwarded-path',
    xfPath ?? request.rawPath,
    'x-real-ip',
    request.clientIp,
    'via',
    via === null ? VIA_REQUEST : `${via}, ${VIA_REQUEST}`,
  );
  const prefix = xfPrefix ?? request.strippedPrefix;
  if (prefix !== null) result.push('x-forwarded-prefix', prefix);
  if (contentLength !== null) result.push('content-length', contentLength);
  return result;
}

const CONTENT_LENGTH = 'content-length';

/**
 * Sets Content-Length (in place) to the length of `body`, a body read whole (buffered, or read or
 * replaced by a plugin) that replaces the client's: added when absent, unless the body is empty
 * and the client sent none.
 */
export function withContentLength(headers: string[], body: Buffer, clientHasBody: boolean): string[] {
  const len = String(body.length);
  let found = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'content-length') {
      headers[i + 1] = len;
      found = true;
    }
  }
  if (!found && (body.length > 0 || clientHasBody)) headers.push('content-length', len);
  return headers;
}

/** A raw header field as text (a latin1 string is as the llhttp client read it). */
const latin1 = (field: Buffer | string): string =>
  typeof field === 'string' ? field : field.toString('latin1');

/**
 * The Content-Length of undici's raw response headers, or -1 (none, or not a plain decimal).
 * undici's parser has refused a response with two different ones.
 */
export function contentLengthOf(raw: RawHeaders): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 14 || latin1(name).toLowerCase() !== CONTENT_LENGTH) continue;
    const value = latin1(raw[i + 1]!);
    return /^\d{1,15}$/.test(value) ? Number(value) : -1;
  }
  return -1;
}

/**
 * Converts undici's raw response headers (Buffers) into the array given to `writeHead`, without
 * hop-by-hop headers, adding `Via`. Content-Length is kept (node then frames the body with it);
 * a chunked upstream response is re-chunked by node.
 */
export function downstreamResponseHeaders(raw: RawHeaders): string[] {
  const out: string[] = [];
  let connectionNamed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const nameBuf = raw[i]!;
    const len = nameBuf.length;
    const name = latin1(nameBuf);
    if (len < 64 && RESPONSE_LENGTHS[len] === 1) {
      const lower = name.toLowerCase();
      if (RESPONSE_HOP_BY_HOP.has(lower)) {
        if (lower === 'connection') connectionNamed = connectionTokens(latin1(raw[i + 1]!), connectionNamed);
        continue;
      }
    }
    out.push(name, latin1(raw[i + 1]!));
  }
  const result = connectionNamed === null ? out : withoutNamed(out, connectionNamed, 0);
  result.push('via', VIA_RESPONSE);
  return result;
}

/**
 * The head of a `101 Switching Protocols` answer to a WebSocket upgrade, from the upstream's 101:
 * the hop-by-hop headers dropped as for any response, except that `Upgrade` is kept (the
 * protocol switched to) and `Connection: Upgrade` sent, as the handshake needs (RFC 6455 4.2.2);
 * `Sec-WebSocket-Accept` / `-Protocol` / `-Extensions` pass as end-to-end headers. Only the
 * upgrade path calls it: every other response loses `Upgrade` (downstreamResponseHeaders).
 */
export function upgradeResponseHead(raw: RawHeaders): string {
  let upgrade = 'websocket';
  const kept: (Buffer | string)[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 7 && latin1(name).toLowerCase() === 'upgrade') {
      upgrade = latin1(raw[i + 1]!);
      continue;
    }
    kept.push(name, raw[i + 1]!);
  }
  const headers = downstreamResponseHeaders(kept);
  let head = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: ' + upgrade + '\r\nconnection: Upgrade\r\n';
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return head + '\r\n';
}

/**
 * A WebSocket opening handshake (RFC 6455 4.1): GET with `Upgrade: websocket` (a token of it,
 * any case). Other upgrades (h2c, TLS) are not switched to: those requests are proxied as plain
 * HTTP, their Upgrade dropped.
 */
export function isWebSocketUpgrade(method: string | undefined, raw: readonly string[]): boolean {
  if (method !== 'GET') return false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 7 || name.toLowerCase() !== 'upgrade') continue;
    for (const token of raw[i + 1]!.split(',')) if (token.trim().toLowerCase() === 'websocket') return true;
  }
  return false;
}
