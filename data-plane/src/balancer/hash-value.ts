/**
 * The value a consistent-hashing upstream hashes for a request (Kong's get_value_to_hash):
 * `hash_on`, then `hash_fallback` when the first gives nothing, then "" (every request to the
 * same point). A missing `cookie` is created: the response then sets it (`setCookie`).
 */
import { randomUUID } from 'node:crypto';
import type { HashOn, Upstream } from '@gatehouse/shared';
import { eachCookie } from '../proxy/cookies.js';

export interface HashRequest {
  readonly clientIp: string;
  readonly rawHeaders: readonly string[];
  /** Normalised request path (no query). */
  readonly path: string;
  /** The query string without `?`, or "". */
  readonly query: string;
  /** Router regex captures (numbered and named), or null. */
  readonly captures: Readonly<Record<string, string | undefined>> | null;
  /** Authenticated consumer id (or credential id), when a plugin set one. */
  readonly consumerId: string | undefined;
}

export interface HashValue {
  value: string;
  /** `Set-Cookie` value to add to the response, when the hash cookie was created. */
  setCookie: string | null;
}

function header(raw: readonly string[], name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name)
      out = out === undefined ? raw[i + 1]! : `${out}, ${raw[i + 1]!}`;
  }
  return out;
}

function cookie(raw: readonly string[], name: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 6 || raw[i]!.toLowerCase() !== 'cookie') continue;
    if (eachCookie(raw[i + 1]!, (n, v) => n === name && ((found = v), true))) return found;
  }
  return undefined;
}

function queryArg(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  const values: string[] = [];
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      value = eq < 0 ? 'true' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      continue;
    }
    if (key === name) values.push(value);
  }
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values.sort().join(',');
}

function valueFor(
  on: HashOn,
  upstream: Upstream,
  req: HashRequest,
  fallback: boolean,
  out: HashValue,
): string | undefined {
  switch (on) {
    case 'consumer':
      return req.consumerId;
    case 'ip':
      return req.clientIp;
    case 'header': {
      const name = fallback ? upstream.hash_fallback_header : upstream.hash_on_header;
      return name === null ? undefined : header(req.rawHeaders, name.toLowerCase());
    }
    case 'cookie': {
      const name = upstream.hash_on_cookie;
      if (name === null) return undefined;
      const found = cookie(req.rawHeaders, name);
      if (found !== undefined) return found;
      const created = randomUUID();
      out.setCookie = `${name}=${created}; Path=${upstream.hash_on_cookie_path}; Same-Site=Lax; HttpOnly`;
      return created;
    }
    case 'path':
      return req.path;
    case 'query_arg': {
      const name = fallback ? upstream.hash_fallback_query_arg : upstream.hash_on_query_arg;
      return name === null ? undefined : queryArg(req.query, name);
    }
    case 'uri_capture': {
      const name = fallback ? upstream.hash_fallback_uri_capture : upstream.hash_on_uri_capture;
      return name === null || req.captures === null ? undefined : req.captures[name];
    }
    default:
      return undefined;
  }
}

export function hashValue(upstream: Upstream, req: HashRequest): HashValue {
  const out: HashValue = { value: '', setCookie: null };
  if (upstream.hash_on === 'none') return out;
  const first = valueFor(upstream.hash_on, upstream, req, false, out);
  if (first !== undefined) {
    out.value = first;
    return out;
  }
  if (upstream.hash_fallback !== 'none') {
    const second = valueFor(upstream.hash_fallback, upstream, req, true, out);
    if (second !== undefined) out.value = second;
  }
  return out;
}
