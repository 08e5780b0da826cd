/**
 * Reading a request's Cookie headers, in one place for every part of the data plane that looks a
 * cookie up (the balancer's `hash_on: cookie`, the jwt plugin's `cookie_names`, the canary's
 * cookie options): a header is `name=value` pairs split on `;` (RFC 6265), name and value
 * trimmed; a part without `=` or with an empty name is skipped. Values are returned as sent
 * (quotes kept); a caller that wants a quoted value without its quotes uses `unquote`.
 */

/** Calls `visit(name, value)` for each pair of one Cookie header until it returns true. */
export function eachCookie(header: string, visit: (name: string, value: string) => boolean | void): boolean {
  let start = 0;
  while (start <= header.length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq > start && eq < end) {
      const name = header.slice(start, eq).trim();
      if (name !== '' && visit(name, header.slice(eq + 1, end).trim()) === true) return true;
    }
    start = end + 1;
  }
  return false;
}

/** The value of the first cookie `name` in `headers` (each a Cookie header's value), or undefined. */
export function cookieValue(headers: Iterable<string>, name: string): string | undefined {
  let found: string | undefined;
  for (const header of headers) {
    if (eachCookie(header, (n, v) => n === name && ((found = v), true))) return found;
  }
  return undefined;
}

/** A value in double quotes without them (RFC 6265 allows a quoted cookie value); others as they are. */
export const unquote = (v: string): string =>
  v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
