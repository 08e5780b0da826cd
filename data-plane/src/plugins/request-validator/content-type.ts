/**
 * Media types as Kong's request-validator compares them: type, subtype and parameter names are
 * case-insensitive, the `charset` value too; other parameter values are compared as written.
 * `*` as subtype (`application/*`) or `*\/*` matches any (our extension).
 */
export interface MediaType {
  readonly type: string;
  readonly subtype: string;
  /** Sorted `name=value` pairs (names lower-case, charset value lower-case). */
  readonly params: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseMediaType(text: string): MediaType | null {
  const parts = text.split(';');
  const full = parts[0]!.trim().toLowerCase();
  const slash = full.indexOf('/');
  if (slash <= 0) return null;
  const type = full.slice(0, slash);
  const subtype = full.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return null;
  const params: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) return null;
    const name = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!TOKEN.test(name)) return null;
    params.push(`${name}=${name === 'charset' ? value.toLowerCase() : value}`);
  }
  params.sort();
  return { type, subtype, params: params.join(';') };
}

export function mediaTypeError(text: string): string | null {
  return parseMediaType(text) === null ? `invalid media type: '${text}'` : null;
}

/** True when `actual` is one of `allowed` (parameters compared when `withParams`). */
export function mediaTypeAllowed(
  actual: MediaType,
  allowed: readonly MediaType[],
  withParams: boolean,
): boolean {
  for (const a of allowed) {
    if (a.type !== '*' && a.type !== actual.type) continue;
    if (a.subtype !== '*' && a.subtype !== actual.subtype) continue;
    if (withParams && a.params !== actual.params) continue;
    return true;
  }
  return false;
}

/** Kong validates the body of `application/json` and of any `+json` subtype. */
export function isJson(m: MediaType): boolean {
  return m.type === 'application' && (m.subtype === 'json' || m.subtype.endsWith('+json'));
}
