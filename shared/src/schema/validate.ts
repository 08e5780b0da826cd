import { isReference, parseReference } from '../vaults/reference.js';
import { schemaViolation } from '../entities/errors.js';
import { hasNul, inputProblems, isPlainObject, isUuid, NUL_MESSAGE, putOwn } from './values.js';
import type {
  EntityCheck,
  Field,
  FieldErrorTree,
  FieldErrorValue,
  ForeignField,
  RecordField,
} from './types.js';

/** What `check` returns: the value with defaults filled in, and Kong-shaped errors (null when valid). */
export interface CheckResult<T> {
  value: T;
  errors: FieldErrorTree | null;
}

/**
 * How strictly values are read. `config` (plugin configurations, the default) follows Kong's
 * schema library. `entity` keeps the Admin API's entity messages, which differ in four places:
 * unknown fields are reported first; a null array element is checked as a value (so it gets the
 * element's type message); a set refuses duplicates (`duplicate value 'x'`) instead of dropping
 * them; `one_of` and `uuid` are checked before the type (a number where a protocol is expected
 * gets "expected one of: …"). Entities also leave the store's timestamps (`auto` + `timestamp`)
 * out of the value: they are checked when a client echoes them back, never kept.
 */
export type Rules = 'config' | 'entity';

export interface CheckOptions {
  rules?: Rules;
  /** Values standing in for absent top-level fields (the stored entity a PATCH applies to). */
  base?: Readonly<Record<string, unknown>>;
}

type Checked = [unknown, FieldErrorValue | null];

/** A deep copy of a default (plain JSON data), so results never share it. */
function copy<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copy) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) putOwn(out, k, copy(x));
  return out as T;
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function checkString(field: Field & { type: 'string' }, v: unknown, rules: Rules): FieldErrorValue | null {
  if (rules === 'entity') {
    if (field.one_of !== undefined && !field.one_of.includes(v as string))
      return `expected one of: ${field.one_of.join(', ')}`;
    if (field.uuid === true && !isUuid(v)) return 'expected a valid UUID';
  }
  if (typeof v !== 'string') return 'expected a string';
  if (hasNul(v)) return NUL_MESSAGE;
  if (field.len_min !== undefined && v.length < field.len_min)
    return `length must be at least ${field.len_min}`;
  if (field.len_max !== undefined && v.length > field.len_max)
    return `length must be at most ${field.len_max}`;
  if (field.one_of !== undefined && !field.one_of.includes(v))
    return `expected one of: ${field.one_of.join(', ')}`;
  if (field.uuid === true && !isUuid(v)) return 'expected a valid UUID';
  if (field.starts_with !== undefined && !v.startsWith(field.starts_with))
    return `should start with: ${field.starts_with}`;
  if (field.match !== undefined && !new RegExp(field.match).test(v)) return `invalid value: ${v}`;
  if (field.not_match !== undefined && new RegExp(field.not_match).test(v)) return `invalid value: ${v}`;
  if (field.is_regex === true) {
    try {
      new RegExp(v);
    } catch {
      return `not a valid regex: ${v}`;
    }
  }
  return null;
}

function checkNumber(
  field: Field & { type: 'integer' | 'number' },
  v: unknown,
  rules: Rules,
): FieldErrorValue | null {
  if (rules === 'entity' && field.one_of !== undefined && !field.one_of.includes(v as number))
    return `expected one of: ${field.one_of.join(', ')}`;
  const typeError = field.type === 'integer' ? 'expected an integer' : 'expected a number';
  if (typeof v !== 'number' || !Number.isFinite(v)) return typeError;
  if (field.type === 'integer' && !Number.isInteger(v)) return typeError;
  if (field.one_of !== undefined && !field.one_of.includes(v))
    return `expected one of: ${field.one_of.join(', ')}`;
  if (field.between !== undefined && (v < field.between[0] || v > field.between[1]))
    return `value should be between ${field.between[0]} and ${field.between[1]}`;
  if (field.gt !== undefined && !(v > field.gt)) return `value must be greater than ${field.gt}`;
  return null;
}

function checkElements(field: Field & { type: 'array' | 'set' }, v: unknown, rules: Rules): Checked {
  if (!Array.isArray(v)) return [v, field.type === 'array' ? 'expected an array' : 'expected a set'];
  const out: unknown[] = [];
  const errs: (FieldErrorValue | null)[] = [];
  let bad = false;
  for (const el of v as unknown[]) {
    const [value, err] =
      rules === 'config' && (el === null || el === undefined)
        ? [el, 'required field missing']
        : checkValue(field.elements, el, rules);
    if (err !== null) {
      errs.push(err);
      bad = true;
    } else if (field.type === 'set' && rules === 'entity' && out.includes(value)) {
      errs.push(`duplicate value '${String(el)}'`);
      bad = true;
    } else {
      errs.push(null);
      if (
        field.type === 'set' &&
        rules === 'config' &&
        out.some((o) => JSON.stringify(o) === JSON.stringify(value))
      )
        continue;
      out.push(value);
    }
  }
  // Kong's per-element messages are a Lua table: trailing elements without a message are absent.
  if (bad) return [v, errs.slice(0, errs.findLastIndex((e) => e !== null) + 1)];
  if (field.len_min !== undefined && out.length < field.len_min)
    return [v, `length must be at least ${field.len_min}`];
  if (field.len_max !== undefined && out.length > field.len_max)
    return [v, `length must be at most ${field.len_max}`];
  return [out, null];
}

function checkMap(field: Field & { type: 'map' }, v: unknown, rules: Rules): Checked {
  if (!isPlainObject(v)) return [v, 'expected a map'];
  const out: Record<string, unknown> = {};
  const errs: FieldErrorTree = {};
  let bad = false;
  for (const [k, el] of Object.entries(v)) {
    const [, kerr] = checkValue(field.keys, k, rules);
    if (kerr !== null) {
      putOwn(errs, k, kerr);
      bad = true;
      continue;
    }
    const [value, err] =
      el === null || el === undefined ? [el, 'required field missing'] : checkValue(field.values, el, rules);
    if (err !== null) {
      putOwn(errs, k, err);
      bad = true;
    }
    putOwn(out, k, value);
  }
  if (bad) return [v, errs];
  const n = Object.keys(out).length;
  if (field.len_min !== undefined && n < field.len_min)
    return [v, `length must be at least ${field.len_min}`];
  if (field.len_max !== undefined && n > field.len_max) return [v, `length must be at most ${field.len_max}`];
  return [out, null];
}

/** Kong's message for a reference's primary key (`validate_primary_key`), or null when it is valid. */
function primaryKeyError(id: unknown): string | null {
  if (id === undefined) return 'missing primary key';
  if (id === null) return 'required field missing';
  return isUuid(id) ? null : 'expected a valid UUID';
}

/**
 * A reference to another entity, checked as Kong checks a `foreign` field: `{ id }` with a valid
 * UUID (other keys ignored), or, with `by_name`, `{ name }` (the store resolves it, Kong's
 * `resolve_foreign`). Otherwise the value is checked against the referenced schema without its
 * required fields (`service.protocol: expected one of: …`), and failing that, the primary key's
 * message (`service.id: missing primary key`). Messages are nested under the field, as Kong's.
 */
function checkForeign(field: ForeignField, v: unknown, rules: Rules): Checked {
  if (!isPlainObject(v)) return [v, 'expected a record'];
  const { id, name } = v;
  const pkError = primaryKeyError(id);
  if (pkError === null) return [{ id: (id as string).toLowerCase() }, null];
  if (
    id === undefined &&
    field.by_name === true &&
    typeof name === 'string' &&
    name.length > 0 &&
    !hasNul(name)
  )
    return [{ name }, null];
  const partial = checkPartial(referencedFields(field), v, rules);
  return [v, partial ?? { id: pkError }];
}

const ID_FIELD: Field = { type: 'string', uuid: true };
const NAME_FIELD: Field = { type: 'string', len_min: 1 };

/** The fields a reference may hold: the referenced schema's (or just `id`), and `name` with `by_name`. */
function referencedFields(field: ForeignField): RecordField['fields'] {
  const fields = field.schema?.().fields ?? { id: ID_FIELD };
  return field.by_name === true && !Object.hasOwn(fields, 'name') ? { ...fields, name: NAME_FIELD } : fields;
}

/**
 * Kong's `validate(value, false)`: the fields present (and not null) checked against `fields`,
 * unknown fields refused; no defaults, no required fields, no entity checks. Null when valid.
 */
function checkPartial(
  fields: RecordField['fields'],
  input: Record<string, unknown>,
  rules: Rules,
): FieldErrorTree | null {
  const errors: FieldErrorTree = {};
  reportUnknown(fields, input, errors);
  for (const [name, value] of Object.entries(input)) {
    if (!Object.hasOwn(fields, name) || value === null || value === undefined) continue;
    const [, err] = checkValue(fields[name]!, value, rules);
    if (err !== null) putOwn(errors, name, err);
  }
  return Object.keys(errors).length > 0 ? errors : null;
}

/** Validates one present value. Returns [normalised value, error or null]. */
function checkValue(field: Field, v: unknown, rules: Rules, base?: CheckOptions['base']): Checked {
  // Kong: a reference in a `referenceable` field skips the field's own checks (the value is read
  // on the data plane); we also check the reference's syntax here, so a typo is a 400, not a 500.
  if (field.referenceable === true && isReference(v)) {
    const parsed = parseReference(v);
    return [v, parsed.ok ? null : `invalid vault reference: ${parsed.error}`];
  }
  if (field.parse !== undefined) {
    // The typedef reads the value whole: refuse a NUL (no string field may hold one) anywhere in it.
    const refused = inputProblems(v, { limit: 1, forbiddenKeys: false })[0];
    if (refused) return [v, refused.message];
    const r = field.parse(v);
    return 'error' in r ? [v, r.error] : [r.value, null];
  }
  let checked: Checked;
  switch (field.type) {
    case 'string':
      checked = [v, checkString(field, v, rules)];
      break;
    case 'integer':
    case 'number':
      checked = [v, checkNumber(field, v, rules)];
      break;
    case 'boolean':
      checked = [v, typeof v === 'boolean' ? null : 'expected a boolean'];
      break;
    case 'array':
    case 'set':
      checked = checkElements(field, v, rules);
      break;
    case 'map':
      checked = checkMap(field, v, rules);
      break;
    case 'foreign':
      checked = checkForeign(field, v, rules);
      break;
    case 'record': {
      if (!isPlainObject(v)) return [v, 'expected a record'];
      const { value, errors } = checkRecord(field, v, { rules, base });
      checked = errors === null ? [value, null] : [v, errors];
      break;
    }
  }
  if (checked[1] !== null) return checked;
  if (field.custom_validator !== undefined) {
    const msg = (field.custom_validator as (x: unknown) => string | null | undefined)(checked[0]);
    if (typeof msg === 'string') return [checked[0], msg];
  }
  if (field.normalize !== undefined) return [(field.normalize as (x: unknown) => unknown)(checked[0]), null];
  return checked;
}

/** Kong's handling of an absent (or null) field: default, required error, or null. */
function checkField(
  field: Field,
  present: boolean,
  v: unknown,
  rules: Rules,
  base?: CheckOptions['base'],
): Checked {
  if (!present) {
    if (field.default !== undefined)
      return field.default === null ? [null, null] : checkValue(field, copy(field.default), rules);
    // A required record without a default is built from its fields' defaults (Kong's `config`).
    if (field.type === 'record' && field.required === true) return checkValue(field, {}, rules, base);
    if (field.required === true) return [null, 'required field missing'];
    return [null, null];
  }
  if (v === null) return field.required === true ? [null, 'required field missing'] : [null, null];
  return checkValue(field, v, rules, base);
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

function addEntityError(errors: FieldErrorTree, msg: string): void {
  const list = (errors['@entity'] ??= []) as FieldErrorValue[];
  list.push(msg);
}

/** Merges a custom check's field messages (Kong lets `custom_entity_check` return a table). */
function mergeErrors(errors: FieldErrorTree, tree: FieldErrorTree): void {
  for (const [k, v] of Object.entries(tree)) {
    if (k === '@entity' && Array.isArray(v)) for (const m of v) addEntityError(errors, m as string);
    else putOwn(errors, k, v);
  }
}

const quoted = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');

/** Kong's `@entity` message when a `conditional` check's `then_match` fails. */
const conditionalFailed = (ifField: string) =>
  `failed conditional validation given value of field '${ifField}'`;

/** The fields an entity check reads (Kong's `field_sources`, or the check's list of names). */
function checkFields(check: EntityCheck): readonly string[] {
  if ('conditional' in check) return [check.conditional.if_field, check.conditional.then_field];
  if ('custom_entity_check' in check) return check.custom_entity_check.field_sources;
  return Object.values(check)[0] as readonly string[];
}

/** Kong's entity checkers that still run when one of their fields is in error (`run_with_invalid_fields`). */
function runsWithInvalidFields(check: EntityCheck): boolean {
  return (
    'conditional' in check || 'at_least_one_of' in check || 'only_one_of' in check || 'distinct' in check
  );
}

/** Kong's `conditional`: when `if_field` matches, `then_field` must match (field message + `@entity`). */
function runConditional(
  c: Extract<EntityCheck, { conditional: unknown }>['conditional'],
  rec: Record<string, unknown>,
  errors: FieldErrorTree,
): void {
  if (!matches(rec[c.if_field], c.if_match)) return;
  const v = rec[c.then_field];
  const m = c.then_match;
  let message: string | null = null;
  if (v === null || v === undefined) {
    // Kong's validate_field on null: only `required` and a non-null `eq` refuse it.
    if (m.required === true) message = 'required field missing';
    else if (m.eq !== undefined && m.eq !== null) message = `value must be ${fmt(m.eq)}`;
  } else if (m.eq !== undefined && v !== m.eq) message = `value must be ${fmt(m.eq)}`;
  else if (m.one_of !== undefined && !m.one_of.includes(v))
    message = `expected one of: ${m.one_of.map(fmt).join(', ')}`;
  else if (m.len_min !== undefined && (!Array.isArray(v) || v.length < m.len_min))
    message = `length must be at least ${m.len_min}`;
  else if (m.custom_validator !== undefined) message = m.custom_validator(v) ?? null;
  if (message === null) return;
  putOwn(errors, c.then_field, message);
  addEntityError(errors, conditionalFailed(c.if_field));
}

function runEntityCheck(check: EntityCheck, rec: Record<string, unknown>, errors: FieldErrorTree): void {
  if ('at_least_one_of' in check) {
    if (check.at_least_one_of.every((n) => isEmpty(rec[n])))
      addEntityError(
        errors,
        `at least one of these fields must be non-empty: ${quoted(check.at_least_one_of)}`,
      );
  } else if ('only_one_of' in check) {
    if (check.only_one_of.filter((n) => !isEmpty(rec[n])).length !== 1)
      addEntityError(errors, `exactly one of these fields must be non-empty: ${quoted(check.only_one_of)}`);
  } else if ('mutually_exclusive' in check) {
    if (check.mutually_exclusive.filter((n) => !isEmpty(rec[n])).length > 1)
      addEntityError(
        errors,
        `only one of these fields can be non-empty: ${quoted(check.mutually_exclusive)}`,
      );
  } else if ('all_or_none_of' in check) {
    const set = check.all_or_none_of.filter((n) => !isEmpty(rec[n])).length;
    if (set !== 0 && set !== check.all_or_none_of.length)
      addEntityError(errors, `all or none of these fields must be set: ${quoted(check.all_or_none_of)}`);
  } else if ('distinct' in check) {
    const [first, ...others] = check.distinct.map((n) => rec[n]);
    if (first !== null && first !== undefined && others.every((o) => o === first))
      addEntityError(errors, `values of these fields must be distinct: ${quoted(check.distinct)}`);
  } else if ('conditional' in check) {
    runConditional(check.conditional, rec, errors);
  } else {
    const found = check.custom_entity_check.fn(rec);
    if (typeof found === 'string') addEntityError(errors, found);
    else if (found !== null && found !== undefined) mergeErrors(errors, found);
  }
}

/**
 * Validates a record's fields (unknown fields refused), then, when every field is valid, its
 * entity checks. The value leaves out fields in error and, under the entity rules, the
 * timestamps the store owns (`auto` + `timestamp`: checked when a client echoes them, not kept).
 */
export function checkRecord(
  schema: RecordField,
  input: Record<string, unknown>,
  options: CheckOptions = {},
): CheckResult<Record<string, unknown>> {
  const rules = options.rules ?? 'config';
  const base = options.base;
  const fields = schema.fields;
  const value: Record<string, unknown> = {};
  const errors: FieldErrorTree = {};
  let bad = false;
  if (rules === 'entity') bad = reportUnknown(fields, input, errors);
  for (const name in fields) {
    const field = fields[name]!;
    let v = Object.hasOwn(input, name) ? input[name] : undefined;
    if (v === undefined && base !== undefined && Object.hasOwn(base, name)) v = base[name];
    const [checked, err] = checkField(field, v !== undefined, v, rules);
    if (err !== null) {
      errors[name] = err;
      bad = true;
    } else if (rules === 'config' || field.auto !== true || field.timestamp !== true) value[name] = checked;
  }
  if (rules === 'config') bad = reportUnknown(fields, input, errors) || bad;
  if (schema.entity_checks !== undefined) {
    // As Kong: a check whose fields are in error is skipped, unless it is one of the checkers
    // that read the values as given (`run_with_invalid_fields`).
    const given = { ...value };
    for (const name of Object.keys(errors))
      if (Object.hasOwn(fields, name) && Object.hasOwn(input, name)) putOwn(given, name, input[name]);
    for (const c of schema.entity_checks) {
      const withInvalid = checkFields(c).some((n) => Object.hasOwn(errors, n));
      if (withInvalid && !runsWithInvalidFields(c)) continue;
      runEntityCheck(c, withInvalid ? given : value, errors);
    }
    bad = Object.keys(errors).length > 0;
  }
  return { value, errors: bad ? errors : null };
}

/** Puts "unknown field" in `errors` for each key of `input` that `fields` lacks; true if any. */
function reportUnknown(
  fields: RecordField['fields'],
  input: Record<string, unknown>,
  errors: FieldErrorTree,
): boolean {
  let found = false;
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(fields, name)) {
      putOwn(errors, name, 'unknown field');
      found = true;
    }
  }
  return found;
}

/** Validates `input` against `field`, filling defaults; never throws. */
export function check<T = unknown>(field: Field, input: unknown, options: CheckOptions = {}): CheckResult<T> {
  const [value, err] = checkField(field, input !== undefined, input, options.rules ?? 'config', options.base);
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
  options: CheckOptions & { path?: readonly string[] } = {},
): { value: T } {
  const { value, errors } = check<T>(field, input, options);
  if (errors === null) return { value };
  let tree: FieldErrorTree = errors;
  const path = options.path ?? [];
  for (let i = path.length - 1; i >= 0; i--) tree = { [path[i]!]: tree };
  throw schemaViolation(tree);
}
