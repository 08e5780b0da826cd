/**
 * Short constructors for common Kong typedefs (used as `t.string({...})`). Each keeps its options
 * as literal types (`const` type parameters), so `Infer<typeof field>` knows what `required`,
 * `default`, `one_of`, `elements`, `fields`, `keys` and `values` were.
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

type Opts<F> = Omit<F, 'type'>;

export const string = <const O extends Opts<StringField>>(o?: O): { type: 'string' } & O =>
  ({ type: 'string', ...o }) as { type: 'string' } & O;
export const integer = <const O extends Opts<IntegerField>>(o?: O): { type: 'integer' } & O =>
  ({ type: 'integer', ...o }) as { type: 'integer' } & O;
export const number = <const O extends Opts<NumberField>>(o?: O): { type: 'number' } & O =>
  ({ type: 'number', ...o }) as { type: 'number' } & O;
export const boolean = <const O extends Opts<BooleanField>>(o?: O): { type: 'boolean' } & O =>
  ({ type: 'boolean', ...o }) as { type: 'boolean' } & O;
export const array = <const E extends Field, const O extends Omit<Opts<ArrayField>, 'elements'>>(
  elements: E,
  o?: O,
): { type: 'array'; elements: E } & O =>
  ({ type: 'array', elements, ...o }) as { type: 'array'; elements: E } & O;
export const set = <const E extends Field, const O extends Omit<Opts<SetField>, 'elements'>>(
  elements: E,
  o?: O,
): { type: 'set'; elements: E } & O => ({ type: 'set', elements, ...o }) as { type: 'set'; elements: E } & O;
export const map = <
  const K extends StringField,
  const V extends Field,
  const O extends Omit<Opts<MapField>, 'keys' | 'values'>,
>(
  keys: K,
  values: V,
  o?: O,
): { type: 'map'; keys: K; values: V } & O =>
  ({ type: 'map', keys, values, ...o }) as { type: 'map'; keys: K; values: V } & O;
export const record = <
  const Fs extends Record<string, Field>,
  const O extends Omit<Opts<RecordField>, 'fields'>,
>(
  fields: Fs,
  o?: O,
): { type: 'record'; fields: Fs } & O =>
  ({ type: 'record', fields, ...o }) as { type: 'record'; fields: Fs } & O;

/** Kong's `typedefs.header_name`. */
export const headerName = <const O extends Opts<StringField>>(o?: O): { type: 'string' } & O =>
  string({ match: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", ...o }) as { type: 'string' } & O;
/** Kong's `typedefs.url`. */
export const url = <const O extends Opts<StringField>>(o?: O): { type: 'string' } & O =>
  string({
    custom_validator: (v: string) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:' ? null : 'missing host in url';
      } catch {
        return 'missing host in url';
      }
    },
    ...o,
  }) as { type: 'string' } & O;
/** A consumer reference for `anonymous`: a consumer id or username (Kong 3.x). */
export const anonymous = () =>
  string({ description: 'A consumer id or username used when authentication fails.', len_min: 1 });
