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

/** Deleting an entity that others still reference. */
export const referencedBy = (referencing: string, referenced: string) =>
  EntityErrors.foreignKeyViolation({
    message: `an existing '${referencing}' entity references this '${referenced}' entity`,
    name: 'foreign key violation',
    code: KONG_ERROR_CODES.FOREIGN_KEY_VIOLATION,
    fields: { '@referenced_by': referencing },
  });

const render = (v: unknown): string =>
  v === null || v === undefined
    ? 'null'
    : typeof v === 'object'
      ? `{${Object.entries(v as Record<string, unknown>)
          .map(([k, x]) => `${k}=${render(x)}`)
          .join(',')}}`
      : typeof v === 'string'
        ? `"${v}"`
        : JSON.stringify(v);

/** Kong's unique violation on a set of fields: `UNIQUE violation detected on '{upstream={id="…"},target="a:80"}'`. */
export const uniqueViolationOn = (fields: Record<string, unknown>) =>
  EntityErrors.uniqueViolation({
    message: `UNIQUE violation detected on '${render(fields)}'`,
    name: 'unique constraint violation',
    code: KONG_ERROR_CODES.UNIQUE_VIOLATION,
    fields,
  });
