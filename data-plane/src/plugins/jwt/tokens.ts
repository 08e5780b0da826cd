/** Finds the JWT of a request as Kong's jwt plugin: query arguments, then cookies, then headers. */
import { eachCookie } from '../../proxy/cookies.js';
import type { PluginContext } from '../api.js';

/** The token of `Bearer <token>` (case-insensitive scheme), or null. No regex backtracking. */
export function bearerToken(value: string): string | null {
  const v = value.trim();
  const sep = v.charCodeAt(6);
  if (v.length < 8 || (sep !== 32 && sep !== 9) || v.slice(0, 6).toLowerCase() !== 'bearer') return null;
  const token = v.slice(7).trim();
  return token === '' ? null : token;
}

function cookieValues(header: string | undefined, names: readonly string[]): string[] {
  if (header === undefined || names.length === 0) return [];
  const out: string[] = [];
  eachCookie(header, (name, value) => {
    if (names.includes(name)) out.push(value);
  });
  return out;
}

/** The distinct tokens of the request (Kong: more than one is an error). */
export function findTokens(
  ctx: PluginContext,
  conf: {
    uri_param_names: readonly string[];
    cookie_names: readonly string[];
    header_names: readonly string[];
  },
): string[] {
  const found = new Set<string>();
  const req = ctx.request;
  if (req.rawQuery !== '') {
    for (const name of conf.uri_param_names) {
      const values = req.query.getAll(name);
      if (values.length > 0) ctx.credentialInQuery(name);
      for (const v of values) if (v !== '') found.add(v);
    }
  }
  if (conf.cookie_names.length > 0) {
    const values = cookieValues(req.header('cookie'), conf.cookie_names);
    // The log plugins' entry writes the whole Cookie header as REDACTED when it carried a token.
    if (values.length > 0) ctx.credentialInHeader('cookie');
    for (const v of values) if (v !== '') found.add(v);
  }
  for (const name of conf.header_names) {
    const value = req.header(name);
    if (value === undefined) continue;
    ctx.credentialInHeader(name);
    // As Kong: every header in header_names carries `Bearer <token>`.
    const token = bearerToken(value);
    if (token !== null) found.add(token);
  }
  return [...found];
}
