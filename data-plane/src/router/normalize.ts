/**
 * Request-path normalisation before matching, as Kong's `normalize(uri, true)` (kong/tools/uri.lua):
 * percent-encoded unreserved characters are decoded (hex upper-cased for the others), dot segments
 * are removed and repeated slashes merged. The common case (no `%`, no `.`, no `//`) returns the
 * input string itself without allocating.
 *
 * Difference from Kong: Kong also decodes characters that are neither reserved nor unreserved
 * (e.g. `%20`); we decode only RFC 3986 unreserved ones so the normalised path can be sent upstream
 * as it is.
 */

const SLASH = 47;
const DOT = 46;
const PERCENT = 37;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === 46 ||
    c === 95 ||
    c === 126
  );
}

function needsWork(path: string): boolean {
  let prev = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === PERCENT || c === DOT || (c === SLASH && prev === SLASH)) return true;
    prev = c;
  }
  return false;
}

function decodeUnreserved(path: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) !== PERCENT || i + 2 >= path.length) continue;
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) continue;
    const code = hi * 16 + lo;
    out += path.slice(last, i);
    out += isUnreserved(code) ? String.fromCharCode(code) : path.slice(i, i + 3).toUpperCase();
    last = i + 3;
    i += 2;
  }
  return last === 0 ? path : out + path.slice(last);
}

/** Removes dot segments (RFC 3986 5.2.4) and merges repeated slashes. */
function removeDotSegments(path: string): string {
  const segments: string[] = [];
  const parts = path.split('/');
  // parts[0] is '' for an absolute path.
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i]!;
    const last = i === parts.length - 1;
    if (seg === '.' || seg === '') {
      if (last) segments.push('');
      continue;
    }
    if (seg === '..') {
      segments.pop();
      if (last) segments.push('');
      continue;
    }
    segments.push(seg);
  }
  return '/' + segments.join('/');
}

export function normalizePath(path: string): string {
  if (path.length < 2 || !needsWork(path)) return path;
  const decoded = path.includes('%') ? decodeUnreserved(path) : path;
  if (!decoded.includes('.') && !decoded.includes('//')) return decoded;
  return removeDotSegments(decoded);
}
