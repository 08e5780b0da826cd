/**
 * Kong's regexes are PCRE (route `~` paths, matched with `ngx.re`); ours run on JavaScript's
 * `RegExp`. `translatePcre` rewrites the PCRE syntax Kong users write into the JavaScript that
 * matches the same strings, and refuses, naming it, what JavaScript cannot express. One function,
 * used by the control plane's validator (`router_path`) and the data plane's router, so a path the
 * Admin API accepts is the path the router runs.
 *
 * Translated: named groups `(?P<n>…)` / `(?'n'…)` and back-references `(?P=n)`, `\k{n}`, `\g{n}`,
 * `\gN`; inline options `(?i)`, `(?s)`, `(?m)`, `(?x)` (also scoped `(?i:…)` and turned off with
 * `(?-i)`), case-insensitivity by spelling out both cases; `\A`, `\z`, `\Z`, PCRE's `$` (end, or
 * before a final newline) and `.` (anything but `\n`); `\h`, `\H`, `\v`, `\V`, `\R`; `\Q…\E`;
 * `\e`, `\a`, `\x{…}`, `\o{…}`; POSIX classes `[[:alpha:]]`; `\p{…}`/`\pL` (Unicode mode);
 * comments `(?#…)`; a `]` first in a class.
 *
 * Refused: possessive quantifiers (`a*+`), atomic groups `(?>…)`, recursion and subroutine calls
 * (`(?R)`, `(?1)`, `(?&n)`, `(?P>n)`), conditionals `(?(…)…)`, branch reset `(?|…)`, `\G`, `\K`,
 * `\X`, `\C`, relative back-references (`\g{-1}`), backtracking verbs (`(*SKIP)`), and options
 * JavaScript has no equivalent for (`(?U)`, `(?J)`, `(?n)`).
 */

/** A PCRE construct JavaScript cannot express: the message names it. */
export class PcreUnsupportedError extends Error {
  constructor(construct: string) {
    super(`${construct} is not supported`);
    this.name = 'PcreUnsupportedError';
  }
}

export interface TranslatedRegex {
  /** JavaScript source matching what the PCRE pattern matches. */
  source: string;
  /** `u` when the pattern needs Unicode mode (`\p{…}`), else empty. */
  flags: string;
}

interface Options {
  /** Case-insensitive (`i`). */
  i: boolean;
  /** `.` matches `\n` too (`s`). */
  s: boolean;
  /** `^` and `$` match at line breaks (`m`). */
  m: boolean;
  /** Extended: unescaped whitespace and `#` comments are ignored outside classes (`x`). */
  x: boolean;
}

const HORIZONTAL = '\\t \\xA0\\u1680\\u180E\\u2000-\\u200A\\u202F\\u205F\\u3000';
const VERTICAL = '\\n\\x0B\\f\\r\\x85\\u2028\\u2029';

/** PCRE's POSIX classes, as the contents of a JavaScript class. */
const POSIX: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: '\\t\\n\\x0B\\f\\r ',
  blank: '\\t ',
  xdigit: '0-9A-Fa-f',
  punct: '!-\\/:-@\\[-`{-~',
  word: '\\w',
  cntrl: '\\x00-\\x1F\\x7F',
  print: ' -~',
  graph: '!-~',
  ascii: '\\x00-\\x7F',
};

/** A character as a JavaScript regex literal (escaped when it is a syntax character). */
function literal(ch: string, inClass: boolean): string {
  if (inClass) return /[\\\]^-]/.test(ch) ? `\\${ch}` : ch;
  return /[\\^$.|?*+()[\]{}/]/.test(ch) ? `\\${ch}` : ch;
}

/** `[xX]` for a cased character under `(?i)`, else the literal. */
function caseless(ch: string, opts: Options, inClass: boolean): string {
  if (!opts.i) return literal(ch, inClass);
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  if (lo === up || lo.length !== 1 || up.length !== 1) return literal(ch, inClass);
  const both = literal(lo, true) + literal(up, true);
  return inClass ? both : `[${both}]`;
}

/** The other-case counterpart of an ASCII letter range `lo-hi`, for a class under `(?i)`. */
function otherCaseRange(lo: number, hi: number): string {
  const parts: string[] = [];
  const add = (from: number, to: number, shift: number) => {
    const a = Math.max(lo, from);
    const b = Math.min(hi, to);
    if (a <= b) parts.push(`${String.fromCharCode(a + shift)}-${String.fromCharCode(b + shift)}`);
  };
  add(0x41, 0x5a, 0x20); // A-Z -> a-z
  add(0x61, 0x7a, -0x20); // a-z -> A-Z
  return parts.join('');
}

const hex4 = (cp: number) => `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;

class Translator {
  private i = 0;
  private out = '';
  private unicode = false;
  /** Options of the enclosing groups (the innermost last). */
  private readonly stack: Options[] = [];
  private opts: Options = { i: false, s: false, m: false, x: false };

  constructor(private readonly src: string) {}

  run(): TranslatedRegex {
    while (this.i < this.src.length) this.atom();
    return { source: this.out, flags: this.unicode ? 'u' : '' };
  }

  private peek(n = 0): string {
    return this.src[this.i + n] ?? '';
  }

  private rest(): string {
    return this.src.slice(this.i);
  }

  private atom(): void {
    const ch = this.src[this.i]!;
    if (this.opts.x && /\s/.test(ch)) {
      this.i++;
      return;
    }
    if (this.opts.x && ch === '#') {
      const nl = this.src.indexOf('\n', this.i);
      this.i = nl === -1 ? this.src.length : nl + 1;
      return;
    }
    switch (ch) {
      case '\\':
        this.escape(false);
        return;
      case '[':
        this.charClass();
        return;
      case '(':
        this.group();
        return;
      case ')':
        this.i++;
        this.out += ')';
        this.opts = this.stack.pop() ?? this.opts;
        return;
      case '.':
        this.i++;
        this.out += this.opts.s ? '[\\s\\S]' : '[^\\n]';
        return;
      case '^':
        this.i++;
        this.out += this.opts.m ? '(?:^|(?<=\\n))' : '^';
        return;
      case '$':
        this.i++;
        this.out += this.opts.m ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
        return;
      case '*':
      case '+':
      case '?':
        this.i++;
        this.out += ch;
        this.quantifierSuffix(ch);
        return;
      case '{': {
        const q = /^\{\d+(?:,\d*)?\}/.exec(this.rest());
        if (q) {
          this.i += q[0].length;
          this.out += q[0];
          this.quantifierSuffix(q[0]);
        } else {
          this.i++;
          this.out += '\\{';
        }
        return;
      }
      default:
        this.i++;
        this.out += /[|}\]]/.test(ch) ? (ch === '|' ? '|' : `\\${ch}`) : caseless(ch, this.opts, false);
    }
  }

  /** After a quantifier: `?` (lazy) is JavaScript's too; `+` (possessive) is refused. */
  private quantifierSuffix(quantifier: string): void {
    if (this.peek() === '+') throw new PcreUnsupportedError(`possessive quantifier '${quantifier}+'`);
    if (this.peek() === '?') {
      this.i++;
      this.out += '?';
    }
  }

  private group(): void {
    const rest = this.rest();
    if (rest.startsWith('(*')) {
      const verb = /^\(\*[A-Z_]*(?::[^)]*)?\)?/.exec(rest)?.[0] ?? '(*';
      throw new PcreUnsupportedError(`backtracking verb '${verb}'`);
    }
    if (!rest.startsWith('(?')) {
      this.open('(', this.opts);
      this.i += 1;
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = /^\(\?(?:P<|<(?![=!])|')([A-Za-z_][A-Za-z0-9_]*)[>']/.exec(rest))) {
      this.i += m[0].length;
      this.open(`(?<${m[1]}>`, this.opts);
      return;
    }
    if ((m = /^\(\?P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest))) {
      this.i += m[0].length;
      this.out += `\\k<${m[1]}>`;
      return;
    }
    if ((m = /^\(\?#[^)]*\)/.exec(rest))) {
      this.i += m[0].length;
      return;
    }
    if (/^\(\?(?::|=|!|<=|<!)/.test(rest)) {
      const head = /^\(\?(?::|=|!|<=|<!)/.exec(rest)![0];
      this.i += head.length;
      this.open(head, this.opts);
      return;
    }
    if (rest.startsWith('(?>')) throw new PcreUnsupportedError("atomic group '(?>…)'");
    if (rest.startsWith('(?|')) throw new PcreUnsupportedError("branch reset group '(?|…)'");
    if (rest.startsWith('(?(')) throw new PcreUnsupportedError("conditional group '(?(…)…)'");
    if ((m = /^\(\?(?:R|[+-]?\d+|&[A-Za-z_]\w*|P>[A-Za-z_]\w*)\)/.exec(rest)))
      throw new PcreUnsupportedError(`recursion or subroutine call '${m[0]}'`);
    if ((m = /^\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])/.exec(rest))) {
      const opts = this.options(m[1]!, m[2] ?? '', m[0]);
      this.i += m[0].length;
      if (m[3] === ')') this.opts = opts;
      else this.open('(?:', opts);
      return;
    }
    throw new PcreUnsupportedError(`group '${rest.slice(0, 3)}…'`);
  }

  private open(head: string, inner: Options): void {
    this.stack.push(this.opts);
    this.opts = inner;
    this.out += head;
  }

  /** The options after `(?on-off)`. */
  private options(on: string, off: string, written: string): Options {
    const next = { ...this.opts };
    for (const [letters, value] of [
      [on, true],
      [off, false],
    ] as const) {
      for (const letter of letters) {
        if (letter === 'i' || letter === 's' || letter === 'm' || letter === 'x') next[letter] = value;
        else throw new PcreUnsupportedError(`inline option '${letter}' in '${written}'`);
      }
    }
    return next;
  }

  /** A backslash sequence; `inClass` when inside `[…]` (the output is then class contents). */
  private escape(inClass: boolean): void {
    const c = this.peek(1);
    const two = `\\${c}`;
    if (c === '') throw new PcreUnsupportedError("a pattern ending with '\\'");
    this.i += 2;
    let m: RegExpExecArray | null;
    switch (c) {
      case 'Q': {
        const end = this.src.indexOf('\\E', this.i);
        const text = this.src.slice(this.i, end === -1 ? undefined : end);
        this.i = end === -1 ? this.src.length : end + 2;
        for (const ch of text) this.out += caseless(ch, this.opts, inClass);
        return;
      }
      case 'E':
        return;
      case 'h':
      case 'v': {
        const set = c === 'h' ? HORIZONTAL : VERTICAL;
        this.out += inClass ? set : `[${set}]`;
        return;
      }
      case 'H':
      case 'V':
        if (inClass) throw new PcreUnsupportedError(`'${two}' inside a character class`);
        this.out += `[^${c === 'H' ? HORIZONTAL : VERTICAL}]`;
        return;
      case 'R':
        if (inClass) throw new PcreUnsupportedError("'\\R' inside a character class");
        this.out += `(?:\\r\\n|[${VERTICAL}])`;
        return;
      case 'A':
      case 'z':
      case 'Z':
        if (inClass) throw new PcreUnsupportedError(`'${two}' inside a character class`);
        this.out += c === 'A' ? '(?<![\\s\\S])' : c === 'z' ? '(?![\\s\\S])' : '(?=\\n?(?![\\s\\S]))';
        return;
      case 'e':
        this.out += '\\x1B';
        return;
      case 'a':
        this.out += '\\x07';
        return;
      case 'x':
        if ((m = /^\{([0-9A-Fa-f]+)\}/.exec(this.rest()))) {
          this.i += m[0].length;
          this.out += this.codePoint(parseInt(m[1]!, 16), two);
          return;
        }
        this.out += two;
        return;
      case 'o':
        if ((m = /^\{([0-7]+)\}/.exec(this.rest()))) {
          this.i += m[0].length;
          this.out += this.codePoint(parseInt(m[1]!, 8), two);
          return;
        }
        throw new PcreUnsupportedError("'\\o' without braces");
      case 'p':
      case 'P':
        if ((m = /^\{(\^?)([A-Za-z_&=]+)\}|^([A-Za-z])/.exec(this.rest()))) {
          this.i += m[0].length;
          const negated = (m[1] === '^') !== (c === 'P');
          this.unicode = true;
          this.out += `\\${negated ? 'P' : 'p'}{${m[2] ?? m[3]}}`;
          return;
        }
        throw new PcreUnsupportedError(`'${two}' without a property name`);
      case 'k':
        if ((m = /^(?:\{([A-Za-z_]\w*)\}|'([A-Za-z_]\w*)'|<([A-Za-z_]\w*)>)/.exec(this.rest()))) {
          this.i += m[0].length;
          this.out += `\\k<${m[1] ?? m[2] ?? m[3]}>`;
          return;
        }
        throw new PcreUnsupportedError("'\\k' without a group name");
      case 'g':
        if ((m = /^(?:\{(\d+)\}|(\d+))/.exec(this.rest()))) {
          this.i += m[0].length;
          this.out += `\\${m[1] ?? m[2]}`;
          return;
        }
        if ((m = /^\{([A-Za-z_]\w*)\}/.exec(this.rest()))) {
          this.i += m[0].length;
          this.out += `\\k<${m[1]}>`;
          return;
        }
        throw new PcreUnsupportedError(`relative back-reference '\\g${this.rest().slice(0, 4)}'`);
      case 'G':
      case 'K':
      case 'X':
      case 'C':
        throw new PcreUnsupportedError(`'${two}'`);
      default:
        // A letter escape both engines share (\d \w \s \b \n \t \1 …), or an escaped character.
        this.out += /[A-Za-z0-9]/.test(c) ? two : caseless(c, this.opts, inClass);
    }
  }

  private codePoint(cp: number, written: string): string {
    if (cp > 0x10ffff) throw new PcreUnsupportedError(`'${written}{…}' beyond U+10FFFF`);
    if (cp <= 0xffff) return hex4(cp);
    this.unicode = true;
    return `\\u{${cp.toString(16).toUpperCase()}}`;
  }

  /** `[…]`: POSIX classes, a leading `]`, and both cases of letters under `(?i)`. */
  private charClass(): void {
    this.i++;
    this.out += '[';
    if (this.peek() === '^') {
      this.i++;
      this.out += '^';
    }
    let first = true;
    for (;;) {
      const ch = this.peek();
      if (ch === '') throw new PcreUnsupportedError("an unterminated character class '['");
      if (ch === ']' && !first) {
        this.i++;
        this.out += ']';
        return;
      }
      first = false;
      let m: RegExpExecArray | null;
      if ((m = /^\[:(\^?)([a-z]+):\]/.exec(this.rest()))) {
        const set = POSIX[m[2]!];
        if (set === undefined) throw new PcreUnsupportedError(`POSIX class '${m[0]}'`);
        if (m[1] === '^') throw new PcreUnsupportedError(`negated POSIX class '${m[0]}'`);
        this.i += m[0].length;
        this.out += set;
        continue;
      }
      if (ch === '\\') {
        this.escape(true);
        continue;
      }
      // A range of plain characters `a-z`: under (?i) the other case's range is added.
      if ((m = /^([^\\\]])-([^\\\]])/.exec(this.rest()))) {
        this.i += m[0].length;
        const [lo, hi] = [m[1]!.codePointAt(0)!, m[2]!.codePointAt(0)!];
        this.out += `${literal(m[1]!, true)}-${literal(m[2]!, true)}`;
        if (this.opts.i && lo <= hi) this.out += otherCaseRange(lo, hi);
        continue;
      }
      this.i += ch.length;
      this.out += ch === '[' ? '\\[' : caseless(ch, this.opts, true);
    }
  }
}

/** The JavaScript equivalent of a PCRE pattern; throws PcreUnsupportedError naming what it cannot express. */
export function translatePcre(pattern: string): TranslatedRegex {
  return new Translator(pattern).run();
}

/**
 * Compiles a PCRE pattern (Kong's regex route path, without its `~`) for JavaScript: anchored at
 * the start when `anchored` (Kong's router matches regex paths from the start of the path).
 * Returns the RegExp, or the message of why it cannot be used (Kong's "invalid regex" wording is
 * the caller's).
 */
export function compilePcre(
  pattern: string,
  options: { anchored?: boolean } = {},
): RegExp | { error: string } {
  let translated: TranslatedRegex;
  try {
    translated = translatePcre(pattern);
  } catch (e) {
    if (e instanceof PcreUnsupportedError) return { error: e.message };
    throw e;
  }
  try {
    const source = options.anchored ? `^(?:${translated.source})` : translated.source;
    return new RegExp(source, translated.flags);
  } catch (e) {
    return { error: (e as Error).message };
  }
}
