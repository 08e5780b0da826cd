import { GatehouseError, defineError, isGatehouseError } from '../errors.js';
import type { FieldErrorTree } from '../schema/types.js';
import { putOwn, type InputProblem } from '../schema/values.js';

/** Kong's database error codes (kong/db/errors.lua), as they appear in Admin API bodies. */
export const KONG_ERROR_CODES = {
  INVALID_PRIMARY_KEY: 1,
  SCHEMA_VIOLATION: 2,
  PRIMARY_KEY_VIOLATION: 3,
  FOREIGN_KEY_VIOLATION: 4,
  UNIQUE_VIOLATION: 5,
  NOT_FOUND: 6,
  INVALID_OFFSET: 7,
  DATABASE_ERROR: 8,
  INVALID_SIZE: 9,
  INVALID_UNIQUE: 10,
  INVALID_OPTIONS: 11,
  OPERATION_UNSUPPORTED: 12,
  FOREIGN_KEYS_UNRESOLVED: 13,
  REFERENCED_BY_OTHERS: 19,
} as const;

/** The JSON body Kong answers with: `{ message, name, code, fields }` (`name`, `code`, `fields` may be absent). */
export interface KongErrorBody {
  message: string;
  name?: string;
  code?: number;
  fields?: Record<string, unknown>;
}

/** Per-field messages; `@entity` holds messages about the entity as a whole. Arrays hold per-element messages. */
export type FieldErrors = FieldErrorTree;

const make = (code: string, status: number) => {
  const factory = defineError(code, status);
  return (body: KongErrorBody) => factory(body.message, { body });
};

/** Entity errors are GatehouseErrors whose `details.body` is the Kong-shaped response body. */
export const EntityErrors = {
  schemaViolation: make('GH_ERR_ENTITY_SCHEMA_VIOLATION', 400),
  uniqueViolation: make('GH_ERR_ENTITY_UNIQUE_VIOLATION', 409),
  primaryKeyViolation: make('GH_ERR_ENTITY_PRIMARY_KEY_VIOLATION', 400),
  foreignKeyViolation: make('GH_ERR_ENTITY_FOREIGN_KEY_VIOLATION', 400),
  foreignKeysUnresolved: make('GH_ERR_ENTITY_FOREIGN_KEYS_UNRESOLVED', 400),
  notFound: make('GH_ERR_ENTITY_NOT_FOUND', 404),
  invalidSize: make('GH_ERR_ENTITY_INVALID_SIZE', 400),
  invalidOffset: make('GH_ERR_ENTITY_INVALID_OFFSET', 400),
  invalidPrimaryKey: make('GH_ERR_ENTITY_INVALID_PRIMARY_KEY', 400),
  invalidOptions: make('GH_ERR_ENTITY_INVALID_OPTIONS', 400),
} as const;

/** The Kong body carried by an entity error, if `e` is one. */
export function kongErrorBody(e: unknown): KongErrorBody | undefined {
  if (!isGatehouseError(e)) return undefined;
  const body = e.details?.body;
  return body && typeof body === 'object' && typeof (body as KongErrorBody).message === 'string'
    ? (body as KongErrorBody)
    : undefined;
}

const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Kong's `schema_violation` message parts: the `@entity` messages first, then each field in key
 * order (`name: message`), a record's or array's entries one level down (`service.protocol: …`,
 * `protocols.1: …`). Deeper entries are spelled out with dots (Kong pretty-prints the nested table).
 */
function flatten(fields: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  const entity = fields['@entity'];
  if (prefix === '' && Array.isArray(entity)) for (const m of entity) if (typeof m === 'string') out.push(m);
  for (const key of Object.keys(fields).sort(byteOrder)) {
    const value = fields[key];
    if (key === '@entity' && Array.isArray(value)) {
      // Top-level ones came first; a nested record's entity messages are given as they are.
      if (prefix !== '') for (const m of value) if (typeof m === 'string') out.push(m);
      continue;
    }
    if (typeof value === 'string') {
      out.push(`${prefix}${key}: ${value}`);
    } else if (Array.isArray(value)) {
      value.forEach((m, i) => {
        if (typeof m === 'string') out.push(`${prefix}${key}.${i + 1}: ${m}`);
        else if (m && typeof m === 'object')
          out.push(...flatten(m as Record<string, unknown>, `${prefix}${key}.${i + 1}.`));
      });
    } else if (value && typeof value === 'object') {
      out.push(...flatten(value as Record<string, unknown>, `${prefix}${key}.`));
    }
  }
  return out;
}

/** Kong's schema-violation error: message "schema violation (f: m)" or "N schema violations (f: m; g: n)". */
export function schemaViolation(fields: FieldErrors): GatehouseError {
  const parts = flatten(fields);
  const message =
    parts.length === 1
      ? `schema violation (${parts[0]})`
      : `${parts.length} schema violations (${parts.join('; ')})`;
  return EntityErrors.schemaViolation({
    message,
    name: 'schema violation',
    code: KONG_ERROR_CODES.SCHEMA_VIOLATION,
    fields,
  });
}

/**
 * Kong's schema violation for what `inputProblems` refused (a `__proto__` key, a NUL character,
 * too deep a nesting): each problem under its path in `fields`, built with own properties only.
 */
export function inputViolation(problems: readonly InputProblem[]): GatehouseError {
  const fields: Record<string, unknown> = {};
  for (const { path, message } of problems) {
    if (path.length === 0) {
      putOwn(fields, '@entity', [...((fields['@entity'] as string[] | undefined) ?? []), message]);
      continue;
    }
    let node = fields;
    for (const seg of path.slice(0, -1)) {
      const key = String(seg);
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      if (next === null || typeof next !== 'object' || Array.isArray(next)) putOwn(node, key, {});
      node = node[key] as Record<string, unknown>;
    }
    putOwn(node, String(path[path.length - 1]), message);
  }
  return schemaViolation(fields as FieldErrors);
}
