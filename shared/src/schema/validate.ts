import { schemaViolation } from '../entities/errors.js';
import type { EntityCheck, Field, FieldErrorTree, FieldErrorValue, RecordField } from './types.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What `check` returns: the value with defaults filled in, and Kong-shaped errors (null when valid). */
export interface CheckResult<T> {
  value: T;
  errors: FieldErrorTree | null;
}

function copy<T>(v: T): T {
  return v === null || typeof v !== 'object' ? v : structuredClone(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Validates one present, non-null value. Returns [normalised value, error or null]. */
function checkValue(field: Field, v: unknown): [unknown, FieldErrorValue | null] {
  switch (field.type) {
    case 'string': {
      if (typeof v !== 'string') return [v, 'expected a string'];
      if (field.len_min !== undefined && v.length < field.len_min)
        return [v, `length must be at least ${field.len_min}`];
      if (field.len_max !== undefined && v.length > field.len_max)
        return [v, `length must be at most ${field.len_max}`];
      if (field.one_of !== undefined && !field.one_of.includes(v))
        return [v, `expected one of: ${field.one_of.join(', ')}`];
      if (field.uuid === true && !UUID_RE.test(v)) return [v, 'expected a valid UUID'];
      if (field.starts_with !== undefined && !v.startsWith(field.starts_with))
        return [v, `should start with: ${field.starts_with}`];
      if (field.match !== undefined && !new RegExp(field.match).test(v)) return [v, `invalid value: ${v}`];
      if (field.not_match !== undefined && new RegExp(field.not_match).test(v))
        return [v, `invalid value: ${v}`];
      if (field.is_regex === true) {
        try {
          new RegExp(v);
        } catch {
          return [v, `not a valid regex: ${v}`];
        }
      }
      break;
    }
    case 'integer':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v))
        return [v, field.type === 'integer' ? 'expected an integer' : 'expected a number'];
      if (field.type === 'integer' && !Number.isInteger(v)) return [v, 'expected an integer'];
      if (field.one_of !== undefined && !field.one_of.includes(v))
        return [v, `expected one of: ${field.one_of.join(', ')}`];
      if (field.between !== undefined && (v < field.between[0] || v > field.between[1]))
        return [v, `value should be between ${field.between[0]} and ${field.between[1]}`];
      if (field.gt !== undefined && !(v > field.gt)) return [v, `value must be greater than ${field.gt}`];
      break;
    }
    case 'boolean':
      if (typeof v !== 'boolean') return [v, 'expected a boolean'];
      break;
    case 'array':
    case 'set': {
      if (!Array.isArray(v)) return [v, field.type === 'array' ? 'expected an array' : 'expected a set'];
      const out: unknown[] = [];
      const errs: (FieldErrorValue | null)[] = [];
      let bad = false;
      for (const el of v) {
        const [value, err] =
          el === null || el === undefined ? [el, 'required field missing'] : checkValue(field.elements, el);
        errs.push(err);
        if (err !== null) bad = true;
        if (field.type === 'set' && out.some((o) => JSON.stringify(o) === JSON.stringify(value))) continue;
        out.push(value);
      }
      if (bad) return [v, errs];
      if (field.len_min !== undefined && out.length < field.len_min)
        return [v, `length must be at least ${field.len_min}`];
      if (field.len_max !== undefined && out.length > field.len_max)
        return [v, `length must be at most ${field.len_max}`];
      v = out;
      break;
    }
    case 'map': {
      if (!isPlainObject(v)) return [v, 'expected a map'];
      const out: Record<string, unknown> = {};
      const errs: FieldErrorTree = {};
      let bad = false;
      for (const [k, el] of Object.entries(v)) {
        const [, kerr] = checkValue(field.keys, k);
        if (kerr !== null) {
          errs[k] = kerr;
          bad = true;
          continue;
        }
        const [value, err] =
          el === null || el === undefined ? [el, 'required field missing'] : checkValue(field.values, el);
        if (err !== null) {
          errs[k] = err;
          bad = true;
        }
        out[k] = value;
      }
      if (bad) return [v, errs];
      const n = Object.keys(out).length;
      if (field.len_min !== undefined && n < field.len_min)
        return [v, `length must be at least ${field.len_min}`];
      if (field.len_max !== undefined && n > field.len_max)
        return [v, `length must be at most ${field.len_max}`];
      v = out;
      break;
    }
    case 'record': {
      if (!isPlainObject(v)) return [v, 'expected a record'];
      const { value, errors } = checkRecord(field, v);
      if (errors !== null) return [v, errors];
      v = value;
      break;
    }
  }
  if (field.custom_validator !== undefined) {
    const msg = (field.custom_validator as (x: unknown) => string | null | undefined)(v);
    if (typeof msg === 'string') return [v, msg];
  }
  return [v, null];
}

/** Kong's handling of an absent (or null) field: default, required error, or null. */
function checkField(field: Field, present: boolean, v: unknown): [unknown, FieldErrorValue | null] {
  if (!present) {
    if (field.default !== undefined)
      return field.default === null ? [null, null] : checkValue(field, copy(field.default));
    // A required record without a default is built from its fields' defaults (Kong's `config`).
    if (field.type === 'record' && field.required === true) return checkValue(field, {});
    if (field.required === true) return [null, 'required field missing'];
    return [null, null];
  }
  if (v === null) return field.required === true ? [null, 'required field missing'] : [null, null];
  return checkValue(field, v);
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0);
}

function matches(v: unknown, m: { eq?: unknown; one_of?: readonly unknown[]; not_null?: boolean }): boolean {
  if (m.eq !== undefined && v !== m.eq) return false;
  if (m.one_of !== undefined && !m.one_of.includes(v)) return false;
  if (m.not_null === true && (v === null || v === undefined)) return false;
  return true;
}

function runEntityCheck(check: EntityCheck, rec: Record<string, unknown>, errors: FieldErrorTree): void {
  const entity = (msg: string): void => {
    const list = (errors['@entity'] ??= []) as FieldErrorValue[];
    list.push(msg);
  };
  const quoted = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');
  if ('at_least_one_of' in check) {
    if (check.at_least_one_of.every((n) => isEmpty(rec[n])))
      entity(`at least one of these fields must be non-empty: ${quoted(check.at_least_one_of)}`);
  } else if ('only_one_of' in check) {
    if (check.only_one_of.filter((n) => !isEmpty(rec[n])).length !== 1)
      entity(`exactly one of these fields must be non-empty: ${quoted(check.only_one_of)}`);
  } else if ('mutually_exclusive' in check) {
    if (check.mutually_exclusive.filter((n) => !isEmpty(rec[n])).length > 1)
      entity(`only one of these fields can be non-empty: ${quoted(check.mutually_exclusive)}`);
  } else if ('conditional' in check) {
    const c = check.conditional;
    if (!matches(rec[c.if_field], c.if_match)) return;
    const v = rec[c.then_field];
    const m = c.then_match;
    if (m.required === true && isEmpty(v)) errors[c.then_field] = 'required field missing';
    else if (m.eq !== undefined && v !== m.eq) errors[c.then_field] = `value must be ${fmt(m.eq)}`;
    else if (m.one_of !== undefined && !m.one_of.includes(v))
      errors[c.then_field] = `expected one of: ${m.one_of.map(fmt).join(', ')}`;
    else if (m.len_min !== undefined && (!Array.isArray(v) || v.length < m.len_min))
      errors[c.then_field] = `length must be at least ${m.len_min}`;
  } else {
    const msg = check.custom_entity_check.fn(rec);
    if (typeof msg === 'string') entity(msg);
  }
}

/** Validates a record's fields (unknown fields refused), then its entity checks. */
export function checkRecord(
  schema: RecordField,
  input: Record<string, unknown>,
): CheckResult<Record<string, unknown>> {
  const value: Record<string, unknown> = {};
  const errors: FieldErrorTree = {};
  for (const [name, field] of Object.entries(schema.fields)) {
    const present = Object.hasOwn(input, name) && input[name] !== undefined;
    const [v, err] = checkField(field, present, input[name]);
    if (err !== null) errors[name] = err;
    value[name] = v;
  }
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(schema.fields, name)) errors[name] = 'unknown field';
  }
  if (Object.keys(errors).length === 0 && schema.entity_checks !== undefined) {
    for (const c of schema.entity_checks) runEntityCheck(c, value, errors);
  }
  return { value, errors: Object.keys(errors).length === 0 ? null : errors };
}

/** Validates `input` against `field`, filling defaults; never throws. */
export function check<T = unknown>(field: Field, input: unknown): CheckResult<T> {
  const [value, err] = checkField(field, input !== undefined, input);
  if (err === null) return { value: value as T, errors: null };
  return {
    value: input as T,
    errors: typeof err === 'object' && !Array.isArray(err) ? err : { '@entity': [fmt(err)] },
  };
}

/**
 * Validates `input` against `field` and returns it with defaults filled in. Throws Kong's
 * schema violation (GH_ERR_ENTITY_SCHEMA_VIOLATION, 400) with the errors nested under `path`
 * (e.g. `['config']` for a plugin's configuration).
 */
export function validate<T = Record<string, unknown>>(
  field: Field,
  input: unknown,
  options: { path?: readonly string[] } = {},
): { value: T } {
  const { value, errors } = check<T>(field, input);
  if (errors === null) return { value };
  let tree: FieldErrorTree = errors;
  const path = options.path ?? [];
  for (let i = path.length - 1; i >= 0; i--) tree = { [path[i]!]: tree };
  throw schemaViolation(tree as Parameters<typeof schemaViolation>[0]);
}
