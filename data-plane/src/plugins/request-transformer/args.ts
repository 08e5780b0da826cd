/**
 * Query strings and form bodies as Kong's request-transformer sees them (ngx.decode_args): an
 * ordered map of name -> a string, a list of strings (a repeated name) or `true` (a name without
 * `=`). A Map, so a name such as `__proto__` is only a name.
 */

export type ArgValue = string | string[] | true;
export type Args = Map<string, ArgValue>;

function decode(s: string): string {
  const plus = s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    // A malformed escape stays as it is (nginx keeps bytes it cannot decode).
    return plus;
  }
}

/** Parses `a=1&b&a=2` (no leading `?`). */
export function parseArgs(raw: string): Args {
  const args: Args = new Map();
  if (raw === '') return args;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    if (name === '') continue;
    const value: string | true = eq < 0 ? true : decode(part.slice(eq + 1));
    const current = args.get(name);
    if (current === undefined) args.set(name, value);
    else if (value !== true) args.set(name, appendValue(current, value));
  }
  return args;
}

/** Kong's append_value: a string becomes a pair, a list grows, anything else becomes [value]. */
export function appendValue(current: unknown, value: string): string[] {
  if (typeof current === 'string') return [current, value];
  if (Array.isArray(current)) return [...(current as string[]), value];
  return [value];
}

/** ngx.escape_uri for a query component: everything but A-Z a-z 0-9 - . _ ~ is escaped. */
export function escapeArg(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `name=value` pairs of one argument (ngx.encode_args of { [name] = value }). */
function encodeOne(name: string, value: ArgValue): string {
  const k = escapeArg(name);
  if (value === true) return k;
  if (typeof value === 'string') return `${k}=${escapeArg(value)}`;
  return value.map((v) => `${k}=${escapeArg(v)}`).join('&');
}

/** A form body: arguments in their order. */
export function encodeArgs(args: Args): string {
  const out: string[] = [];
  for (const [name, value] of args) out.push(encodeOne(name, value));
  return out.join('&');
}

/** A query string as Kong's `kong.service.request.set_query` builds it: arguments in lexicographical order. */
export function encodeQuery(args: Args): string {
  const out: string[] = [];
  for (const [name, value] of args) out.push(encodeOne(name, value));
  return out.sort().join('&');
}

/** The value of an argument as a template renders it: a list joined by ', ', a bare name 'true'. */
export function argText(value: ArgValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === true) return 'true';
  return typeof value === 'string' ? value : value.join(', ');
}
