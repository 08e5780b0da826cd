import {
  declarativeProblems,
  formatProblems,
  isGatehouseError,
  KIND_SPEC,
  KONG_DECLARATIVE_CONFIG_CODE,
  putOwn,
  type DeclarativeProblem,
  type EntityKind,
} from '@gatehouse/shared';

type Segment = string | number;

function segments(path: string): Segment[] {
  const out: Segment[] = [];
  for (const m of path.matchAll(/([^.[\]"]+)|\[(\d+)\]|"((?:[^"\\]|\\.)*)"/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[1] ?? (JSON.parse(`"${m[3]}"`) as string));
  }
  return out;
}

/** `node[key]` when it is the node's own property (a path segment may be `__proto__`). */
const own = (node: unknown, key: string): unknown =>
  node !== null && typeof node === 'object' && Object.hasOwn(node, key)
    ? (node as Record<string, unknown>)[key]
    : undefined;

/**
 * Kong's nested `fields` for problems: `{ services: { 0: { routes: { 1: { paths: [...] } } } } }`.
 * Segments come from the document's keys: every property is written as an own property.
 */
function nestedFields(problems: readonly DeclarativeProblem[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of problems) {
    const segs = segments(p.path);
    if (segs.length === 0) {
      putOwn(root, '@entity', [...((own(root, '@entity') as string[] | undefined) ?? []), p.message]);
      continue;
    }
    let node = root;
    for (const seg of segs.slice(0, -1)) {
      const key = String(seg);
      const next = own(node, key);
      if (typeof next !== 'object' || next === null) putOwn(node, key, {});
      node = own(node, key) as Record<string, unknown>;
    }
    const last = String(segs[segs.length - 1]);
    const prev = own(node, last);
    if (prev === undefined) putOwn(node, last, p.message);
    else if (Array.isArray(prev)) prev.push(p.message);
    else if (typeof prev === 'string') putOwn(node, last, [prev, p.message]);
    else putOwn(prev as Record<string, unknown>, '@entity', p.message);
  }
  return root;
}

const NESTED_KIND: Record<string, EntityKind | undefined> = {
  groups: 'consumer_group_consumers',
  consumers: 'consumers',
};

/** Kong's `flattened_errors`: one record per entity with its field and entity errors. */
function flattenedErrors(problems: readonly DeclarativeProblem[], doc: unknown) {
  const byEntity = new Map<
    string,
    { kind?: EntityKind; entity: unknown; errors: Record<string, unknown>[] }
  >();
  for (const p of problems) {
    const segs = segments(p.path);
    let node: unknown = doc;
    let kind: EntityKind | undefined;
    let entityEnd = 0;
    let entity: unknown;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      if (typeof seg === 'number' && typeof segs[i - 1] === 'string') {
        const key = segs[i - 1] as string;
        const k = (Object.hasOwn(KIND_SPEC, key) ? key : own(NESTED_KIND, key)) as EntityKind | undefined;
        if (k) {
          kind = k;
          entityEnd = i + 1;
          entity = Array.isArray(node) ? (node[seg] as unknown) : undefined;
        }
      }
      node = own(node, String(seg));
    }
    const entityPath = entityEnd ? p.path.slice(0, pathLength(p.path, entityEnd)) : '';
    const bucket = byEntity.get(entityPath) ?? { kind, entity, errors: [] };
    const field = segs.slice(entityEnd).map(String).join('.');
    bucket.errors.push(
      field
        ? { type: 'field', field, message: p.message, path: p.path }
        : { type: 'entity', message: p.message, path: p.path },
    );
    byEntity.set(entityPath, bucket);
  }
  return [...byEntity.entries()].map(([path, b]) => {
    const e = b.entity && typeof b.entity === 'object' ? (b.entity as Record<string, unknown>) : {};
    const spec = b.kind ? KIND_SPEC[b.kind] : undefined;
    const name = spec?.endpointKey ? own(e, spec.endpointKey) : undefined;
    return {
      entity_type: spec?.label ?? null,
      entity_path: path,
      entity_id: typeof own(e, 'id') === 'string' ? own(e, 'id') : null,
      entity_name: typeof name === 'string' ? name : null,
      entity_tags: Array.isArray(own(e, 'tags')) ? own(e, 'tags') : null,
      entity: b.entity ?? null,
      errors: b.errors,
    };
  });
}

/** Length of the path string covering its first `count` segments. */
function pathLength(path: string, count: number): number {
  let n = 0;
  let end = 0;
  for (const m of path.matchAll(/([^.[\]"]+)|\[(\d+)\]|"((?:[^"\\]|\\.)*)"/g)) {
    if (n === count) break;
    end = m.index + m[0].length;
    n++;
  }
  return end;
}

/**
 * Kong's 400 body for an invalid declarative config: `{ code: 14, name, message, fields,
 * flattened_errors }`, each error also carrying its `path`.
 */
export function declarativeErrorBody(e: unknown, doc?: unknown): Record<string, unknown> | undefined {
  if (!isGatehouseError(e) || !e.code.startsWith('GH_ERR_DECLARATIVE_')) return undefined;
  const problems = declarativeProblems(e);
  if (problems.length === 0) return undefined;
  return {
    code: KONG_DECLARATIVE_CONFIG_CODE,
    name: 'invalid declarative configuration',
    message: `declarative config is invalid: ${formatProblems(problems).replace(/\n/g, '; ')}`,
    fields: nestedFields(problems),
    flattened_errors: flattenedErrors(problems, doc),
  };
}
