import { schemaViolation, type FieldErrors } from './errors.js';
import { FieldError, type FieldSpec } from './fields.js';

export type Specs = Record<string, FieldSpec>;

export interface ValidateOptions {
  /** The stored entity a PATCH applies to: its values stand in for fields the input omits. */
  base?: Record<string, unknown>;
  /** Input fields accepted but not validated as entity fields (e.g. shorthands already expanded). */
  extraKeys?: readonly string[];
}

/**
 * Checks `input` against `specs` in field order: unknown fields, types, constraints, then fills
 * Kong's defaults (or the `base` values) for omitted fields. Throws one schema violation naming
 * every bad field; otherwise returns the normalised record (read-only fields dropped).
 */
export function validateFields(
  input: unknown,
  specs: Specs,
  options: ValidateOptions = {},
): { values: Record<string, unknown>; errors: FieldErrors } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw schemaViolation({ '@entity': ['expected a record'] });
  }
  const body = input as Record<string, unknown>;
  const errors: FieldErrors = {};
  for (const key of Object.keys(body)) {
    if (!(key in specs) && !options.extraKeys?.includes(key)) errors[key] = 'unknown field';
  }
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.kind === 'ignored') {
      if (body[key] !== undefined && body[key] !== null) {
        try {
          spec.validate(body[key]);
        } catch (e) {
          if (!(e instanceof FieldError)) throw e;
          errors[key] = e.detail;
        }
      }
      continue;
    }
    let value = body[key];
    if (value === undefined) value = options.base && key in options.base ? options.base[key] : spec.default;
    if (value === undefined || value === null) {
      if (value === null && spec.nullable) {
        values[key] = null;
      } else if (spec.default !== undefined && value === null && !spec.nullable) {
        errors[key] = 'required field missing';
      } else if (!spec.nullable) {
        errors[key] = 'required field missing';
      } else {
        values[key] = null;
      }
      continue;
    }
    try {
      values[key] = spec.validate(value);
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      errors[key] = e.detail;
    }
  }
  return { values, errors };
}

export function throwIfErrors(errors: FieldErrors): void {
  if (Object.keys(errors).length > 0) throw schemaViolation(errors);
}

export function addEntityError(errors: FieldErrors, message: string): void {
  const list = (errors['@entity'] as string[] | undefined) ?? [];
  list.push(message);
  errors['@entity'] = list;
}

/** Kong returns an empty set as null: `[]` and null mean the same thing for these fields. */
export function emptyToNull<T>(value: T[] | null | undefined): T[] | null {
  return value && value.length > 0 ? value : null;
}
