/**
 * Kong's parse_header (kong/plugins/response-ratelimiting/header_filter.lua): the upstream's
 * `X-Kong-Limit: videos=1, images=2` lists `name=amount` pairs (several header lines: one pair
 * each, not split on commas, as Kong reads a repeated header); a pair counts only when it has
 * exactly one `=`, names a configured limit and its amount is a base-10 integer (Kong's
 * `tonumber(v, 10)`); a later pair for the same name wins.
 */
const INTEGER = /^-?\d{1,15}$/;

export function parseIncrements(values: readonly string[], known: ReadonlySet<string>): Map<string, number> {
  const out = new Map<string, number>();
  if (values.length === 0) return out;
  const parts = values.length === 1 ? values[0]!.split(',') : values;
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.indexOf('=', eq + 1) >= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!known.has(name)) continue;
    const amount = part.slice(eq + 1).trim();
    if (INTEGER.test(amount)) out.set(name, Number(amount));
    else out.delete(name);
  }
  return out;
}
