/**
 * The pure parts of response-aggregation, used by the schema (config-time checks) and the
 * handler: call templates (`/users/{resp.order.user_id}`), dotted JSON paths, the dependency
 * DAG, and the filter / rename / merge of results. Every object built here has a null prototype
 * and every read is of an own property, so backend JSON with `__proto__` or `constructor` keys is
 * data, never a prototype.
 */

/** A call's name: a JSON-friendly identifier (never `__proto__`). */
export const CALL_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** One segment of a dotted path: no dot, no brace, no space. */
const SEGMENT_RE = /^[^.{}\s]{1,128}$/;
/** Literal text of a path template: what a request target may carry as it is. */
const LITERAL_RE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
const MAX_SEGMENTS = 16;
/** Deepest JSON a call may return (deeper: the call fails), well below the stack's limit. */
export const MAX_JSON_DEPTH = 64;

export type Path = readonly string[];

/** `a.b.0.c` as segments, or an error message. */
export function parsePath(text: string): Path | string {
  const segments = text.split('.');
  if (segments.length > MAX_SEGMENTS) return `a path has at most ${MAX_SEGMENTS} segments`;
  for (const s of segments)
    if (!SEGMENT_RE.test(s))
      return `invalid path '${text}': segments are non-empty, without spaces or braces`;
  return segments;
}

/** Where a placeholder takes its value from. */
export type Source =
  | { readonly kind: 'resp'; readonly call: string; readonly path: Path }
  | { readonly kind: 'query' | 'header' | 'capture'; readonly name: string };

export type TemplatePart = string | Source;

/**
 * Parses a path template: literal text (request-target characters) and `{resp.<call>.<path>}`,
 * `{request.query.<name>}`, `{request.header.<name>}`, `{request.captures.<name>}`
 * placeholders. Returns the parts or an error message.
 */
export function parseTemplate(text: string): TemplatePart[] | string {
  if (!text.startsWith('/')) return "must start with '/'";
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    const literal = open < 0 ? text.slice(i) : text.slice(i, open);
    if (literal.includes('}')) return "unbalanced '}'";
    if (!LITERAL_RE.test(literal)) return `invalid character in '${literal}'`;
    if (literal.length > 0) parts.push(literal);
    if (open < 0) break;
    const close = text.indexOf('}', open);
    if (close < 0) return "unbalanced '{'";
    const inner = text.slice(open + 1, close);
    const source = parseSource(inner);
    if (typeof source === 'string') return source;
    parts.push(source);
    i = close + 1;
  }
  return parts;
}

function parseSource(inner: string): Source | string {
  const dot = inner.indexOf('.');
  const head = dot < 0 ? inner : inner.slice(0, dot);
  const rest = dot < 0 ? '' : inner.slice(dot + 1);
  if (head === 'resp') {
    const d = rest.indexOf('.');
    const call = d < 0 ? rest : rest.slice(0, d);
    if (!CALL_NAME_RE.test(call)) return `'{${inner}}': expected {resp.<call>.<path>}`;
    if (d < 0) return `'{${inner}}': expected {resp.<call>.<path>}`;
    const path = parsePath(rest.slice(d + 1));
    if (typeof path === 'string') return `'{${inner}}': ${path}`;
    return { kind: 'resp', call, path };
  }
  if (head === 'request') {
    const d = rest.indexOf('.');
    const kind = d < 0 ? rest : rest.slice(0, d);
    const name = d < 0 ? '' : rest.slice(d + 1);
    if ((kind === 'query' || kind === 'header' || kind === 'captures') && SEGMENT_RE.test(name))
      return {
        kind: kind === 'captures' ? 'capture' : kind,
        name: kind === 'header' ? name.toLowerCase() : name,
      };
  }
  return `'{${inner}}': expected {resp.<call>.<path>} or {request.query|header|captures.<name>}`;
}

/** The calls a template reads responses of. */
export function referencedCalls(parts: readonly TemplatePart[]): string[] {
  const out: string[] = [];
  for (const p of parts)
    if (typeof p !== 'string' && p.kind === 'resp' && !out.includes(p.call)) out.push(p.call);
  return out;
}

/**
 * A value substituted into a path or query: a string, finite number or boolean, never empty nor
 * a dot segment, percent-encoded (so it cannot add a '/', '?', '&', '#' or '%' of its own).
 * Null when it cannot be substituted.
 */
export function encodeValue(value: unknown): string | null {
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'number' && Number.isFinite(value)) s = String(value);
  else if (typeof value === 'boolean') s = String(value);
  else return null;
  if (s.length === 0 || s === '.' || s === '..' || s.length > 2048) return null;
  return encodeURIComponent(s);
}

/** The own-property value at `path` in `value`, or undefined. */
export function getPath(value: unknown, path: Path): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d{0,8})$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else {
      if (!Object.hasOwn(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return cur;
}

function child(obj: Record<string, unknown>, seg: string): Record<string, unknown> {
  const existing = Object.hasOwn(obj, seg) ? obj[seg] : undefined;
  if (existing !== null && typeof existing === 'object' && !Array.isArray(existing))
    return existing as Record<string, unknown>;
  const made = Object.create(null) as Record<string, unknown>;
  Object.defineProperty(obj, seg, { value: made, enumerable: true, writable: true, configurable: true });
  return made;
}

/** Sets `path` in `obj` (null-prototype objects made on the way), as an own property. */
export function setPath(obj: Record<string, unknown>, path: Path, value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) cur = child(cur, path[i]!);
  Object.defineProperty(cur, path[path.length - 1]!, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Removes `path` from `obj` when it is an own property (arrays are left as they are). */
export function deletePath(obj: Record<string, unknown>, path: Path): void {
  const parent = getPath(obj, path.slice(0, -1));
  if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) {
    const last = path[path.length - 1]!;
    if (Object.hasOwn(parent, last)) delete (parent as Record<string, unknown>)[last];
  }
}

/** A deep copy of parsed JSON with null-prototype objects; null when deeper than MAX_JSON_DEPTH. */
export function copyJson(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_JSON_DEPTH) throw new RangeError('JSON nested too deeply');
  if (Array.isArray(value)) return value.map((v) => copyJson(v, depth + 1));
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    Object.defineProperty(out, key, {
      value: copyJson((value as Record<string, unknown>)[key], depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** How one call's result is shaped: the allow-list of paths (null: all), then the renames. */
export interface Shape {
  readonly fields: readonly Path[] | null;
  readonly rename: readonly (readonly [Path, Path])[];
}

/**
 * The result of a call from its parsed body: with `fields`, a new object holding only those
 * paths (structure kept); then each rename moves a path's value to its new path. A body that is
 * not an object is kept as it is when nothing is filtered or renamed, else becomes null.
 */
export function shape(body: unknown, s: Shape): unknown {
  if (s.fields === null && s.rename.length === 0) return body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  let out = body as Record<string, unknown>;
  if (s.fields !== null) {
    out = Object.create(null) as Record<string, unknown>;
    for (const p of s.fields) {
      const v = getPath(body, p);
      if (v !== undefined) setPath(out, p, v);
    }
  }
  for (const [from, to] of s.rename) {
    const v = getPath(out, from);
    if (v === undefined) continue;
    deletePath(out, from);
    setPath(out, to, v);
  }
  return out;
}

/** A call as the DAG check sees it. */
export interface CallRef {
  readonly name: string;
  readonly deps: readonly string[];
}

/**
 * Checks the dependency graph: unique names, references to known calls, no cycles. Returns the
 * calls' indexes in an order where each comes after its dependencies, or the error per call
 * index and field.
 */
export function orderCalls(
  calls: readonly CallRef[],
): { order: number[] } | { errors: Map<number, { field: 'name' | 'depends_on'; message: string }> } {
  const errors = new Map<number, { field: 'name' | 'depends_on'; message: string }>();
  const index = new Map<string, number>();
  calls.forEach((c, i) => {
    if (index.has(c.name)) errors.set(i, { field: 'name', message: `duplicate call name '${c.name}'` });
    else index.set(c.name, i);
  });
  calls.forEach((c, i) => {
    if (errors.has(i)) return;
    for (const d of c.deps) {
      if (d === c.name) errors.set(i, { field: 'depends_on', message: `call '${c.name}' depends on itself` });
      else if (!index.has(d)) errors.set(i, { field: 'depends_on', message: `unknown call '${d}'` });
    }
  });
  if (errors.size > 0) return { errors };
  // Depth-first, iterative over at most a few calls: 0 unvisited, 1 on the stack, 2 done.
  const mark = new Array<number>(calls.length).fill(0);
  const order: number[] = [];
  const visit = (i: number, trail: number[]): boolean => {
    if (mark[i] === 2) return true;
    if (mark[i] === 1) {
      const cycle = [...trail.slice(trail.indexOf(i)), i].map((j) => calls[j]!.name).join(' -> ');
      errors.set(i, { field: 'depends_on', message: `dependency cycle: ${cycle}` });
      return false;
    }
    mark[i] = 1;
    trail.push(i);
    for (const d of calls[i]!.deps) if (!visit(index.get(d)!, trail)) return false;
    trail.pop();
    mark[i] = 2;
    order.push(i);
    return true;
  };
  for (let i = 0; i < calls.length; i++) if (!visit(i, [])) return { errors };
  return { order };
}
