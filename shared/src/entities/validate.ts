import { checkRecord } from '../schema/validate.js';
import type { RecordField } from '../schema/types.js';
import { schemaViolation, type FieldErrors } from './errors.js';

/** An entity's record schema (the name the Admin API's routers give it). */
export type Specs = RecordField;

/**
 * Checks `input` against an entity's schema with the entity rules (see `Rules`): unknown fields,
 * types, constraints, Kong's defaults (or the `base` values, the stored entity a PATCH applies to,
 * for omitted fields), then the entity checks. Returns the normalised record without the
 * timestamps the store owns, and every field's message (empty when valid). A body that is not a
 * record throws at once. Fields in error are left out of the values (checks on other fields may
 * still read those).
 */
export function checkEntity(
  schema: RecordField,
  input: unknown,
  base?: Readonly<Record<string, unknown>>,
): { values: Record<string, unknown>; errors: FieldErrors } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw schemaViolation({ '@entity': ['expected a record'] });
  }
  const { value, errors } = checkRecord(schema, input as Record<string, unknown>, { rules: 'entity', base });
  return { values: value, errors: errors ?? {} };
}

export function throwIfErrors(errors: FieldErrors): void {
  if (Object.keys(errors).length > 0) throw schemaViolation(errors);
}
