/**
 * CORS decisions as pure functions (Kong's cors plugin, kong/plugins/cors/handler.lua): the
 * configured origins are compiled once per plugin instance, then each request's Origin yields a
 * list of response-header operations. Differences from Kong, on purpose:
 * - an origin regex must match the whole subject (`^(?:re)$`); Kong anchors only the start and
 *   appends `$` to the last alternative, so `https://a.com|https://b.com` would also admit
 *   `https://a.com.evil.example`;
 * - scheme and host of origins are compared case-insensitively (RFC 6454 serialises them in
 *   lower case; Kong compares bytes).
 */
import { CORS_METHODS, type CorsConfig } from './schema.js';

/** One change to the response headers: set (replace), add (append a value), remove. */
export type HeaderOp =
  | { readonly op: 'set'; readonly name: string; readonly value: string }
  | { readonly op: 'add'; readonly name: string; readonly value: string }
  | { readonly op: 'remove'; readonly name: string };

interface NormalizedOrigin {
  /** scheme://host[:port] without a default port; the text itself when it has no authority. */
  readonly domain: string;
  readonly host: string;
}

type OriginRule =
  | { readonly kind: 'star' }
  | { readonly kind: 'regex'; readonly re: RegExp; readonly byHost: boolean }
  | { readonly kind: 'literal'; readonly domain: string };

export interface CompiledCors {
  readonly config: CorsConfig;
  /** No origins or just `*`: `Access-Control-Allow-Origin: *`. */
  readonly allowAll: boolean;
  /** A single plain origin: sent as is, whatever the request's Origin. */
  readonly fixedOrigin: string | null;
  readonly rules: readonly OriginRule[];
  readonly allowMethods: string;
  readonly allowHeaders: string | null;
  readonly exposeHeaders: string | null;
  readonly maxAge: string | null;
}

const PLAIN_ORIGIN = /^[A-Za-z0-9.:/-]+$/;
const AUTHORITY = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;

/** Kong's normalize_origin: scheme://host[:port] with the default port dropped. */
export function normalizeOrigin(origin: string): NormalizedOrigin {
  const m = AUTHORITY.exec(origin);
  if (m === null) return { domain: origin, host: origin };
  const scheme = m[1]!.toLowerCase();
  let authority = m[2]!;
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  let host = authority;
  let port: string | null = null;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close >= 0) {
      host = authority.slice(0, close + 1);
      if (authority.charCodeAt(close + 1) === 58) port = authority.slice(close + 2);
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    }
  }
  host = host.toLowerCase();
  if (port === '' || (scheme === 'http' && port === '80') || (scheme === 'https' && port === '443'))
    port = null;
  if (host === '') return { domain: origin, host: origin };
  return { domain: `${scheme}://${host}${port === null ? '' : `:${port}`}`, host };
}

/** Kong's test for "this origin entry is a regex": it has a character no plain origin has. */
export function isRegexOrigin(entry: string): boolean {
  return !PLAIN_ORIGIN.test(entry);
}

function compileRule(entry: string): OriginRule {
  if (entry === '*') return { kind: 'star' };
  if (isRegexOrigin(entry)) {
    let source = entry;
    if (source.startsWith('^')) source = source.slice(1);
    if (source.endsWith('$')) source = source.slice(0, -1);
    return { kind: 'regex', re: new RegExp(`^(?:${source})$`), byHost: !entry.includes(':') };
  }
  return { kind: 'literal', domain: normalizeOrigin(entry).domain };
}

export function compileCors(config: CorsConfig): CompiledCors {
  const origins = config.origins ?? [];
  const allowAll = origins.length === 0 || (origins.length === 1 && origins[0] === '*');
  const fixedOrigin =
    !allowAll && origins.length === 1 && PLAIN_ORIGIN.test(origins[0]!) ? origins[0]! : null;
  return {
    config,
    allowAll,
    fixedOrigin,
    rules: allowAll || fixedOrigin !== null ? [] : origins.map(compileRule),
    // An explicit null is kept (the default fills only an absent field), as in Kong.
    allowMethods: (config.methods ?? CORS_METHODS).join(','),
    allowHeaders: config.headers !== null && config.headers.length > 0 ? config.headers.join(',') : null,
    exposeHeaders:
      config.exposed_headers !== null && config.exposed_headers.length > 0
        ? config.exposed_headers.join(',')
        : null,
    maxAge: config.max_age === null ? null : String(config.max_age),
  };
}

function present(origin: string | undefined): origin is string {
  return origin !== undefined && origin !== '';
}

/**
 * Access-Control-Allow-Origin (+ Vary) for `origin`; returns whether every origin is allowed.
 * `appendVary`: in the response phase Vary is added to the upstream's, in a preflight it is set.
 */
function configureOrigin(
  c: CompiledCors,
  origin: string | undefined,
  appendVary: boolean,
  ops: HeaderOp[],
): boolean {
  if (c.allowAll) {
    ops.push({ op: 'set', name: 'Access-Control-Allow-Origin', value: '*' });
    return true;
  }
  ops.push({ op: appendVary ? 'add' : 'set', name: 'Vary', value: 'Origin' });
  if (c.fixedOrigin !== null) {
    ops.push({ op: 'set', name: 'Access-Control-Allow-Origin', value: c.fixedOrigin });
    return false;
  }
  if (present(origin)) {
    let normalized: NormalizedOrigin | null = null;
    for (const rule of c.rules) {
      if (rule.kind === 'star') {
        ops.push({ op: 'set', name: 'Access-Control-Allow-Origin', value: '*' });
        return true;
      }
      normalized ??= normalizeOrigin(origin);
      const found =
        rule.kind === 'regex'
          ? rule.re.test(rule.byHost ? normalized.host : normalized.domain)
          : normalized.domain === rule.domain;
      if (found) {
        ops.push({ op: 'set', name: 'Access-Control-Allow-Origin', value: normalized.domain });
        return false;
      }
    }
  }
  ops.push({ op: 'remove', name: 'Access-Control-Allow-Origin' });
  return false;
}

function configureCredentials(
  c: CompiledCors,
  allowAll: boolean,
  origin: string | undefined,
  appendVary: boolean,
  ops: HeaderOp[],
): void {
  if (!c.config.credentials) return;
  if (!allowAll) {
    ops.push({ op: 'set', name: 'Access-Control-Allow-Credentials', value: 'true' });
    return;
  }
  // `*` cannot go with credentials: echo the request's origin instead.
  if (present(origin)) {
    ops.push({ op: appendVary ? 'add' : 'set', name: 'Vary', value: 'Origin' });
    ops.push({ op: 'set', name: 'Access-Control-Allow-Origin', value: origin });
    ops.push({ op: 'set', name: 'Access-Control-Allow-Credentials', value: 'true' });
  }
}

export interface CorsRequest {
  method: string;
  origin: string | undefined;
  requestMethod: string | undefined;
  requestHeaders: string | undefined;
  requestPrivateNetwork: string | undefined;
}

/** A CORS preflight: OPTIONS with an Origin and Access-Control-Request-Method. */
export function isPreflight(req: CorsRequest): boolean {
  return req.method === 'OPTIONS' && present(req.origin) && req.requestMethod !== undefined;
}

/** The headers of the 200 answering a preflight (when preflight_continue is off). */
export function preflightHeaders(c: CompiledCors, req: CorsRequest): HeaderOp[] {
  const ops: HeaderOp[] = [];
  const allowAll = configureOrigin(c, req.origin, false, ops);
  configureCredentials(c, allowAll, req.origin, false, ops);
  if (c.allowHeaders !== null) {
    ops.push({ op: 'set', name: 'Access-Control-Allow-Headers', value: c.allowHeaders });
  } else if (req.requestHeaders !== undefined) {
    ops.push({ op: 'set', name: 'Access-Control-Allow-Headers', value: req.requestHeaders });
  }
  ops.push({ op: 'set', name: 'Access-Control-Allow-Methods', value: c.allowMethods });
  if (c.maxAge !== null) ops.push({ op: 'set', name: 'Access-Control-Max-Age', value: c.maxAge });
  if (c.config.private_network && req.requestPrivateNetwork === 'true')
    ops.push({ op: 'set', name: 'Access-Control-Allow-Private-Network', value: 'true' });
  return ops;
}

/** Headers added to a proxied (non-preflight) response; empty when nothing applies. */
export function responseHeaders(c: CompiledCors, origin: string | undefined): HeaderOp[] {
  if (!present(origin) && !c.config.allow_origin_absent) return [];
  const ops: HeaderOp[] = [];
  const allowAll = configureOrigin(c, origin, true, ops);
  configureCredentials(c, allowAll, origin, true, ops);
  if (c.exposeHeaders !== null)
    ops.push({ op: 'set', name: 'Access-Control-Expose-Headers', value: c.exposeHeaders });
  return ops;
}
