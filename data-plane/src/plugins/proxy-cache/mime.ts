/**
 * Media types as Kong's proxy-cache compares them (kong/tools/mime_type.lua): `type/subtype`
 * (lower-cased; `*` alone is any) with `;attribute=value` parameters (attribute lower-cased,
 * value as written, quotes removed). A response type matches a configured one when type and
 * subtype are equal (or `*`) and the parameters are exactly the same set.
 */

export interface MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const HEAD = new RegExp(`^(?:(${TOKEN})/(${TOKEN})|\\*)`);
const PARAM = new RegExp(
  `^[ \\t]*;[ \\t]*(${TOKEN})=(?:(${TOKEN})|"((?:[^"\\\\\\x00-\\x1f\\x7f]|\\\\[\\x00-\\x7f])*)")`,
);

/** Parses a media type; null when it is not one (then nothing matches it). */
export function parseMediaType(value: string): MediaType | null {
  const head = HEAD.exec(value);
  if (head === null) return null;
  const type = head[1] === undefined ? '*' : head[1].toLowerCase();
  const subtype = head[2] === undefined ? '*' : head[2].toLowerCase();
  const params = new Map<string, string>();
  let rest = value.slice(head[0].length);
  while (rest.length > 0) {
    const m = PARAM.exec(rest);
    if (m === null) return null;
    params.set(m[1]!.toLowerCase(), m[2] ?? m[3]!.replace(/\\(.)/g, '$1'));
    rest = rest.slice(m[0].length);
  }
  return { type, subtype, params };
}

/** Kong's content_type check of cacheable_response. */
export function mediaTypeMatches(actual: MediaType, expected: MediaType): boolean {
  if (expected.type !== '*' && actual.type !== expected.type) return false;
  if (expected.subtype !== '*' && actual.subtype !== expected.subtype) return false;
  if (actual.params.size !== expected.params.size) return false;
  for (const [k, v] of expected.params) if (actual.params.get(k) !== v) return false;
  return true;
}
