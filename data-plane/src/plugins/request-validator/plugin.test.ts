import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { schema } from '@gatehouse/shared';
import plugin, { BODY_MESSAGE, CONTENT_TYPE_MESSAGE, PARAM_MESSAGE } from './plugin.js';
import { compileSchema, MAX_SCHEMA_DEPTH } from './json-schema.js';
import {
  initialise,
  outcome,
  pluginRequest,
  run,
  snapshotOf,
  type TestRequest,
} from '../runtime/test-support.js';

const snapshot = snapshotOf({});
const NAME_SCHEMA = JSON.stringify({
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
});
const JSON_CT: [string, string] = ['Content-Type', 'application/json'];

async function check(
  config: Record<string, unknown>,
  r: TestRequest,
  captures?: Record<string, string>,
): Promise<{ status: number; message: unknown } | null> {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, r);
  if (captures !== undefined) ctx.proxied.captures = captures;
  await run(plugin.access!(ctx, state));
  const a = outcome(ctx).answer;
  return a === null ? null : { status: a.status, message: (a.json as { message?: unknown }).message };
}

describe('request-validator (body)', () => {
  const config = { body_schema: NAME_SCHEMA };
  it.each([
    ['a conforming body', '{"name":"Gruce","age":4}', null],
    ['a missing required property', '{"age":4}', BODY_MESSAGE],
    ['a property of the wrong type', '{"name":1}', BODY_MESSAGE],
    ['malformed JSON', '{"name":', BODY_MESSAGE],
    ['an empty body', '', BODY_MESSAGE],
    ['a JSON array at the root', '[1,2]', BODY_MESSAGE],
  ])('%s → %s', async (_, body, message) => {
    const out = await check(config, { method: 'POST', headers: [JSON_CT], body });
    expect(out).toEqual(message === null ? null : { status: 400, message });
  });

  it('names the failing path and rule with verbose_response', async () => {
    const out = await check(
      { ...config, verbose_response: true },
      { method: 'POST', headers: [JSON_CT], body: '{"name":"x","age":-1}' },
    );
    expect(out).toEqual({ status: 400, message: `${BODY_MESSAGE}: /age: must be >= 0` });
    const missing = await check(
      { ...config, verbose_response: true },
      { method: 'POST', headers: [JSON_CT], body: '{}' },
    );
    expect(missing?.message).toBe(`${BODY_MESSAGE}: /: must have required property 'name' (name)`);
    const bad = await check(
      { ...config, verbose_response: true },
      { method: 'POST', headers: [JSON_CT], body: '{' },
    );
    expect(bad?.message).toBe('request body is not valid JSON');
  });

  it('refuses a Content-Type not listed, or none, before reading the body', async () => {
    for (const headers of [[['Content-Type', 'text/plain']], []] as [string, string][][]) {
      const state = initialise(plugin, snapshot, config);
      const ctx = pluginRequest(snapshot, { method: 'POST', headers, body: '{"name":"x"}' });
      await run(plugin.access!(ctx, state));
      expect(outcome(ctx)).toMatchObject({
        answer: { status: 400, json: { message: CONTENT_TYPE_MESSAGE } },
        bodyRead: false,
      });
    }
  });

  it('compares Content-Type parameters strictly unless content_type_parameter_validation is off', async () => {
    const r = {
      method: 'POST',
      headers: [['Content-Type', 'application/json; charset=UTF-8']],
      body: '{"name":"x"}',
    } satisfies TestRequest;
    expect((await check(config, r as TestRequest))?.message).toBe(CONTENT_TYPE_MESSAGE);
    expect(
      await check(
        { ...config, allowed_content_types: ['application/json; charset=utf-8'] },
        r as TestRequest,
      ),
    ).toBeNull();
    expect(await check({ ...config, content_type_parameter_validation: false }, r as TestRequest)).toBeNull();
    // Type and subtype are case-insensitive.
    expect(await check(config, { ...r, headers: [['Content-Type', 'Application/JSON']] })).toBeNull();
  });

  it('validates +json subtypes and lets other allowed types through unvalidated', async () => {
    const allowed = { ...config, allowed_content_types: ['application/merge-patch+json', 'text/plain'] };
    expect(
      (
        await check(allowed, {
          method: 'PATCH',
          headers: [['Content-Type', 'application/merge-patch+json']],
          body: '{}',
        })
      )?.message,
    ).toBe(BODY_MESSAGE);
    expect(
      await check(allowed, { method: 'POST', headers: [['Content-Type', 'text/plain']], body: 'not json' }),
    ).toBeNull();
  });

  it('treats a body nested deep enough to exhaust the stack as not conforming (no crash)', async () => {
    const deep = {
      body_schema: JSON.stringify({
        definitions: { n: { type: 'array', items: { $ref: '#/definitions/n' } } },
        $ref: '#/definitions/n',
      }),
    };
    const body = '['.repeat(200_000) + ']'.repeat(200_000);
    const out = await check(deep, { method: 'POST', headers: [JSON_CT], body });
    expect(out?.status).toBe(400);
  });
});

describe('request-validator (parameters)', () => {
  const param = (p: Record<string, unknown>) => ({ parameter_schema: [p] });

  it('validates a path capture as a number (Kong documented example)', async () => {
    const config = param({
      name: 'status_code',
      in: 'path',
      required: true,
      schema: '{"type": "number"}',
      style: 'simple',
      explode: false,
    });
    expect(await check(config, { path: '/status/abc' }, { status_code: 'abc' })).toEqual({
      status: 400,
      message: PARAM_MESSAGE,
    });
    expect(await check(config, { path: '/status/123' }, { status_code: '123' })).toBeNull();
    expect(await check(config, { path: '/status' }, {})).toEqual({ status: 400, message: PARAM_MESSAGE });
  });

  it.each([
    ['form array, not exploded', { style: 'form', explode: false }, 'ids=1,2,3', null],
    ['form array, exploded', { style: 'form', explode: true }, 'ids=1&ids=2', null],
    ['form array, a non-integer item', { style: 'form', explode: true }, 'ids=1&ids=x', PARAM_MESSAGE],
    ['pipeDelimited array', { style: 'pipeDelimited', explode: false }, 'ids=1|2', null],
    ['spaceDelimited array', { style: 'spaceDelimited', explode: false }, 'ids=1%202', null],
    ['too many items', { style: 'form', explode: false }, 'ids=1,2,3,4', PARAM_MESSAGE],
  ])('query %s: %s → %s', async (_, style, query, message) => {
    const config = param({
      name: 'ids',
      in: 'query',
      required: true,
      schema: JSON.stringify({ type: 'array', items: { type: 'integer' }, maxItems: 3 }),
      ...style,
    });
    const out = await check(config, { query });
    expect(out).toEqual(message === null ? null : { status: 400, message });
  });

  it('deserializes deepObject and exploded form objects', async () => {
    const schemaText = JSON.stringify({
      type: 'object',
      required: ['lat'],
      properties: { lat: { type: 'number' }, lng: { type: 'number' } },
    });
    const deep = param({
      name: 'pos',
      in: 'query',
      required: true,
      style: 'deepObject',
      explode: true,
      schema: schemaText,
    });
    expect(await check(deep, { query: 'pos[lat]=1.5&pos[lng]=2' })).toBeNull();
    expect((await check(deep, { query: 'pos[lng]=2' }))?.status).toBe(400);
    const form = param({
      name: 'pos',
      in: 'query',
      required: true,
      style: 'form',
      explode: true,
      schema: schemaText,
    });
    expect(await check(form, { query: 'lat=1&lng=2' })).toBeNull();
    expect((await check(form, { query: 'lat=north' }))?.status).toBe(400);
  });

  it('checks a header simple-style object and a required header', async () => {
    const config = param({
      name: 'X-Coords',
      in: 'header',
      required: true,
      style: 'simple',
      explode: true,
      schema: JSON.stringify({ type: 'object', properties: { x: { type: 'integer' } }, required: ['x'] }),
    });
    expect(await check(config, { headers: [['x-coords', 'x=1,y=2']] })).toBeNull();
    expect((await check(config, { headers: [['x-coords', 'y=2']] }))?.status).toBe(400);
    expect((await check({ ...config, verbose_response: true }, {}))?.message).toBe(
      "header 'X-Coords' validation failed, [error] required parameter value not found in request",
    );
  });

  it('lets an absent optional parameter pass and names a failing one when verbose', async () => {
    const config = {
      ...param({
        name: 'limit',
        in: 'query',
        required: false,
        style: 'form',
        explode: false,
        schema: '{"type":"integer","maximum":10}',
      }),
      verbose_response: true,
    };
    expect(await check(config, {})).toBeNull();
    expect((await check(config, { query: 'limit=11' }))?.message).toBe(
      "query 'limit' validation failed, [error] /: must be <= 10",
    );
  });
});

describe('request-validator (config)', () => {
  const errorsOf = (config: Record<string, unknown>) => schema.check(plugin.schema, config).errors;

  it('fills defaults and requires body_schema or parameter_schema', () => {
    expect(schema.validate(plugin.schema, { body_schema: '{}' }).value).toMatchObject({
      version: 'draft4',
      allowed_content_types: ['application/json'],
      verbose_response: false,
      content_type_parameter_validation: true,
    });
    expect(errorsOf({})).not.toBeNull();
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['an unknown type', '{"type":"strin"}', /invalid schema/],
    ['an unknown keyword', '{"typo":1}', /unknown keyword/],
    ['a remote $ref (never fetched)', '{"$ref":"http://example.com/s.json"}', /can't resolve reference/],
    ['an unknown format', '{"type":"string","format":"bogus"}', /unknown format/],
    ['a nested quantifier', '{"type":"string","pattern":"^(a+)+$"}', /nests quantifiers/],
    ['an array instead of a schema', '[{"name":{"type":"string"}}]', /JSON object/],
  ])('refuses a body_schema with %s, naming why', (_, text, message) => {
    expect(JSON.stringify(errorsOf({ body_schema: text }))).toMatch(message);
  });

  it("refuses Kong's 'kong' version with a message saying only draft4 is supported", () => {
    expect(JSON.stringify(errorsOf({ version: 'kong', body_schema: '{}' }))).toMatch(/only 'draft4'/);
  });

  it('refuses a parameter with style but no schema, and a schema without a top-level type', () => {
    expect(
      errorsOf({ parameter_schema: [{ name: 'a', in: 'query', required: true, style: 'form' }] }),
    ).not.toBeNull();
    expect(
      JSON.stringify(
        errorsOf({
          parameter_schema: [
            { name: 'a', in: 'query', required: true, style: 'form', explode: true, schema: '{}' },
          ],
        }),
      ),
    ).toMatch(/top-level `type`/);
  });

  it('refuses schema bombs: too deep, too large', () => {
    let deep: unknown = { type: 'string' };
    for (let i = 0; i <= MAX_SCHEMA_DEPTH; i++) deep = { type: 'array', items: deep };
    expect(compileSchema(JSON.stringify(deep))).toMatchObject({ error: expect.stringMatching(/deeper/) });
    const wide = JSON.stringify({ enum: Array.from({ length: 20_000 }, (_, i) => `value-${i}`) });
    expect(compileSchema(wide)).toMatchObject({ error: expect.stringMatching(/larger than/) });
  });

  it('never throws on hostile schema texts: compiles or names the reason (fast-check)', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const keyword = fc.constantFrom(
      'type',
      'properties',
      'items',
      '$ref',
      'pattern',
      'required',
      'allOf',
      'anyOf',
      'not',
      'enum',
      'definitions',
      '__proto__',
      'constructor',
      'id',
      'format',
      'patternProperties',
      'uniqueItems',
    );
    const schemaLike = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(keyword, tie('node'), { maxKeys: 4 }),
        fc.array(tie('node'), { maxLength: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(
        fc.oneof(
          schemaLike.map((s) => JSON.stringify(s) ?? 'null'),
          fc.string({ maxLength: 40 }),
        ),
        (text) => {
          const r = compileSchema(text);
          if ('error' in r) expect(typeof r.error).toBe('string');
          else expect(() => r.validate({ __proto__: { polluted: true }, a: [1, 'x'] })).not.toThrow();
          expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers hostile bodies with null or 400, never a crash or pollution (fast-check)', async () => {
    const state = initialise(plugin, snapshot, { body_schema: NAME_SCHEMA });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.constant('{"__proto__":{"polluted":true},"name":"x"}'),
          fc.constant('{"constructor":{"prototype":{"polluted":true}},"name":"x"}'),
        ),
        async (body) => {
          const ctx = pluginRequest(snapshot, { method: 'POST', headers: [JSON_CT], body });
          await run(plugin.access!(ctx, state));
          const a = outcome(ctx).answer;
          expect(a === null || a.status === 400).toBe(true);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });
});
