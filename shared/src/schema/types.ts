/**
 * The Kong-style schema DSL: a field is a plain object shaped like Kong's schema entries
 * (`type`, `required`, `default`, `one_of`, `between`, `elements`, `fields`, …), so `describe`
 * is close to the identity and a Kong user reads our schemas like Kong's. `custom_validator`
 * and `entity_checks` are functions/objects that `describe` renders the way Kong does.
 */

/** Returns an error message, or null/undefined when the value is fine. */
export type CustomValidator<T> = (value: T) => string | null | undefined;

interface FieldBase<T> {
  required?: boolean;
  /** Used when the field is absent (deep-copied). `null` makes an explicit null default. */
  default?: T | null;
  description?: string;
  /**
   * Kong's `referenceable`: the value may be a vault reference (`{vault://env/x}`), checked for
   * syntax at write time and resolved on the data plane (docs/vaults.md). Only on string fields
   * (or the elements / map values of a field).
   */
  referenceable?: boolean;
  /** Kong's `encrypted`: informational here. */
  encrypted?: boolean;
  custom_validator?: CustomValidator<T>;
  /** Kong's `auto`: the store sets it (ids, timestamps); form input does not coerce it. */
  auto?: boolean;
  /** Kong's `timestamp`: seconds since the epoch (informational here). */
  timestamp?: boolean;
  /** Kong's `transient`: accepted on writes, never stored (a certificate's `snis`). */
  transient?: boolean;
  /** Rewrites a valid value (lower-cased hosts, normalised targets); runs after every check. */
  normalize?: (value: T) => T;
  /**
   * A typedef Kong checks as one value (one message for the field, never a tree): used instead
   * of the type's own checks. The other attributes still describe the field in `/schemas`.
   */
  parse?: (value: unknown) => ParseResult;
}

/** What a typedef's `parse` returns: the normalised value, or the field's message. */
export type ParseResult = { value: unknown } | { error: string };

export interface StringField extends FieldBase<string> {
  type: 'string';
  one_of?: readonly string[];
  /** A JavaScript regular expression source (Kong uses a Lua pattern). */
  match?: string;
  /** Values matching one of these are refused: "invalid value: …". */
  not_match?: string;
  len_min?: number;
  len_max?: number;
  starts_with?: string;
  /** The value must compile as a JavaScript regular expression. */
  is_regex?: boolean;
  /** The value must be a UUID. */
  uuid?: boolean;
}

export interface IntegerField extends FieldBase<number> {
  type: 'integer';
  one_of?: readonly number[];
  between?: readonly [number, number];
  gt?: number;
}

export interface NumberField extends FieldBase<number> {
  type: 'number';
  one_of?: readonly number[];
  between?: readonly [number, number];
  gt?: number;
}

export interface BooleanField extends FieldBase<boolean> {
  type: 'boolean';
}

export interface ArrayField extends FieldBase<unknown[]> {
  type: 'array';
  elements: Field;
  len_min?: number;
  len_max?: number;
}

/** An array whose duplicates are removed (Kong's `set`). */
export interface SetField extends FieldBase<unknown[]> {
  type: 'set';
  elements: Field;
  len_min?: number;
  len_max?: number;
}

export interface MapField extends FieldBase<Record<string, unknown>> {
  type: 'map';
  keys: StringField;
  values: Field;
  len_min?: number;
  len_max?: number;
}

/**
 * A reference to another entity, written `{ id }` (or `{ name }` with `by_name`, resolved by the
 * store through the target's endpoint key). Kong renders it `{ type: 'foreign', reference }`.
 */
export interface ForeignField extends FieldBase<{ id?: string; name?: string }> {
  type: 'foreign';
  /** The referenced entity's table (`services`, `consumers`, …). */
  reference: string;
  /** The reference may name the target by its endpoint key (`{ name }`) instead of `{ id }`. */
  by_name?: boolean;
  /**
   * The referenced entity's schema (Kong's `field.schema`), read when a reference has no valid id:
   * its fields are checked as Kong checks them (`service.protocol: expected one of: …`).
   */
  schema?: () => RecordField;
}

/** Checks over several fields of a record; messages go under `@entity` as in Kong. */
export type EntityCheck =
  | { at_least_one_of: readonly string[] }
  | { only_one_of: readonly string[] }
  | { mutually_exclusive: readonly string[] }
  | { all_or_none_of: readonly string[] }
  | { distinct: readonly string[] }
  | {
      conditional: {
        if_field: string;
        if_match: { eq?: unknown; one_of?: readonly unknown[]; not_null?: boolean };
        then_field: string;
        then_match: {
          required?: boolean;
          eq?: unknown;
          one_of?: readonly unknown[];
          len_min?: number;
          /** Checked only when the condition holds (jwt's `rsa_public_key` for RS* algorithms). */
          custom_validator?: CustomValidator<unknown>;
        };
      };
    }
  | {
      custom_entity_check: {
        field_sources: readonly string[];
        /** A message for `@entity`, or (as Kong allows) a tree of field messages to merge. */
        fn: (record: Record<string, unknown>) => string | FieldErrorTree | null | undefined;
      };
    };

export interface RecordField extends FieldBase<Record<string, unknown>> {
  type: 'record';
  /** Ordered as written (Kong's array of one-key tables). */
  fields: Record<string, Field>;
  entity_checks?: readonly EntityCheck[];
}

export type Field =
  | StringField
  | IntegerField
  | NumberField
  | BooleanField
  | ArrayField
  | SetField
  | MapField
  | RecordField
  | ForeignField;

/** Per-field messages, shaped as Kong's `fields`: nested records are objects, arrays are arrays. */
export type FieldErrorTree = { [name: string]: FieldErrorValue };
export type FieldErrorValue = string | (FieldErrorValue | null)[] | FieldErrorTree;
