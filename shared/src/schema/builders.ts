/** Short constructors for common Kong typedefs (used as `t.string({...})`). */
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

export const string = (o: Opts<StringField> = {}): StringField => ({ type: 'string', ...o });
export const integer = (o: Opts<IntegerField> = {}): IntegerField => ({ type: 'integer', ...o });
export const number = (o: Opts<NumberField> = {}): NumberField => ({ type: 'number', ...o });
export const boolean = (o: Opts<BooleanField> = {}): BooleanField => ({ type: 'boolean', ...o });
export const array = (elements: Field, o: Omit<Opts<ArrayField>, 'elements'> = {}): ArrayField => ({
  type: 'array',
  elements,
  ...o,
});
export const set = (elements: Field, o: Omit<Opts<SetField>, 'elements'> = {}): SetField => ({
  type: 'set',
  elements,
  ...o,
});
export const map = (
  keys: StringField,
  values: Field,
  o: Omit<Opts<MapField>, 'keys' | 'values'> = {},
): MapField => ({
  type: 'map',
  keys,
  values,
  ...o,
});
export const record = (
  fields: Record<string, Field>,
  o: Omit<Opts<RecordField>, 'fields'> = {},
): RecordField => ({
  type: 'record',
  fields,
  ...o,
});

/** Kong's `typedefs.header_name`. */
export const headerName = (o: Opts<StringField> = {}): StringField =>
  string({ match: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", ...o });
/** Kong's `typedefs.url`. */
export const url = (o: Opts<StringField> = {}): StringField =>
  string({
    custom_validator: (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:' ? null : 'missing host in url';
      } catch {
        return 'missing host in url';
      }
    },
    ...o,
  });
/** A consumer reference for `anonymous`: a consumer id or username (Kong 3.x). */
export const anonymous = (): StringField =>
  string({ description: 'A consumer id or username used when authentication fails.', len_min: 1 });
