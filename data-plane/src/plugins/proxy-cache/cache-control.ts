/**
 * Cache-Control as Kong's proxy-cache reads it (kong/tools/http.lua parse_directive_header and
 * calculate_resource_ttl): directives split on commas, names lower-cased, a value that reads as
 * a number is a number, any other value a string, a bare directive `true`.
 */

export type Directives = ReadonlyMap<string, number | string | true>;

const NONE: Directives = new Map();
const NUMBER = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)\s*$/;

/** The directives of Cache-Control header values (several values are joined with ', '). */
export function parseDirectives(values: readonly string[]): Directives {
  if (values.length === 0) return NONE;
  const out = new Map<string, number | string | true>();
  for (const value of values) {
    for (const part of value.split(',')) {
      const eq = part.indexOf('=');
      const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
      if (name === '') continue;
      const raw = eq < 0 ? '' : part.slice(eq + 1);
      out.set(name, raw === '' ? true : NUMBER.test(raw) ? Number(raw) : raw);
    }
  }
  return out;
}

/** A directive's value when it is a number (a bare or non-numeric one is not). */
export function numeric(cc: Directives, name: string): number | undefined {
  const v = cc.get(name);
  return typeof v === 'number' ? v : undefined;
}

/**
 * Kong's calculate_resource_ttl: s-maxage, else max-age, else Expires minus now; never below
 * 0, and 0 when none says (so with cache_control a response that states no lifetime is not
 * cached). `expires` is the last Expires header, `nowMs` the clock.
 */
export function resourceTtl(cc: Directives, expires: string | undefined, nowMs: number): number {
  let maxAge = numeric(cc, 's-maxage') ?? numeric(cc, 'max-age');
  if (maxAge === undefined && expires !== undefined) {
    const at = Date.parse(expires);
    if (Number.isFinite(at)) maxAge = Math.floor(at / 1000) - Math.floor(nowMs / 1000);
  }
  return maxAge === undefined ? 0 : Math.max(maxAge, 0);
}
