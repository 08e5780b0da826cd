import { describe as suite, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { kongErrorBody } from '../entities/errors.js';
import { check, describe, t, validate } from './index.js';

const config = t.record(
  {
    key_names: t.array(t.headerName(), { required: true, default: ['apikey'], len_min: 1 }),
    hide_credentials: t.boolean({ required: true, default: false }),
    anonymous: t.string(),
    ttl: t.integer({ between: [0, 100], default: 10 }),
    mode: t.string({ one_of: ['a', 'b'], default: 'a' }),
    nested: t.record({ depth: t.integer({ default: 1, gt: 0 }) }, { required: true }),
    tags: t.set(t.string()),
    headers: t.map(t.string(), t.string()),
  },
  { required: true },
);

suite('schema DSL', () => {
  it('fills defaults, nested records included', () => {
    const { value } = validate(config, {});
    expect(value).toEqual({
      key_names: ['apikey'],
      hide_credentials: false,
      anonymous: null,
      ttl: 10,
      mode: 'a',
      nested: { depth: 1 },
      tags: null,
      headers: null,
    });
  });

  it('does not share default arrays between results', () => {
    const a = validate<{ key_names: string[] }>(config, {}).value;
    a.key_names.push('x');
    expect(validate<{ key_names: string[] }>(config, {}).value.key_names).toEqual(['apikey']);
  });

  it('names every bad field with Kong messages, nested under the path', () => {
    let caught: unknown;
    try {
      validate(
        config,
        {
          key_names: ['ok', 'bad name'],
          ttl: 500,
          mode: 'c',
          nested: { depth: 0 },
          hide_credentials: 'yes',
          extra: 1,
        },
        { path: ['config'] },
      );
    } catch (e) {
      caught = e;
    }
    expect(isGatehouseError(caught)).toBe(true);
    const body = kongErrorBody(caught)!;
    expect(body.code).toBe(2);
    expect(body.name).toBe('schema violation');
    expect(body.fields).toEqual({
      config: {
        key_names: [null, 'invalid value: bad name'],
        ttl: 'value should be between 0 and 100',
        mode: 'expected one of: a, b',
        nested: { depth: 'value must be greater than 0' },
        hide_credentials: 'expected a boolean',
        extra: 'unknown field',
      },
    });
  });

  it('refuses null for a required field and removes duplicates from sets', () => {
    expect(check(config, { key_names: null }).errors).toEqual({ key_names: 'required field missing' });
    expect(check<{ tags: string[] }>(config, { tags: ['a', 'a', 'b'] }).value.tags).toEqual(['a', 'b']);
  });

  it('runs entity checks after the fields', () => {
    const r = t.record(
      { a: t.string(), b: t.string() },
      { entity_checks: [{ at_least_one_of: ['a', 'b'] }] },
    );
    expect(check(r, {}).errors).toEqual({
      '@entity': ["at least one of these fields must be non-empty: 'a', 'b'"],
    });
    expect(check(r, { a: 'x' }).errors).toBeNull();
  });

  it('describes a schema as Kong JSON (records as arrays of one-key objects, no functions)', () => {
    const json = describe(t.record({ u: t.url({ required: true }), n: t.integer({ default: 1 }) }));
    expect(json).toEqual({
      type: 'record',
      fields: [{ u: { type: 'string', required: true } }, { n: { type: 'integer', default: 1 } }],
    });
  });
});
