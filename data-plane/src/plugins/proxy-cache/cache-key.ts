/**
 * Kong's proxy-cache key (kong/plugins/proxy-cache/cache_key.lua): the SHA-256 (hex) of
 * `prefix|method|uri|params|headers`, where the prefix is `consumer:route` on an authenticated
 * request, the route id otherwise; params are every query argument sorted by name (or only the
 * vary_query_params, in their order), headers only the vary_headers; each as `name=value`
 * (several values sorted and joined with ',', a bare argument as its name) joined with ':'.
 */
import crypto, { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** A query argument's values: `true` for a bare `name` (no `=`). */
export type QueryArgs = ReadonlyMap<string, readonly (string | true)[]>;

/** At most this many query arguments are read (nginx's get_uri_args default as Kong uses it). */
export const MAX_QUERY_ARGS = 100;

function decode(s: string): string {
  const plus = s.indexOf('+') >= 0 ? s.replace(/\+/g, ' ') : s;
  if (plus.indexOf('%') < 0) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/** The query string's arguments, decoded as nginx does (`+` is a space, a bad escape kept). */
export function parseQuery(rawQuery: string): QueryArgs {
  const args = new Map<string, (string | true)[]>();
  if (rawQuery === '') return args;
  let n = 0;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    if (++n > MAX_QUERY_ARGS) break;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    if (name === '') continue;
    const value: string | true = eq < 0 ? true : decode(part.slice(eq + 1));
    const list = args.get(name);
    if (list === undefined) args.set(name, [value]);
    else list.push(value);
  }
  return args;
}

function entry(field: string, values: readonly (string | true)[]): string {
  if (values.length === 1) return values[0] === true ? field : `${field}=${values[0]}`;
  const strings = values.map((v) => (v === true ? '' : v)).sort();
  return `${field}=${strings.join(',')}`;
}

/** Kong's params_key: all arguments sorted by name, or only `vary` (in its order). */
export function paramsKey(args: QueryArgs, vary: readonly string[] | null): string {
  const fields = vary !== null && vary.length > 0 ? vary : [...args.keys()].sort();
  const out: string[] = [];
  for (const f of fields) {
    const v = args.get(f);
    if (v !== undefined) out.push(entry(f, v));
  }
  return out.join(':');
}

/** Kong's headers_key: only the vary_headers (looked up case-insensitively), '' when none. */
export function headersKey(
  headerValues: (name: string) => readonly string[],
  vary: readonly string[] | null,
): string {
  if (vary === null || vary.length === 0) return '';
  const out: string[] = [];
  for (const f of vary) {
    const v = headerValues(f);
    if (v.length > 0) out.push(entry(f, v));
  }
  return out.join(':');
}

/** Kong's prefix_uuid: `consumer:route`, the route, or 'default'. */
export function prefixOf(consumerId: string | null, routeId: string | null): string {
  if (consumerId !== null && routeId !== null) return `${consumerId}:${routeId}`;
  return routeId ?? 'default';
}

/** crypto.hash (Node >= 20.12): one call, no Hash object. */
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

function sha256Hex(text: string): string {
  return oneShot === undefined
    ? createHash('sha256').update(text).digest('hex')
    : oneShot('sha256', text, 'hex');
}

/**
 * Keys already hashed, by their text: a returning request (every hit) costs a map lookup, not a
 * SHA-256. Bounded by the characters of the texts held (plus a fixed cost per entry).
 */
const hashed = new LRUCache<string, string>({
  maxSize: 4 * 1024 * 1024,
  sizeCalculation: (_hash, text) => text.length + 128,
});

export function buildCacheKey(
  prefix: string,
  method: string,
  uri: string,
  params: string,
  headers: string,
): string {
  const text = `${prefix}|${method}|${uri}|${params}|${headers}`;
  let key = hashed.get(text);
  if (key === undefined) {
    key = sha256Hex(text);
    hashed.set(text, key);
  }
  return key;
}
