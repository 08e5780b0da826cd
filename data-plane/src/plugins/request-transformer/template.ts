/**
 * request-transformer's value templates: Kong renders `$(…)` as a Lua expression (penlight
 * templates in a sandbox). We accept the documented, safe subset and refuse everything else when
 * the config is validated, so a template never fails at request time:
 *
 *   $(headers.x_foo)  $(headers["X-Foo"])  $(headers['x-foo'])
 *   $(query_params.q)  $(query_params["q-1"])
 *   $(uri_captures.name)  $(uri_captures[1])  $(uri_captures["name"])
 *   $(shared.key)  $(shared["key"])                 (kong.ctx.shared, read only)
 *   $('literal')  $("literal")                      (a quoted string, e.g. to escape `$(`)
 *   $(headers.x or query_params.y or 'default')     (the first value present)
 *
 * A missing value renders as '' (penlight's `tostring(x or '')`). A repeated header or query
 * argument renders its values joined by ', ' (Kong renders a Lua table, "table: 0x…"); a query
 * argument without `=` renders 'true' (Kong's `true`).
 */

/** Where a reference reads from. */
export type Source = 'headers' | 'query_params' | 'uri_captures' | 'shared';

/** What a template reads a value from (built once per request, lazily). */
export interface TemplateEnv {
  /** The value of `key` in `source`, or undefined when absent. */
  lookup(source: Source, key: string): string | undefined;
}

type Term = { readonly literal: string } | { readonly source: Source; readonly key: string };
/** One `$(…)`: alternatives joined by `or`. */
type Expr = readonly Term[];
/** Literal text and expressions, in order. */
type Piece = string | Expr;

export interface Template {
  /** The source text (for messages). */
  readonly source: string;
  /** True when there is no `$(…)`: `render` returns the source. */
  readonly constant: boolean;
  render(env: TemplateEnv): string;
}

const SOURCES: ReadonlySet<string> = new Set(['headers', 'query_params', 'uri_captures', 'shared']);

export const SUPPORTED_FORMS =
  'use $(headers.<name>), $(headers["<name>"]), $(query_params.<name>), $(uri_captures.<name>), ' +
  "$(shared.<name>), quoted strings and 'or'";

class TemplateError extends Error {}

/** Tokens of one expression: identifiers, numbers, quoted strings, `.`, `[`, `]`. */
function tokenize(expr: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = expr.indexOf(c, i + 1);
      if (end < 0) throw new TemplateError('unfinished string');
      const body = expr.slice(i + 1, end);
      if (body.includes('\\')) throw new TemplateError('escapes in strings are not supported');
      out.push(expr.slice(i, end + 1));
      i = end + 1;
      continue;
    }
    if (c === '.' || c === '[' || c === ']') {
      out.push(c);
      i++;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]+/.exec(expr.slice(i, i + 256));
    if (m === null) throw new TemplateError(`unexpected '${c}'`);
    out.push(m[0]);
    i += m[0].length;
  }
  return out;
}

const isQuoted = (t: string | undefined): boolean =>
  t !== undefined && t.length >= 2 && (t[0] === '"' || t[0] === "'");
const isIdent = (t: string | undefined): t is string => t !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(t);
const isNumber = (t: string | undefined): t is string => t !== undefined && /^[0-9]+$/.test(t);

function parseExpr(text: string): Expr {
  const tokens = tokenize(text);
  const terms: Term[] = [];
  let i = 0;
  for (;;) {
    const t = tokens[i];
    if (t !== undefined && isQuoted(t)) {
      terms.push({ literal: t.slice(1, -1) });
      i++;
    } else if (t !== undefined && SOURCES.has(t)) {
      const source = t as Source;
      const a = tokens[i + 1];
      if (a === '.' && isIdent(tokens[i + 2])) {
        terms.push({ source, key: tokens[i + 2]! });
        i += 3;
      } else if (a === '[' && (isQuoted(tokens[i + 2]) || isNumber(tokens[i + 2])) && tokens[i + 3] === ']') {
        const k = tokens[i + 2]!;
        terms.push({ source, key: isQuoted(k) ? k.slice(1, -1) : k });
        i += 4;
      } else {
        throw new TemplateError(`'${t}' must be followed by .<name> or ["<name>"]`);
      }
    } else {
      throw new TemplateError(t === undefined ? 'empty expression' : `'${t}' is not supported`);
    }
    if (i === tokens.length) return terms;
    if (tokens[i] !== 'or') throw new TemplateError(`'${tokens[i]}' is not supported`);
    i++;
  }
}

/** The end of the `$(` expression starting at `open` (the index of `(`): its `)`, outside quotes. */
function closing(s: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

function parse(source: string): Piece[] {
  const pieces: Piece[] = [];
  let from = 0;
  for (;;) {
    const at = source.indexOf('$(', from);
    if (at < 0) break;
    const end = closing(source, at + 1);
    if (end < 0) throw new TemplateError("'$(' is not closed");
    if (at > from) pieces.push(source.slice(from, at));
    pieces.push(parseExpr(source.slice(at + 2, end)));
    from = end + 1;
  }
  if (from < source.length) pieces.push(source.slice(from));
  return pieces;
}

function evaluate(expr: Expr, env: TemplateEnv): string {
  for (const term of expr) {
    if ('literal' in term) return term.literal;
    const v = env.lookup(term.source, term.key);
    if (v !== undefined) return v;
  }
  return '';
}

/** Compiles `source`; throws an Error naming what is not supported. */
export function compileTemplate(source: string): Template {
  let pieces: Piece[];
  try {
    pieces = parse(source);
  } catch (e) {
    throw new Error(`template '${source}' is not supported (${(e as Error).message}): ${SUPPORTED_FORMS}`);
  }
  if (pieces.every((p) => typeof p === 'string')) return { source, constant: true, render: () => source };
  return {
    source,
    constant: false,
    render(env) {
      let out = '';
      for (const p of pieces) out += typeof p === 'string' ? p : evaluate(p, env);
      return out;
    },
  };
}

/** The config-time check: null when `source` compiles, else the message. */
export function templateError(source: string): string | null {
  try {
    compileTemplate(source);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
