/**
 * google.api.http path templates (google/api/http.proto, "Path template syntax"), parsed once per
 * snapshot and matched per request without regular expressions:
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * `{field}` is `{field=*}` (one segment); `**` matches the rest of the path (zero or more
 * segments) and may only be the last segment. A variable's value is its segments joined by '/',
 * each percent-decoded.
 */

export type Segment =
  { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'star' } | { readonly kind: 'rest' };

export interface Variable {
  /** The dotted field path (`author.name`). */
  readonly field: string;
  /** First segment of the variable (index into `segments`). */
  readonly start: number;
  /** One past its last segment. */
  readonly end: number;
}

export interface PathTemplate {
  readonly source: string;
  readonly segments: readonly Segment[];
  readonly variables: readonly Variable[];
  /** The `:verb` suffix, or null. */
  readonly verb: string | null;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** RFC 3986 pchar without '/', '{', '}', ':' and '*' (which the grammar uses); percent-escapes allowed. */
const LITERAL = /^(?:[A-Za-z0-9\-._~!$&'()+,;=@]|%[0-9A-Fa-f]{2})+$/;
const MAX_TEMPLATE_LENGTH = 2048;

/** Parses a template, or returns what is wrong with it (a message naming the template). */
export function parseTemplate(source: string): PathTemplate | string {
  const bad = (why: string): string => `path template '${source}': ${why}`;
  if (source.length > MAX_TEMPLATE_LENGTH) return bad(`longer than ${MAX_TEMPLATE_LENGTH} characters`);
  if (!source.startsWith('/')) return bad("must start with '/'");
  let body = source.slice(1);
  let verb: string | null = null;
  // The verb is a ':' after the last '/' that is outside braces.
  const lastSlash = body.lastIndexOf('/');
  const lastClose = body.lastIndexOf('}');
  const colon = body.indexOf(':', Math.max(lastSlash, lastClose) + 1);
  if (colon >= 0) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (!LITERAL.test(verb)) return bad(`invalid verb ':${verb}'`);
  }
  const segments: Segment[] = [];
  const variables: Variable[] = [];
  const fields = new Set<string>();
  let i = 0;
  const pushSegment = (text: string): string | null => {
    if (segments.length > 0 && segments[segments.length - 1]!.kind === 'rest')
      return "'**' must be the last segment";
    if (text === '*') segments.push({ kind: 'star' });
    else if (text === '**') segments.push({ kind: 'rest' });
    // An empty literal is a trailing (or doubled) '/': Kong's test proto has `post: "/v1/messages/"`.
    else if (text === '' || LITERAL.test(text)) segments.push({ kind: 'literal', text });
    else return `invalid segment '${text}'`;
    return null;
  };
  while (i <= body.length) {
    if (body[i] === '{') {
      const close = body.indexOf('}', i);
      if (close < 0) return bad("'{' without '}'");
      const inner = body.slice(i + 1, close);
      if (inner.includes('{')) return bad('nested variables');
      const eq = inner.indexOf('=');
      const field = eq < 0 ? inner : inner.slice(0, eq);
      if (!field.split('.').every((p) => IDENT.test(p))) return bad(`invalid field path '${field}'`);
      if (fields.has(field)) return bad(`field '${field}' bound twice`);
      fields.add(field);
      const start = segments.length;
      const parts = eq < 0 ? ['*'] : inner.slice(eq + 1).split('/');
      for (const p of parts) {
        const err = pushSegment(p);
        if (err !== null) return bad(err);
      }
      variables.push({ field, start, end: segments.length });
      i = close + 1;
      if (i < body.length && body[i] !== '/') return bad(`text after '}' in a segment`);
      i++;
      continue;
    }
    let next = body.indexOf('/', i);
    if (next < 0) next = body.length;
    const text = body.slice(i, next);
    if (text.includes('{') || text.includes('}')) return bad(`invalid segment '${text}'`);
    const err = pushSegment(text);
    if (err !== null) return bad(err);
    i = next + 1;
  }
  return { source, segments, variables, verb };
}

/**
 * Matches a request path (as sent, percent-encoded, starting with '/') against a template:
 * the variables' decoded values by field path, or null when it does not match (or a segment's
 * percent-encoding is invalid).
 */
export function matchTemplate(t: PathTemplate, path: string): Map<string, string> | null {
  let p = path.slice(1);
  if (t.verb !== null) {
    const suffix = `:${t.verb}`;
    if (!p.endsWith(suffix)) return null;
    p = p.slice(0, p.length - suffix.length);
  }
  const parts = p.split('/');
  const segs = t.segments;
  const rest = segs.length > 0 && segs[segs.length - 1]!.kind === 'rest';
  if (rest ? parts.length < segs.length - 1 : parts.length !== segs.length) return null;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s.kind === 'rest') break;
    const part = parts[i]!;
    if (s.kind === 'literal' ? part !== s.text : part === '') return null;
  }
  const values = new Map<string, string>();
  for (const v of t.variables) {
    const end = v.end === segs.length && rest ? parts.length : v.end;
    let value = '';
    for (let i = v.start; i < end; i++) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(parts[i]!);
      } catch {
        return null;
      }
      value = i === v.start ? decoded : `${value}/${decoded}`;
    }
    values.set(v.field, value);
  }
  return values;
}
