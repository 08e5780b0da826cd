/**
 * Short constructors for common Kong typedefs (used as `t.string({...})`). Each keeps its options
 * as literal types (`const` type parameters), so `Infer<typeof field>` knows what `required`,
 * `default`, `one_of`, `elements`, `fields`, `keys` and `values` were. A builder called without
 * options returns just its `type`, so inferred schema types never name this module's internals.
 */
import type {
  ArrayField,
  BooleanField,
  Field,
  IntegerField,
  MapField,
  NumberField,
  RecordField,
  SetField,
  StringField,
} from './types.js';
import { headerNameError } from './typedefs.js';

type Opts<F> = Omit<F, 'type'>;

export function string(): { type: 'string' };
export function string<const O extends Opts<StringField>>(o: O): { type: 'string' } & O;
export function string(o?: Opts<StringField>): StringField {
  return { type: 'string', ...o };
}

export function integer(): { type: 'integer' };
export function integer<const O extends Opts<IntegerField>>(o: O): { type: 'integer' } & O;
export function integer(o?: Opts<IntegerField>): IntegerField {
  return { type: 'integer', ...o };
}

export function number(): { type: 'number' };
export function number<const O extends Opts<NumberField>>(o: O): { type: 'number' } & O;
export function number(o?: Opts<NumberField>): NumberField {
  return { type: 'number', ...o };
}

export function boolean(): { type: 'boolean' };
export function boolean<const O extends Opts<BooleanField>>(o: O): { type: 'boolean' } & O;
export function boolean(o?: Opts<BooleanField>): BooleanField {
  return { type: 'boolean', ...o };
}

export function array<const E extends Field>(elements: E): { type: 'array'; elements: E };
export function array<const E extends Field, const O extends Omit<Opts<ArrayField>, 'elements'>>(
  elements: E,
  o: O,
): { type: 'array'; elements: E } & O;
export function array(elements: Field, o?: Omit<Opts<ArrayField>, 'elements'>): ArrayField {
  return { type: 'array', elements, ...o };
}

/** An array whose duplicates are removed (Kong's `set`). */
export function set<const E extends Field>(elements: E): { type: 'set'; elements: E };
export function set<const E extends Field, const O extends Omit<Opts<SetField>, 'elements'>>(
  elements: E,
  o: O,
): { type: 'set'; elements: E } & O;
export function set(elements: Field, o?: Omit<Opts<SetField>, 'elements'>): SetField {
  return { type: 'set', elements, ...o };
}

export function map<const K extends StringField, const V extends Field>(
  keys: K,
  values: V,
): { type: 'map'; keys: K; values: V };
export function map<
  const K extends StringField,
  const V extends Field,
  const O extends Omit<Opts<MapField>, 'keys' | 'values'>,
>(keys: K, values: V, o: O): { type: 'map'; keys: K; values: V } & O;
export function map(keys: StringField, values: Field, o?: Omit<Opts<MapField>, 'keys' | 'values'>): MapField {
  return { type: 'map', keys, values, ...o };
}

export function record<const Fs extends Record<string, Field>>(fields: Fs): { type: 'record'; fields: Fs };
export function record<
  const Fs extends Record<string, Field>,
  const O extends Omit<Opts<RecordField>, 'fields'>,
>(fields: Fs, o: O): { type: 'record'; fields: Fs } & O;
export function record(fields: Record<string, Field>, o?: Omit<Opts<RecordField>, 'fields'>): RecordField {
  return { type: 'record', fields, ...o };
}

/** Kong's `typedefs.header_name`: A-Z, a-z, 0-9, `_` and `-`, with Kong's message. */
export function headerName(): { type: 'string'; custom_validator: (v: string) => string | null };
export function headerName<const O extends Opts<StringField>>(
  o: O,
): { type: 'string'; custom_validator: (v: string) => string | null } & O;
export function headerName(o?: Opts<StringField>): StringField {
  return { type: 'string', custom_validator: headerNameError, ...o };
}

function httpUrl(v: string): string | null {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? null : 'missing host in url';
  } catch {
    return 'missing host in url';
  }
}

/** Kong's `typedefs.url`. */
export function url(): { type: 'string'; custom_validator: (v: string) => string | null };
export function url<const O extends Opts<StringField>>(
  o: O,
): { type: 'string'; custom_validator: (v: string) => string | null } & O;
export function url(o?: Opts<StringField>): StringField {
  return { type: 'string', custom_validator: httpUrl, ...o };
}

/** A consumer reference for `anonymous`: a consumer id or username (Kong 3.x). */
export function anonymous(): { type: 'string'; description: string; len_min: number } {
  return {
    type: 'string',
    description: 'A consumer id or username used when authentication fails.',
    len_min: 1,
  };
}
