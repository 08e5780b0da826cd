/**
 * The query string as Kong reads it: `+` and `%XX` decoded at the byte level, then the bytes read
 * as UTF-8. Node hands the request target over as latin-1 text and `querystring` turns bytes that
 * are not UTF-8 into U+FFFD, so a value that is not UTF-8 (`?tags=%FF`, or a raw 0xFF byte)
 * could not be told from a real U+FFFD; here it is `NOT_UTF8`, and the caller answers Kong's 400.
 */

/** A query value whose bytes are not UTF-8. */
export const NOT_UTF8: unique symbol = Symbol('not utf-8');
export type QueryValue = string | typeof NOT_UTF8;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes of a `%XX`-encoded string (the request target: each character is one byte). */
export function percentDecodeBytes(text: string, plusIsSpace = false): Uint8Array {
  const out = new Uint8Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[n++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (c === 0x2b && plusIsSpace) {
      out[n++] = 0x20;
    } else {
      out[n++] = c & 0xff;
    }
  }
  return out.subarray(0, n);
}

/** The bytes as UTF-8 text, or `NOT_UTF8`. */
export function utf8Text(bytes: Uint8Array): QueryValue {
  try {
    return utf8.decode(bytes);
  } catch {
    return NOT_UTF8;
  }
}

/**
 * The 1-based position of the first byte that does not start a valid UTF-8 sequence (Kong's
 * `validate_utf8`), or undefined when the bytes are UTF-8.
 */
export function utf8ErrorPosition(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const len =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i + 1;
    if (len > 1 && utf8Text(bytes.subarray(i, i + len)) === NOT_UTF8) return i + 1;
    i += len;
  }
  return undefined;
}

/**
 * The request's query arguments, each name with its values in order. A name that is not UTF-8
 * is skipped (no endpoint reads it); `?a` and `?a=` both read as `''`.
 */
export function queryArgs(url: string): Map<string, QueryValue[]> {
  const args = new Map<string, QueryValue[]>();
  const q = url.indexOf('?');
  if (q === -1) return args;
  const hash = url.indexOf('#', q);
  for (const pair of url.slice(q + 1, hash === -1 ? undefined : hash).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = utf8Text(percentDecodeBytes(eq === -1 ? pair : pair.slice(0, eq), true));
    if (name === NOT_UTF8) continue;
    const value = eq === -1 ? '' : utf8Text(percentDecodeBytes(pair.slice(eq + 1), true));
    const values = args.get(name);
    if (values) values.push(value);
    else args.set(name, [value]);
  }
  return args;
}
