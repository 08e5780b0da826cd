import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { schema } from '@gatehouse/shared';
import plugin, { isJsonType } from './plugin.js';
import { initialise, outcome, pluginRequest, snapshotOf, upstreamResponse } from '../runtime/test-support.js';

const snapshot = snapshotOf({});
const JSON_HEAD: [string, string] = ['Content-Type', 'application/json'];

/** Runs the response phase over an upstream response; the body is given when buffered. */
async function respond(
  config: Record<string, unknown>,
  headers: [string, string][],
  body: string | null = null,
) {
  const state = initialise(plugin, snapshot, config);
  const ctx = pluginRequest(snapshot, {});
  upstreamResponse(ctx, 200, headers, body);
  await plugin.response!(ctx, state);
  return { outcome: outcome(ctx), state };
}

const bodyOf = async (config: Record<string, unknown>, body: string) =>
  JSON.parse((await respond(config, [JSON_HEAD], body)).outcome.responseBody!) as unknown;

const wants = (config: Record<string, unknown>, headers: Record<string, string>) => {
  const state = initialise(plugin, snapshot, config);
  const decide = plugin.bufferResponse as (
    s: unknown,
    h: { status: number; header(n: string): string | undefined },
  ) => boolean;
  return decide(state, { status: 200, header: (n) => headers[n.toLowerCase()] });
};

describe('plugin response-transformer (JSON body, Kong body_transformer_spec)', () => {
  const add = {
    add: {
      json: ['p1:v1', 'p3:value:3', 'p4:"v1"', 'p5:-1', 'p6:false', 'p7:true'],
      json_types: ['string', 'string', 'string', 'number', 'boolean', 'boolean'],
    },
  };
  const all = { p1: 'v1', p3: 'value:3', p4: '"v1"', p5: -1, p6: false, p7: true };

  it.each([
    ['{"p2":"v1"}', { ...all, p2: 'v1' }],
    ['{"p2":-1}', { ...all, p2: -1 }],
    ['{"p2":false}', { ...all, p2: false }],
    ['{"p2":"v1","a":[]}', { ...all, p2: 'v1', a: [] }],
  ])('add with json_types over %s', async (body, expected) => {
    expect(await bodyOf(add, body)).toEqual(expected);
  });

  const append = {
    append: {
      json: ['p1:v1', 'p3:"v1"', 'p4:-1', 'p5:false', 'p6:true'],
      json_types: ['string', 'string', 'number', 'boolean', 'boolean'],
    },
  };
  const appended = { p1: ['v1'], p3: ['"v1"'], p4: [-1], p5: [false], p6: [true] };

  it.each([
    ['{"p2":"v1"}', { ...appended, p2: 'v1' }],
    ['{"p1":"v2"}', { ...appended, p1: ['v2', 'v1'] }],
    ['{"p4":"v2"}', { ...appended, p4: ['v2', -1] }],
    ['{"p5":"v5","p6":"v6"}', { ...appended, p5: ['v5', false], p6: ['v6', true] }],
  ])('append with json_types over %s', async (body, expected) => {
    expect(await bodyOf(append, body)).toEqual(expected);
  });

  it('removes, renames and replaces (only what is present)', async () => {
    expect(
      await bodyOf(
        {
          remove: { json: ['p1', 'p2'] },
          rename: { json: ['old:new', 'missing:x'] },
          replace: { json: ['p3:v2', 'absent:v', 'f:true'], json_types: ['string', 'string', 'boolean'] },
        },
        '{"p1":"v1","p2":"v1","p3":"v1","old":null,"f":false}',
      ),
    ).toEqual({ p3: 'v2', new: null, f: false });
  });

  it('keeps only allow.json properties, before the other rules', async () => {
    expect(
      await bodyOf({ allow: { json: ['a', 'b'] }, add: { json: ['c:1'] } }, '{"a":1,"b":2,"secret":3}'),
    ).toEqual({ a: 1, b: 2, c: '1' });
  });

  it('skips a number value that is not a number (Kong: tonumber is nil)', async () => {
    expect(await bodyOf({ add: { json: ['n:abc'], json_types: ['number'] } }, '{}')).toEqual({});
  });

  it('leaves malformed JSON, arrays and scalars as they are', async () => {
    for (const body of ['{"a":', '[1]', '12', 'null']) {
      const { outcome: o } = await respond({ remove: { json: ['a'] } }, [JSON_HEAD], body);
      expect(o.responseBody).toBeNull();
    }
  });

  it('never pollutes prototypes, whatever the body and the rules', async () => {
    const config = {
      rename: { json: ['__proto__:x'] },
      add: { json: ['__proto__:p', 'constructor:c'] },
      append: { json: ['__proto__:q'] },
    };
    await fc.assert(
      fc.asyncProperty(fc.json(), async (json) => {
        const body = `{"__proto__":{"polluted":1},"v":${json}}`;
        const { outcome: o } = await respond(config, [JSON_HEAD], body);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        const out = JSON.parse(o.responseBody!) as Record<string, unknown>;
        expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
        expect(out.x).toEqual({ polluted: 1 });
      }),
      { numRuns: 100 },
    );
  });

  it('handles hostile bodies without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.uint8Array().map((a) => Buffer.from(a).toString('latin1')),
        ),
        async (body) => {
          await respond({ remove: { json: ['a'] }, add: { json: ['b:1'] } }, [JSON_HEAD], body);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('plugin response-transformer (buffering decision)', () => {
  it('buffers only JSON responses, only when a JSON rule exists, never encoded ones', () => {
    const json = { add: { json: ['a:1'] } };
    expect(wants(json, { 'content-type': 'application/json; charset=utf-8' })).toBe(true);
    expect(wants(json, { 'content-type': 'application/vnd.api+json' })).toBe(true);
    expect(wants(json, { 'content-type': 'text/html' })).toBe(false);
    expect(wants(json, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).toBe(false);
    expect(wants({ add: { headers: ['x:1'] } }, { 'content-type': 'application/json' })).toBe(false);
  });

  it.each([
    ['application/json', true],
    ['text/plain, application/json', true],
    ['application/problem+json', true],
    ['application/jsonx', false],
    ['json', false],
    [undefined, false],
  ])('reads %s as JSON: %s', (ct, expected) => {
    expect(isJsonType(ct)).toBe(expected);
  });
});

describe('plugin response-transformer (headers)', () => {
  it("removes, renames, replaces, adds and appends in Kong's order, reading the upstream's headers", async () => {
    const { outcome: o } = await respond(
      {
        remove: { headers: ['x-remove', 'x-readd'] },
        rename: { headers: ['x-old:x-new'] },
        replace: { headers: ['x-replace:new', 'x-absent:v'] },
        add: { headers: ['x-add:a', 'x-replace:no', 'x-readd:no'] },
        append: { headers: ['x-append:2', 'x-add:b'] },
      },
      [
        ['X-Remove', '1'],
        ['X-Readd', '1'],
        ['X-Old', 'o1'],
        ['X-Old', 'o2'],
        ['X-Replace', 'old'],
        ['X-Append', '1'],
      ],
    );
    expect(o.responseHeaders).toEqual({
      'x-remove': null,
      'x-readd': null,
      'x-old': null,
      'x-new': ['o1', 'o2'],
      'x-replace': 'new',
      'x-add': ['a', 'b'],
      'x-append': ['1', '2'],
    });
  });

  // The header examples of Kong's response-transformer documentation, one row each.
  it.each([
    {
      example: 'remove multiple headers',
      config: { remove: { headers: ['h1', 'h2'] } },
      upstream: [
        ['h1', 'v1'],
        ['h2', 'v1'],
        ['h3', 'v1'],
      ] as [string, string][],
      headers: { h1: null, h2: null },
    },
    {
      example: 'add multiple headers (a header already sent is kept)',
      config: { add: { headers: ['h1:v2', 'h2:v1'] } },
      upstream: [['h1', 'v1']] as [string, string][],
      headers: { h2: 'v1' },
    },
    {
      example: 'append multiple headers',
      config: { append: { headers: ['h1:v2', 'h2:v1'] } },
      upstream: [['h1', 'v1']] as [string, string][],
      headers: { h1: ['v1', 'v2'], h2: ['v1'] },
    },
    {
      example: 'rename a header',
      config: { rename: { headers: ['h1:h2'] } },
      upstream: [['h1', 'v1']] as [string, string][],
      headers: { h1: null, h2: 'v1' },
    },
    {
      example: 'replace a header only when present',
      config: { replace: { headers: ['h1:v2', 'h3:never'] } },
      upstream: [['h1', 'v1']] as [string, string][],
      headers: { h1: 'v2' },
    },
  ])("Kong's documented example: $example", async (row) => {
    const { outcome: o } = await respond(row.config, row.upstream);
    expect(o.responseHeaders).toEqual(row.headers);
  });

  it('refuses invalid header names and values that are not name:value', () => {
    expect(schema.check(plugin.schema, { add: { headers: ['bad name:v'] } }).errors).not.toBeNull();
    expect(schema.check(plugin.schema, { add: { json: ['novalue'] } }).errors).not.toBeNull();
    expect(schema.check(plugin.schema, { rename: { headers: ['a:b c'] } }).errors).not.toBeNull();
    expect(schema.check(plugin.schema, { add: { json_types: ['object'] } }).errors).not.toBeNull();
  });

  it('checks hostile configs without throwing', () => {
    const s = fc.oneof(fc.string(), fc.constantFrom('__proto__', '__proto__:x', 'constructor:1'));
    const any = fc.oneof(s, fc.array(s), fc.dictionary(s, fc.array(s)), fc.constant(null));
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('add', 'remove', 'rename', 'replace', 'append', 'allow', '__proto__'),
          any,
        ),
        (config) => {
          const r = schema.check(plugin.schema, JSON.parse(JSON.stringify(config)) as unknown);
          expect(r.errors === null || typeof r.errors === 'object').toBe(true);
        },
      ),
    );
  });
});
