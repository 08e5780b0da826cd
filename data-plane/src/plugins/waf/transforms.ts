/**
 * The transformations a value goes through before the rules see it, as CRS's `t:` actions do:
 * URL decoding (repeated at most MAX_URL_DECODES times, %uXXXX included), HTML entity decoding,
 * lower-casing, whitespace compression, SQL comment removal and CRS's cmdLine. Each is one linear
 * pass (no regex that can backtrack, no loop that revisits input), so the work per value is
 * bounded by a constant times its length.
 */

/** URL decoding passes at most (CRS decodes once; a second pass unwraps double encoding). */
export const MAX_URL_DECODES = 2;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** One pass of percent decoding (%XX as a byte/char, %uXXXX, '+' kept): invalid escapes stay. */
export function urlDecodeOnce(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== 37) continue;
    let code = -1;
    let len = 0;
    if ((s.charCodeAt(i + 1) | 0x20) === 117 && i + 5 < s.length) {
      const a = hexValue(s.charCodeAt(i + 2));
      const b = hexValue(s.charCodeAt(i + 3));
      const c = hexValue(s.charCodeAt(i + 4));
      const d = hexValue(s.charCodeAt(i + 5));
      if ((a | b | c | d) >= 0) {
        code = (a << 12) | (b << 8) | (c << 4) | d;
        len = 6;
      }
    }
    if (code < 0 && i + 2 < s.length) {
      const a = hexValue(s.charCodeAt(i + 1));
      const b = hexValue(s.charCodeAt(i + 2));
      if ((a | b) >= 0) {
        code = (a << 4) | b;
        len = 3;
      }
    }
    if (code < 0) continue;
    out += s.slice(last, i) + String.fromCharCode(code);
    last = i + len;
    i += len - 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

/** URL-decodes until nothing changes, at most MAX_URL_DECODES passes. */
export function urlDecode(s: string): string {
  let v = s;
  for (let n = 0; n < MAX_URL_DECODES; n++) {
    const next = urlDecodeOnce(v);
    if (next === v) break;
    v = next;
  }
  return v;
}

const NAMED: Readonly<Record<string, string>> = {
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  amp: '&',
  colon: ':',
  tab: '\t',
  newline: '\n',
  lpar: '(',
  rpar: ')',
  sol: '/',
  bsol: '\\',
  grave: '`',
  semi: ';',
  equals: '=',
  nbsp: ' ',
  excl: '!',
  num: '#',
  dollar: '$',
  percnt: '%',
  lsqb: '[',
  rsqb: ']',
  lcub: '{',
  rcub: '}',
  vert: '|',
  plus: '+',
  comma: ',',
  period: '.',
  quest: '?',
  ast: '*',
};

/**
 * HTML entity decoding: `&name;` for the names above, `&#NNN;` and `&#xHH;` (the `;` optional and
 * leading zeros allowed, as browsers read them). Unknown or malformed entities stay.
 */
export function htmlDecode(s: string): string {
  if (s.indexOf('&') < 0) return s;
  let out = '';
  let last = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) !== 38) continue;
    let j = i + 1;
    let ch: string | undefined;
    if (s.charCodeAt(j) === 35) {
      j++;
      const hex = (s.charCodeAt(j) | 0x20) === 120;
      if (hex) j++;
      const start = j;
      let v = 0;
      // At most 10 digits (zero-padded): bounded work, then the value is clamped.
      while (j < n && j - start < 10) {
        const d = hex ? hexValue(s.charCodeAt(j)) : s.charCodeAt(j) - 48;
        if (d < 0 || d > (hex ? 15 : 9)) break;
        v = v * (hex ? 16 : 10) + d;
        j++;
      }
      if (j > start) ch = String.fromCharCode(v > 0xffff ? 0xfffd : v);
    } else {
      const start = j;
      while (j < n && j - start < 8) {
        const c = s.charCodeAt(j) | 0x20;
        if (c < 97 || c > 122) break;
        j++;
      }
      const name = s.slice(start, j).toLowerCase();
      if (Object.hasOwn(NAMED, name) && (s.charCodeAt(j) === 59 || name.length > 0)) ch = NAMED[name];
    }
    if (ch === undefined) continue;
    if (s.charCodeAt(j) === 59) j++;
    out += s.slice(last, i) + ch;
    last = j;
    i = j - 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160;
}

/** Runs of whitespace (space, tab, CR, LF, VT, FF, NBSP) become one space. */
export function compressWhitespace(s: string): string {
  let out = '';
  let last = 0;
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isSpace(c)) continue;
    let j = i + 1;
    while (j < s.length && isSpace(s.charCodeAt(j))) j++;
    if (c === 32 && j === i + 1) continue;
    out += s.slice(last, i) + ' ';
    last = j;
    i = j - 1;
    changed = true;
  }
  return changed ? out + s.slice(last) : s;
}

/**
 * The `text` form: URL-decoded, HTML-decoded, NUL bytes removed, lower-case, whitespace
 * compressed.
 */
export function textForm(raw: string): string {
  let v = htmlDecode(urlDecode(raw));
  if (v.indexOf('\0') >= 0) v = v.split('\0').join('');
  return compressWhitespace(v.toLowerCase());
}

/**
 * The `sql` form of a `text` value: `/* … *\/` comments become a space (a MySQL executable
 * comment `/*!50000 … *\/` keeps its content), found with indexOf, so one linear pass.
 */
export function sqlForm(text: string): string {
  let start = text.indexOf('/*');
  if (start < 0) return text;
  let out = '';
  let last = 0;
  while (start >= 0) {
    const end = text.indexOf('*/', start + 2);
    out += text.slice(last, start) + ' ';
    if (end < 0) {
      last = text.length;
      break;
    }
    if (text.charCodeAt(start + 2) === 33) {
      let k = start + 3;
      while (k < end && text.charCodeAt(k) >= 48 && text.charCodeAt(k) <= 57) k++;
      out += text.slice(k, end) + ' ';
    }
    last = end + 2;
    start = text.indexOf('/*', last);
  }
  return out + text.slice(last);
}

/**
 * CRS's cmdLine on a `text` value: `\`, `"`, `'` and `^` removed; `,` and `;` kept (they
 * chain commands) with the spaces before `/` and `(` removed.
 */
export function cmdForm(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 || c === 34 || c === 39 || c === 94) continue;
    if (c === 32) {
      const next = text.charCodeAt(i + 1);
      if (next === 47 || next === 40) continue;
    }
    out += text[i];
  }
  return out;
}

/** The `path` form of a `text` value: backslashes as slashes. */
export function pathForm(text: string): string {
  return text.indexOf('\\') < 0 ? text : text.split('\\').join('/');
}
