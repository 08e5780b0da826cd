/**
 * The checks on a request's line and head that node's parser (llhttp) lets through, made once
 * before the request is routed. Each refusal is a code of the error table (`proxy/errors.ts`):
 *
 * - an HTTP/0.9-style request line (`GET /` with no version) → 400; `Transfer-Encoding` on an
 *   HTTP/1.0 request (framing a 1.0 peer cannot mean, RFC 9112 §6.1) → 400;
 * - `TRACE` → 405 (it echoes the request, cookies and credentials included: cross-site tracing);
 * - the target must be origin-form (`/path`) or absolute-form with an `http`/`https` scheme and
 *   an authority without userinfo; an absolute-form target gives the host (RFC 9112 §3.2.2: the
 *   Host header is then ignored);
 * - Host: exactly one on HTTP/1.1 (none on 1.0 is fine); two, or one that is not `host[:port]`
 *   (a `/`, space, `@` userinfo, `\`, …) → 400;
 * - the path goes through the escaped-slash policy (`path-policy.ts`);
 * - header names with `_` are dropped unless allowed (nginx's `underscores_in_headers off`):
 *   CGI-style upstreams map `X_Consumer_ID` and `X-Consumer-ID` to one variable, so a client's
 *   underscore form would slip past the gateway's clearing of the dash form.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyErrorCode, rawErrorResponse } from './errors.js';
import { resolveRequestPath, type PathEscapedSlashesAction } from './path-policy.js';

/** The request-line and header rules an operator can choose (DP settings). */
export interface RequestPolicy {
  /** Escaped `/` and `\` in paths: `reject` (default), `unescape` or `keep` (see path-policy.ts). */
  readonly pathEscapedSlashes: PathEscapedSlashesAction;
  /** Keep header names with underscores (default false: dropped, as nginx does). */
  readonly underscoresInHeaders: boolean;
}

export const DEFAULT_REQUEST_POLICY: RequestPolicy = Object.freeze({
  pathEscapedSlashes: 'reject',
  underscoresInHeaders: false,
});

/** What the proxy routes: the request's target, path and host once the checks passed. */
export interface RequestHead {
  /** The request target in origin form (`/path?query`), as the client sent it. */
  readonly url: string;
  /** The path as the client sent it, without the query string. */
  readonly rawPath: string;
  /** The query string without `?` ("" when none). */
  readonly rawQuery: string;
  /** The path routes match and the upstream gets (normalised, policy applied). */
  readonly path: string;
  /** The host (from an absolute-form target, else the Host header; may carry a port). */
  readonly host: string | undefined;
  /** The client's headers, less the dropped ones (node's flat [name, value, …] array). */
  readonly rawHeaders: readonly string[];
}

const SLASH = 47;

/** True for a `host[:port]` with a reg-name, IPv4 or bracketed IPv6 host (RFC 3986 §3.2.2). */
export function isValidHost(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > 1024) return false;
  let i = 0;
  if (value.charCodeAt(0) === 91 /* [ */) {
    const close = value.indexOf(']');
    if (close < 2) return false;
    for (let j = 1; j < close; j++) {
      const c = value.charCodeAt(j);
      const ok = (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46;
      if (!ok) return false;
    }
    i = close + 1;
  } else {
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c === 58 /* : */) break;
      const ok =
        (c >= 97 && c <= 122) ||
        (c >= 65 && c <= 90) ||
        (c >= 48 && c <= 57) ||
        // - . _ ~ ! $ & ' ( ) * + , ; = %
        c === 45 ||
        c === 46 ||
        c === 95 ||
        c === 126 ||
        c === 33 ||
        c === 36 ||
        (c >= 37 && c <= 44) ||
        c === 59 ||
        c === 61;
      if (!ok) return false;
    }
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (value.charCodeAt(i) !== 58) return false;
  if (n - i - 1 > 5) return false;
  for (let j = i + 1; j < n; j++) {
    const c = value.charCodeAt(j);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** `value` is `http` or `https`, any case. */
function isHttpScheme(value: string): boolean {
  const s = value.toLowerCase();
  return s === 'http' || s === 'https';
}

function withoutUnderscoreNames(raw: readonly string[]): readonly string[] {
  let out: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.indexOf('_') >= 0) {
      out ??= raw.slice(0, i);
      continue;
    }
    out?.push(name, raw[i + 1]!);
  }
  return out ?? raw;
}

/** True when `name` (any case) is `len` characters long and equals the lower-case `lower`. */
function isName(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/**
 * The request's head once every check passed, or the error-table code of the first refusal.
 * `req.url` is what node parsed (never null for a request it emitted).
 */
export function readRequestHead(req: IncomingMessage, policy: RequestPolicy): RequestHead | ProxyErrorCode {
  if (req.httpVersionMajor !== 1)
    return req.httpVersionMajor === 2 ? readH2RequestHead(req, policy) : ProxyErrorCode.BAD_VERSION;
  if (req.method === 'TRACE') return ProxyErrorCode.METHOD_NOT_ALLOWED;
  const raw = req.rawHeaders;
  let host: string | undefined;
  let hosts = 0;
  let underscores = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4) {
      if (isName(name, 'host')) {
        hosts++;
        host = raw[i + 1]!;
      }
    } else if (name.length === 17) {
      if (req.httpVersionMinor === 0 && isName(name, 'transfer-encoding')) return ProxyErrorCode.BAD_FRAMING;
    }
    if (!underscores && name.indexOf('_') >= 0) underscores = true;
  }
  if (hosts > 1) return ProxyErrorCode.BAD_HOST;
  if (host !== undefined && !isValidHost(host)) return ProxyErrorCode.BAD_HOST;

  let url = req.url ?? '';
  if (url.charCodeAt(0) !== SLASH) {
    // Absolute form: scheme "://" authority [path-abempty] [? query].
    const sep = url.indexOf('://');
    if (sep <= 0 || !isHttpScheme(url.slice(0, sep))) return ProxyErrorCode.BAD_REQUEST;
    let end = sep + 3;
    while (end < url.length) {
      const c = url.charCodeAt(end);
      if (c === SLASH || c === 63 /* ? */ || c === 35 /* # */) break;
      end++;
    }
    const authority = url.slice(sep + 3, end);
    if (!isValidHost(authority)) return ProxyErrorCode.BAD_HOST;
    host = authority;
    const rest = url.slice(end);
    url = rest.charCodeAt(0) === SLASH ? rest : `/${rest}`;
  } else if (host === undefined && req.httpVersionMinor >= 1) {
    return ProxyErrorCode.BAD_HOST;
  }

  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const path = resolveRequestPath(rawPath, policy.pathEscapedSlashes);
  if (path === null) return ProxyErrorCode.BAD_PATH;
  return {
    url,
    rawPath,
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    path,
    host,
    rawHeaders: underscores && !policy.underscoresInHeaders ? withoutUnderscoreNames(raw) : raw,
  };
}

/**
 * The server's `connect` listener: a CONNECT request (a tunnel) is answered 405 from the error
 * table. Without a listener node would close the connection with no answer.
 */
export function refuseConnect(this: void, _req: IncomingMessage, socket: Duplex): void {
  if (socket.writable) socket.end(rawErrorResponse(ProxyErrorCode.METHOD_NOT_ALLOWED));
  else socket.destroy();
}

/**
 * The head of an HTTP/2 request (node's compatibility request: `rawHeaders` starts with the
 * pseudo-headers). What the rest of the proxy reads is made the HTTP/1.1 way: the pseudo-headers
 * are dropped, the host comes from `:authority` (else a Host header; two different ones, or
 * neither, → 400) and leads the headers as `host`, and the `cookie` fields an HTTP/2 client may
 * split (RFC 9113 §8.2.3) are joined with "; " into one, as an HTTP/1.1 upstream expects. node's
 * nghttp2 glue has already refused upper-case names, connection-specific headers and a missing or
 * malformed `:method`/`:path` (stream reset). The target must be origin-form (`*` → 400, as on
 * HTTP/1.1).
 */
export function readH2RequestHead(req: IncomingMessage, policy: RequestPolicy): RequestHead | ProxyErrorCode {
  if (req.method === 'TRACE') return ProxyErrorCode.METHOD_NOT_ALLOWED;
  const raw = req.rawHeaders;
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  let cookieAt = -1;
  const out: string[] = ['host', ''];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') authority = value;
      continue;
    }
    if (name === 'host') {
      if (host !== undefined && host !== value) return ProxyErrorCode.BAD_HOST;
      host = value;
      continue;
    }
    if (name === 'cookie') {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      if (cookieAt < 0) {
        cookieAt = out.length;
        out.push(name, '');
      }
      continue;
    }
    if (!policy.underscoresInHeaders && name.indexOf('_') >= 0) continue;
    out.push(name, value);
  }
  if (authority !== undefined && host !== undefined && authority !== host) return ProxyErrorCode.BAD_HOST;
  const h = authority ?? host;
  if (h === undefined || !isValidHost(h)) return ProxyErrorCode.BAD_HOST;
  out[1] = h;
  if (cookie !== undefined) out[cookieAt + 1] = cookie;
  const url = req.url ?? '';
  if (url.charCodeAt(0) !== SLASH) return ProxyErrorCode.BAD_REQUEST;
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const path = resolveRequestPath(rawPath, policy.pathEscapedSlashes);
  if (path === null) return ProxyErrorCode.BAD_PATH;
  return { url, rawPath, rawQuery: q < 0 ? '' : url.slice(q + 1), path, host: h, rawHeaders: out };
}
