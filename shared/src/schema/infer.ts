/**
 * `Infer<F>`: the TypeScript type of the value a field validates to, computed from the field's
 * literal type (the builders in `builders.ts` keep `required`, `default`, `one_of`, `elements`,
 * `fields`, `keys` and `values` as literals). The rules follow `validate`:
 *
 * - a field with `required: true` or a non-null `default` is never null; any other field is `T | null`;
 * - `one_of` narrows a string or number to the union of its literals;
 * - record → an object of its fields, array / set → element[], map → Record<string, value>
 *   (elements and map values are never null: `validate` refuses a null element).
 *
 * A field typed only as its interface (`StringField`, `RecordField`, …) infers the wide type
 * (`string | null`, `Record<string, unknown> | null`).
 */

/** True when `validate` never leaves the field null: `required: true`, or a non-null `default`. */
type IsSet<F> = F extends { required: true }
  ? true
  : F extends { default: infer D }
    ? [D] extends [null | undefined]
      ? false
      : null extends D
        ? false
        : true
    : false;

type Literals<F, Wide> = F extends { one_of: readonly (infer L)[] } ? (L extends Wide ? L : Wide) : Wide;

type RecordValue<Fs> = string extends keyof Fs
  ? Record<string, unknown>
  : { -readonly [K in keyof Fs]: Infer<Fs[K]> };

/** The type of a present (non-null) value of field `F`. */
export type InferValue<F> = F extends { type: 'string' }
  ? Literals<F, string>
  : F extends { type: 'integer' | 'number' }
    ? Literals<F, number>
    : F extends { type: 'boolean' }
      ? boolean
      : F extends { type: 'array' | 'set'; elements: infer E }
        ? InferValue<E>[]
        : F extends { type: 'map'; values: infer V }
          ? Record<string, InferValue<V>>
          : F extends { type: 'record'; fields: infer Fs }
            ? RecordValue<Fs>
            : unknown;

/** The type of the value field `F` validates to (null included unless required or defaulted). */
export type Infer<F> = IsSet<F> extends true ? InferValue<F> : InferValue<F> | null;
