import type { EntityCheck, Field, RecordField } from './types.js';

export type KongFieldJson = Record<string, unknown>;

/** Attributes that steer Gatehouse's validator but are not Kong's, left out of `/schemas` output. */
const NOT_KONG = new Set(['by_name']);

function describeCheck(c: EntityCheck): Record<string, unknown> {
  if ('custom_entity_check' in c)
    return { custom_entity_check: { field_sources: [...c.custom_entity_check.field_sources] } };
  if ('conditional' in c) {
    // Kong renders a `custom_validator` of `then_match` as nothing (a function is not JSON).
    const { custom_validator: _fn, ...then_match } = c.conditional.then_match;
    return { conditional: structuredClone({ ...c.conditional, then_match }) };
  }
  return structuredClone(c);
}

/** One field as Kong renders it in `GET /schemas/...` (functions left out, records' fields as an array). */
export function describe(field: Field): KongFieldJson {
  const out: KongFieldJson = {};
  for (const [k, v] of Object.entries(field)) {
    if (v === undefined || typeof v === 'function' || NOT_KONG.has(k)) continue;
    switch (k) {
      case 'fields':
        out.fields = Object.entries(v as Record<string, Field>).map(([name, f]) => ({ [name]: describe(f) }));
        break;
      case 'elements':
      case 'keys':
      case 'values':
        out[k] = describe(v as Field);
        break;
      case 'entity_checks':
        out.entity_checks = (v as EntityCheck[]).map(describeCheck);
        break;
      default:
        out[k] = structuredClone(v) as unknown;
    }
  }
  return out;
}

/** Kong's `GET /schemas/{entity}` body for an entity's record schema: `{ fields, entity_checks }`. */
export function describeEntity(schema: RecordField): KongFieldJson {
  const { type: _type, ...rest } = describe(schema);
  return rest;
}

/** An entity check with its field names under `prefix` (`allow` -> `config.allow`). */
function prefixCheck(check: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const at = (name: unknown) => (typeof name === 'string' ? `${prefix}${name}` : name);
  const out: Record<string, unknown> = {};
  for (const [kind, arg] of Object.entries(check)) {
    if (Array.isArray(arg)) out[kind] = arg.map(at);
    else if (kind === 'conditional' && arg && typeof arg === 'object') {
      const c = arg as Record<string, unknown>;
      out[kind] = { ...c, if_field: at(c.if_field), then_field: at(c.then_field) };
    } else if (kind === 'custom_entity_check' && arg && typeof arg === 'object') {
      const c = arg as { field_sources?: unknown[] };
      out[kind] = { ...c, field_sources: (c.field_sources ?? []).map(at) };
    } else out[kind] = arg;
  }
  return out;
}

/**
 * Kong's `GET /schemas/plugins/{name}` body: a plugin's checks over its config are the
 * subschema's own `entity_checks`, naming `config.<field>` (ip-restriction's
 * `{ at_least_one_of: ['config.allow', 'config.deny'] }`), not checks inside `config`.
 */
export function describePluginSchema(described: KongFieldJson): KongFieldJson {
  const fields = Array.isArray(described.fields) ? (described.fields as KongFieldJson[]) : [];
  const lifted: Record<string, unknown>[] = [];
  const out = fields.map((entry) => {
    const config = entry.config as KongFieldJson | undefined;
    if (!config || !Array.isArray(config.entity_checks)) return entry;
    const { entity_checks: checks, ...rest } = config;
    for (const c of checks as Record<string, unknown>[]) lifted.push(prefixCheck(c, 'config.'));
    return { ...entry, config: rest };
  });
  const own = Array.isArray(described.entity_checks) ? (described.entity_checks as unknown[]) : [];
  const entityChecks = [...own, ...lifted];
  return { ...described, fields: out, ...(entityChecks.length > 0 ? { entity_checks: entityChecks } : {}) };
}
