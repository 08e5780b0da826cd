import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Infer } from './infer.js';
import { t, validate, type RecordField, type StringField } from './index.js';

const config = t.record(
  {
    key_names: t.array(t.headerName(), { required: true, default: ['apikey'], len_min: 1 }),
    hide_credentials: t.boolean({ default: false }),
    anonymous: t.anonymous(),
    realm: t.string(),
    ttl: t.integer({ between: [0, 100], default: 10 }),
    explicit_null: t.integer({ default: null }),
    mode: t.string({ one_of: ['a', 'b'], default: 'a' }),
    code: t.integer({ one_of: [401, 403] }),
    nested: t.record({ depth: t.integer({ default: 1, gt: 0 }) }, { required: true }),
    optional_record: t.record({ on: t.boolean({ required: true }) }),
    tags: t.set(t.string({ one_of: ['x', 'y'] })),
    headers: t.map(t.string(), t.array(t.string()), { default: {} }),
  },
  { required: true },
);

type Config = Infer<typeof config>;

describe('Infer (types only: a wrong access fails the typecheck)', () => {
  it('maps each field kind to its type, null unless required or defaulted', () => {
    expectTypeOf<Config>().toEqualTypeOf<{
      key_names: string[];
      hide_credentials: boolean;
      anonymous: string | null;
      realm: string | null;
      ttl: number;
      explicit_null: number | null;
      mode: 'a' | 'b';
      code: 401 | 403 | null;
      nested: { depth: number };
      optional_record: { on: boolean } | null;
      tags: ('x' | 'y')[] | null;
      headers: Record<string, string[]>;
    }>();
  });

  it('refuses fields the schema does not have, values outside one_of and unchecked nulls', () => {
    const value = validate<Config>(config, {}).value;
    expect(value.realm).toBeNull();
    // Type-level only (never called): each line below must fail the typecheck.
    const wrong = (v: Config): unknown[] => [
      // @ts-expect-error -- no such field
      v.key_name,
      // @ts-expect-error -- realm may be null
      v.realm.length,
      // @ts-expect-error -- 'c' is not one of mode's literals
      v.mode === 'c',
      // @ts-expect-error -- a number, not a string
      v.ttl.toUpperCase(),
    ];
    expectTypeOf(wrong).toBeFunction();
  });

  it('infers the wide type for a field typed only by its interface', () => {
    expectTypeOf<Infer<StringField>>().toEqualTypeOf<string | null>();
    expectTypeOf<Infer<RecordField>>().toEqualTypeOf<Record<string, unknown> | null>();
  });
});
