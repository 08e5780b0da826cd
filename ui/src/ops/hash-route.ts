/**
 * The location hash as a route: `#/fleet/<id>?window=1h` is path `fleet`, segments `['<id>']`,
 * query `{window: '1h'}`. Whatever the hash holds (it is the user's to type), parsing never
 * throws: malformed percent-escapes are kept as typed, control characters are dropped, and the
 * number and length of segments are bounded.
 */
export interface HashRoute {
  /** The screen's path (first segment), '' for none. */
  path: string;
  /** The segments after the path, decoded. */
  sub: string[];
  query: Record<string, string>;
}

export const MAX_HASH_CHARS = 2048;
export const MAX_SEGMENTS = 8;
export const MAX_SEGMENT_CHARS = 256;
const MAX_QUERY_PARAMS = 16;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

function decode(s: string): string {
  let out: string;
  try {
    out = decodeURIComponent(s);
  } catch {
    out = s;
  }
  return out.replace(CONTROL, '').slice(0, MAX_SEGMENT_CHARS);
}

export function parseHash(hash: string): HashRoute {
  const raw = hash.slice(0, MAX_HASH_CHARS).replace(/^#/, '').replace(/^\/+/, '');
  const q = raw.indexOf('?');
  const pathPart = q === -1 ? raw : raw.slice(0, q);
  const queryPart = q === -1 ? '' : raw.slice(q + 1);
  const segments = pathPart
    .split('/')
    .filter((s) => s !== '')
    .slice(0, MAX_SEGMENTS + 1)
    .map(decode);
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const pair of queryPart.split('&').slice(0, MAX_QUERY_PARAMS)) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    if (!key || key === '__proto__') continue;
    query[key] = decode(eq === -1 ? '' : pair.slice(eq + 1));
  }
  return { path: segments[0] ?? '', sub: segments.slice(1), query };
}

/** The hash naming a screen and its segments (each encoded), with an optional query. */
export function hashFor(
  path: string,
  sub: readonly string[] = [],
  query: Record<string, string> = {},
): string {
  const segs = [path, ...sub].map((s) => encodeURIComponent(s)).join('/');
  const qs = Object.entries(query)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `#/${segs}${qs ? `?${qs}` : ''}`;
}
