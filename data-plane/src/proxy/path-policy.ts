/**
 * What the proxy does with a request path before routing, so that the path a route matches is the
 * path its upstream resolves: the route matched by prefix `/public` can never forward a path that
 * a decoding upstream resolves outside `/public`.
 *
 * Every mode normalises as Kong 3.x does before matching (`router/normalize.ts`: unreserved
 * characters percent-decoded, dot segments — also `%2e` — removed, `//` merged), and the
 * normalised path is both what routes match and what is forwarded. The mode (Envoy's
 * `path_with_escaped_slashes_action`) says what happens to escaped slashes and backslashes:
 *
 * - `reject` (default, Envoy's REJECT_REQUEST): `%2F`, `%5C` (any case) and a raw `\` → 400.
 * - `unescape` (Envoy's UNESCAPE_AND_FORWARD with `normalize_path`): `%2F`, `%5C` and `\` become
 *   `/`, then the path is normalised (so `/public/..%2Fadmin` is `/admin` and routes as such).
 * - `keep` (Envoy's KEEP_UNCHANGED; what Gatehouse did before): escapes are data, no check below.
 *
 * In `reject` and `unescape` these are refused too (400), each a known way past a prefix check
 * of a gateway in front of an upstream that decodes differently:
 * - a double encoding: `%25` followed by two hex digits (`%252e%252e`, `%252f`); one decode gives
 *   a new escape, which an upstream that decodes twice (or a second proxy) turns into `.`/`/`;
 * - `%00`, and a `%` not followed by two hex digits (decoders disagree on both);
 * - overlong UTF-8 (`%C0`, `%C1`, `%E0%80`–`%E0%9F`, `%F0%80`–`%F0%8F`): never valid UTF-8; lax
 *   decoders map `%c0%af` to `/` and `%c0%ae` to `.`;
 * - a dot segment with parameters (`..;x`, `.;`): Tomcat and Spring drop `;…` and resolve `..`;
 *   likewise a segment that is only parameters (`/;x/admin`, which they read as `/admin`), and
 *   both with the `;` escaped (`..%3B`: Spring decodes before it drops parameters);
 * - a raw `#` (a fragment is never part of a request target, RFC 9112 §3.2).
 */

import { normalizePath } from '../router/normalize.js';

export const PATH_ESCAPED_SLASHES_ACTIONS = ['reject', 'unescape', 'keep'] as const;
export type PathEscapedSlashesAction = (typeof PATH_ESCAPED_SLASHES_ACTIONS)[number];

const PERCENT = 37;
const BACKSLASH = 92;
const HASH = 35;
const SEMICOLON = 59;
const SLASH = 47;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The byte of the escape at `i` (`%XX`), or -1 when `i` holds no valid escape. */
function escapeAt(path: string, i: number): number {
  if (path.charCodeAt(i) !== PERCENT || i + 2 >= path.length) return -1;
  const hi = hexValue(path.charCodeAt(i + 1));
  const lo = hexValue(path.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** True when the raw path holds `%2F`, `%5C` (any case) or a raw backslash. */
function hasEscapedSlash(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === BACKSLASH) return true;
    if (c === PERCENT) {
      const b = escapeAt(path, i);
      if (b === 0x2f || b === 0x5c) return true;
    }
  }
  return false;
}

/** `%2F`, `%5C` (any case) and `\` replaced by `/`. */
function unescapeSlashes(path: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === BACKSLASH) {
      out += path.slice(last, i) + '/';
      last = i + 1;
    } else if (c === PERCENT) {
      const b = escapeAt(path, i);
      if (b === 0x2f || b === 0x5c) {
        out += path.slice(last, i) + '/';
        last = i + 3;
        i += 2;
      }
    }
  }
  return last === 0 ? path : out + path.slice(last);
}

/**
 * True when the (normalised) path holds something refused in `reject` and `unescape`: a bad or
 * NUL escape, a double encoding, overlong UTF-8, a dot segment with parameters, a `#`.
 */
function hasRefusedSequence(path: string): boolean {
  let segmentStart = 1;
  let inParameters = false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === HASH) return true;
    if (c === SLASH) {
      segmentStart = i + 1;
      inParameters = false;
    } else if (c === PERCENT) {
      const b = escapeAt(path, i);
      if (b <= 0) return true; // a bad escape, or %00
      if (b === 0x25 && hexValue(path.charCodeAt(i + 3)) >= 0 && hexValue(path.charCodeAt(i + 4)) >= 0)
        return true; // %25XX: a double encoding
      if (b === 0xc0 || b === 0xc1) return true;
      if (b === 0xe0 || b === 0xf0) {
        const next = escapeAt(path, i + 3);
        if (next >= 0x80 && next < (b === 0xe0 ? 0xa0 : 0x90)) return true;
      }
      if (b === SEMICOLON && !inParameters) {
        // `%3B` too: decoding upstreams (Spring's UrlPathHelper) decode, then drop `;…`.
        inParameters = true;
        const name = path.slice(segmentStart, i);
        if (name === '' || name === '.' || name === '..') return true;
      }
      i += 2;
    } else if (c === SEMICOLON && !inParameters) {
      inParameters = true;
      // The segment up to its first ';' is "." or "..": a dot segment with parameters.
      // An empty one too (`/;x/admin`): dropping `;x` leaves `//admin`, which such upstreams
      // merge to `/admin` while the gateway routed `/;x/admin`.
      const name = path.slice(segmentStart, i);
      if (name === '' || name === '.' || name === '..') return true;
    }
  }
  return false;
}

/**
 * The path to route and forward for the raw path `rawPath` (without the query string), or null
 * when the policy refuses it (400).
 */
export function resolveRequestPath(rawPath: string, action: PathEscapedSlashesAction): string | null {
  if (action === 'keep') return normalizePath(rawPath);
  // On the raw path first: with every escape valid, decoding (unreserved characters only) cannot
  // make a new escape (`%%32%66` would become `%2f`).
  if (hasRefusedSequence(rawPath)) return null;
  let path = rawPath;
  if (hasEscapedSlash(path)) {
    if (action === 'reject') return null;
    path = unescapeSlashes(path);
  }
  const normalized = normalizePath(path);
  // Then on what decoding made: `%2e%2e;x` is the dot segment with parameters `..;x`.
  if (normalized !== rawPath && (hasRefusedSequence(normalized) || hasEscapedSlash(normalized))) return null;
  return normalized;
}
