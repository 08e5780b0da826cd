/**
 * Kong's HMAC signing string and its reading of `hmac username="…", algorithm="…", headers="…",
 * signature="…"` (kong/plugins/hmac-auth/access.lua).
 */
import { createHmac } from 'node:crypto';

export interface HmacParams {
  username: string;
  algorithm: string;
  /** The signed header names as the client listed them (split on single spaces, as Kong). */
  headers: string[];
  signature: string;
}

/** PCRE's `\s`: what Kong's pattern skips between the fields. */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

function skipSpaces(value: string, at: number): number {
  while (at < value.length && isSpace(value.charCodeAt(at))) at++;
  return at;
}

/**
 * Where each `",<spaces>name="` of `value` starts and where the value after it starts, in order.
 */
function delimiters(value: string, name: string): { at: number; after: number }[] {
  const out: { at: number; after: number }[] = [];
  const key = `${name}="`;
  for (let at = value.indexOf('",'); at >= 0; at = value.indexOf('",', at + 1)) {
    const k = skipSpaces(value, at + 2);
    if (value.startsWith(key, k)) out.push({ at, after: k + key.length });
  }
  return out;
}

/**
 * Reads the value as Kong's pattern does, without its backtracking:
 * `\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",\s*signature="(.+)"`,
 * searched anywhere in the value (so `"hmac username=…`, with a stray quote, and `hmacusername=`
 * pass), every field required, in that order, each `(.+)` greedy (the last delimiter that still
 * lets the rest match wins; the signature runs to the value's last `"`). No lower-casing: the
 * algorithm and the header names are compared and signed as sent. Null when it does not match.
 */
export function parseHmacAuthorization(value: string | undefined): HmacParams | null {
  if (value === undefined) return null;
  const lastQuote = value.lastIndexOf('"');
  // Greedy groups take the last delimiter that leaves the fields after it at least one character.
  const signatureAt = delimiters(value, 'signature').findLast((d) => d.after < lastQuote);
  if (signatureAt === undefined) return null;
  const headersAt = delimiters(value, 'headers').findLast((d) => d.after < signatureAt.at);
  if (headersAt === undefined) return null;
  const algorithmAt = delimiters(value, 'algorithm').findLast((d) => d.after < headersAt.at);
  if (algorithmAt === undefined) return null;
  // The leftmost `[Hh]mac<spaces>username="` leaving the username at least one character.
  const scheme = /[Hh]mac/g;
  for (let m = scheme.exec(value); m !== null && m.index < algorithmAt.at; m = scheme.exec(value)) {
    const u = skipSpaces(value, m.index + 4);
    const start = u + 'username="'.length;
    if (value.startsWith('username="', u) && start < algorithmAt.at) {
      return {
        username: value.slice(start, algorithmAt.at),
        algorithm: value.slice(algorithmAt.after, headersAt.at),
        headers: value.slice(headersAt.after, signatureAt.at).split(' '),
        signature: value.slice(signatureAt.after, lastQuote),
      };
    }
    scheme.lastIndex = m.index + 1;
  }
  return null;
}

const DIGESTS: Record<string, string> = {
  'hmac-sha1': 'sha1',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
};

export interface SigningRequest {
  method: string;
  /** Path with query string, as sent. */
  target: string;
  /** The request's HTTP version (`1.1`, `1.0`, `2.0`). */
  httpVersion: string;
  header(name: string): string | undefined;
}

/** Kong's `HTTP/%.01f` of the request's version. */
function versionOf(httpVersion: string): string {
  const v = Number(httpVersion);
  return Number.isFinite(v) ? v.toFixed(1) : httpVersion;
}

/**
 * Kong's signing string: one line per listed header, `name: value` (the name as listed);
 * `request-line` (`GET /path?query HTTP/1.1`) and `@request-target` (`@request-target: get
 * /path?query`) when no such header was sent; `name:` for a header that is missing.
 */
export function signingString(req: SigningRequest, headers: readonly string[]): string {
  const lines: string[] = [];
  for (const h of headers) {
    const v = req.header(h);
    if (v !== undefined) lines.push(`${h}: ${v}`);
    else if (h === '@request-target') lines.push(`${h}: ${req.method.toLowerCase()} ${req.target}`);
    else if (h === 'request-line')
      lines.push(`${req.method} ${req.target} HTTP/${versionOf(req.httpVersion)}`);
    else lines.push(`${h}:`);
  }
  return lines.join('\n');
}

/** The signature bytes, or null for an unknown algorithm. */
export function sign(algorithm: string, secret: string, data: string): Buffer | null {
  const d = DIGESTS[algorithm];
  return d === undefined ? null : createHmac(d, secret).update(data).digest();
}
