import { describe as suite, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { kongErrorBody } from '../entities/errors.js';
import { check, describe, describeEntity, t, typedefs as td, validate, type RecordField } from './index.js';

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
        key_names: [null, "bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"],
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

suite('entity schemas (the entity rules, typedefs, foreign keys)', () => {
  const entity: RecordField = {
    type: 'record',
    fields: {
      id: td.id(),
      protocol: { type: 'string', one_of: ['http', 'https'] },
      tags: td.tags(),
      host: td.routeHost(),
      owner: td.foreign('consumers', { by_name: true }),
      a: { type: 'string' },
      b: { type: 'string' },
    },
    entity_checks: [
      { all_or_none_of: ['a', 'b'] },
      { distinct: ['a', 'b'] },
      {
        custom_entity_check: {
          field_sources: ['host'],
          fn: (r) => (r.host === 'x' ? { host: 'not x' } : null),
        },
      },
    ],
  };
  const entityRules = { rules: 'entity' } as const;

  it('entity rules: unknown fields first, null elements and duplicates refused, one_of before the type', () => {
    const { errors } = check(entity, { zz: 1, protocol: 5, tags: ['a', null, 'a'] }, entityRules);
    expect(Object.keys(errors!)).toEqual(['zz', 'protocol', 'tags']);
    expect(errors).toEqual({
      zz: 'unknown field',
      protocol: 'expected one of: http, https',
      tags: [null, 'expected a string', "duplicate value 'a'"],
    });
    // The same input under the plugin-config rules: Kong's schema library messages.
    expect(check(entity, { zz: 1, protocol: 5, tags: ['a', null, 'a'] }).errors).toEqual({
      protocol: 'expected a string',
      // Kong's per-element messages are a Lua table: no trailing null.
      tags: [null, 'required field missing'],
      zz: 'unknown field',
    });
  });

  it('normalises values, reads foreign keys and takes absent fields from a base', () => {
    const id = '5A0A7C1E-1111-4222-8333-444455556666';
    const { value } = check<Record<string, unknown>>(
      entity,
      { id, host: 'API.Example.com', owner: { id } },
      { ...entityRules, base: { protocol: 'https' } },
    );
    expect(value).toMatchObject({ id: id.toLowerCase(), host: 'api.example.com', protocol: 'https' });
    expect(value.owner).toEqual({ id: id.toLowerCase() });
    expect(check(entity, { owner: { name: 'bob' } }, entityRules).errors).toBeNull();
    // Kong's validate_primary_key(value, true): a valid id, other keys ignored.
    expect(check(entity, { owner: { id, x: 1 } }, entityRules).errors).toBeNull();
    expect(check(entity, { owner: { x: 1 } }, entityRules).errors).toEqual({ owner: { x: 'unknown field' } });
    expect(check(entity, { owner: {} }, entityRules).errors).toEqual({
      owner: { id: 'missing primary key' },
    });
    expect(check(entity, { owner: { id: null } }, entityRules).errors).toEqual({
      owner: { id: 'required field missing' },
    });
  });

  it('runs all_or_none_of, distinct and custom checks that return field messages', () => {
    expect(check(entity, { a: 'x' }, entityRules).errors).toEqual({
      '@entity': ["all or none of these fields must be set: 'a', 'b'"],
    });
    expect(check(entity, { a: 'x', b: 'x' }, entityRules).errors).toEqual({
      '@entity': ["values of these fields must be distinct: 'a', 'b'"],
    });
    expect(check(entity, { host: 'x' }, entityRules).errors).toEqual({ host: 'not x' });
  });

  it('uses a typedef parse instead of the built-in checks', () => {
    const evenLength = t.string({
      parse: (v) => (String(v).length % 2 === 0 ? { value: v } : { error: 'odd' }),
    });
    expect(check(t.record({ s: evenLength }), { s: 'abc' }).errors).toEqual({ s: 'odd' });
    expect(check(t.record({ s: evenLength }), { s: 12 }).errors).toBeNull();
  });

  it("renders an entity schema as Kong's /schemas/{entity} body", () => {
    const json = describeEntity(entity);
    expect(json.type).toBeUndefined();
    expect(json.fields).toContainEqual({ id: { type: 'string', uuid: true, auto: true } });
    expect(json.fields).toContainEqual({ owner: { type: 'foreign', reference: 'consumers' } });
    expect(json.entity_checks).toContainEqual({ custom_entity_check: { field_sources: ['host'] } });
  });
});
