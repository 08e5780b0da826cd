import { EntityErrors, KONG_ERROR_CODES } from '@gatehouse/shared';

export const notFound = () => EntityErrors.notFound({ message: 'Not found' });

/** Kong's renderings of key values: `{name="foo"}`. */
const keyText = (key: Record<string, string>) =>
  `{${Object.entries(key)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

export const uniqueViolation = (field: string, value: string) =>
  EntityErrors.uniqueViolation({
    message: `UNIQUE violation detected on '${keyText({ [field]: value })}'`,
    name: 'unique constraint violation',
    code: KONG_ERROR_CODES.UNIQUE_VIOLATION,
    fields: { [field]: value },
  });

export const primaryKeyViolation = (id: string) =>
  EntityErrors.primaryKeyViolation({
    message: `primary key violation on key '${keyText({ id })}'`,
    name: 'primary key violation',
    code: KONG_ERROR_CODES.PRIMARY_KEY_VIOLATION,
    fields: { id },
  });

/** A route names a service that does not exist. */
export const missingForeignKey = (field: string, key: Record<string, string>, entity: string) =>
  EntityErrors.foreignKeyViolation({
    message: `the foreign key '${keyText(key)}' does not reference an existing '${entity}' entity.`,
    name: 'foreign key violation',
    code: KONG_ERROR_CODES.FOREIGN_KEY_VIOLATION,
    fields: { [field]: key },
  });

/**
 * Kong's `foreign_keys_unresolved` (code 13): a reference given by a unique field (`service.name`)
 * that no entity has. `field` is the reference (`service`), `key` the field it was given by.
 */
export const unresolvedForeignKey = (field: string, key: string, value: string, entity: string) => {
  const why = `the foreign key cannot be resolved with '${keyText({ [key]: value })}' for an existing '${entity}' entity`;
  return EntityErrors.foreignKeysUnresolved({
    message: `foreign key unresolved (${field}.${key}: ${why})`,
    name: 'foreign keys unresolved',
    code: KONG_ERROR_CODES.FOREIGN_KEYS_UNRESOLVED,
    fields: { [field]: { [key]: why } },
  });
};

/** Deleting an entity that others still reference. */
export const referencedBy = (referencing: string, referenced: string) =>
  EntityErrors.foreignKeyViolation({
    message: `an existing '${referencing}' entity references this '${referenced}' entity`,
    name: 'foreign key violation',
    code: KONG_ERROR_CODES.FOREIGN_KEY_VIOLATION,
    fields: { '@referenced_by': referencing },
  });

/** Penlight's `pretty.write(v, "")`, as Kong renders keys in messages: keys sorted, no spaces. */
const render = (v: unknown): string =>
  v === null || v === undefined
    ? 'null'
    : typeof v === 'object'
      ? `{${Object.entries(v as Record<string, unknown>)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => `${k}=${render(x)}`)
          .join(',')}}`
      : typeof v === 'string'
        ? `"${v}"`
        : JSON.stringify(v);

/**
 * Fields of a unique set that only Kong Enterprise has: left out of the message and `fields` when
 * null, so the body is Kong's (a plugin's `{consumer=null,name="…",route=…,service=null}`).
 */
const ENTERPRISE_ONLY = new Set(['consumer_group']);

/** Kong's unique violation on a set of fields: `UNIQUE violation detected on '{target="a:80",upstream={id="…"}}'`. */
export const uniqueViolationOn = (all: Record<string, unknown>) => {
  const fields = Object.fromEntries(
    Object.entries(all).filter(([k, v]) => !(ENTERPRISE_ONLY.has(k) && (v === null || v === undefined))),
  );
  return EntityErrors.uniqueViolation({
    message: `UNIQUE violation detected on '${render(fields)}'`,
    name: 'unique constraint violation',
    code: KONG_ERROR_CODES.UNIQUE_VIOLATION,
    fields,
  });
};
