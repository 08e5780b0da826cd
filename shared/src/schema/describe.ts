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
