/**
 * Properties over hostile input: any config is validated to a value or to field errors (never a
 * throw, never a polluted prototype), and a valid one always initialises; any backend JSON
 * (`__proto__` keys, deep nesting, any shape) filtered and renamed by any paths never throws and
 * never pollutes a prototype.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { responseAggregationSpec } from './schema.js';
import { copyJson, encodeValue, getPath, parsePath, shape, type Path } from './compose.js';
import { initialise, snapshotOf } from '../runtime/test-support.js';

const snapshot = snapshotOf({});
const hostileString = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '/{resp.a.__proto__}',
    '/{resp.b.x}',
    '/x/{',
    '..',
  ),
  fc.constantFrom('/{request.query.__proto__}', '/a?b={resp.a.c.0}', 'a..b', '__proto__.polluted'),
);
const hostileValue = fc.oneof(
  fc.anything(),
  hostileString,
  fc.integer(),
  fc.array(hostileString, { maxLength: 4 }),
  fc.constant({ ['__proto__']: { polluted: true } }),
);
const call = fc.dictionary(
  fc.constantFrom('name', 'service', 'path', 'depends_on', 'timeout', 'fields', 'rename', '__proto__'),
  fc.oneof(hostileValue, fc.constantFrom('a', 'b', 'c'), fc.constant(['a', 'b'])),
  { maxKeys: 8 },
);
/** Calls that are often valid, so dependency graphs (cycles, unknown names) are exercised. */
const structuredCall = fc.record({
  name: fc.constantFrom('a', 'b', 'c'),
  service: fc.constantFrom('s', 'nowhere'),
  path: fc.constantFrom('/x', '/{resp.a.id}', '/{resp.b.x}/{resp.c.y}?q={request.query.q}', '/{resp.z.q}'),
  depends_on: fc.subarray(['a', 'b', 'c']),
  fields: fc.option(fc.array(fc.constantFrom('a', '__proto__.x', 'constructor', 'a.0.b'), { maxLength: 3 })),
});
const configKeys = [...Object.keys(responseAggregationSpec.schema.fields), '__proto__', 'constructor'];

describe('response-aggregation over hostile input', () => {
  it('validates any config to a value or field errors; a valid one initialises', () => {
    let valid = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant({}),
          fc.dictionary(fc.constantFrom(...configKeys), hostileValue, { maxKeys: 6 }),
        ),
        fc.oneof(fc.array(call, { maxLength: 5 }), fc.array(structuredCall, { maxLength: 5 })),
        (config, calls) => {
          const input = JSON.parse(JSON.stringify({ ...config, calls })) as unknown;
          const result = schema.check(responseAggregationSpec.schema, input);
          if (result.errors !== null) expect(Object.keys(result.errors).length).toBeGreaterThan(0);
          else {
            valid++;
            expect(() => initialise(plugin, snapshot, input as Record<string, unknown>)).not.toThrow();
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      // A known-valid config always runs first, so `valid` counts at least one whatever the seed
      // (a seed drawing no valid config made this test fail without a counterexample).
      {
        numRuns: 400,
        examples: [[{}, [{ name: 'a', service: 's', path: '/x', depends_on: [], fields: null }]]],
      },
    );
    expect(valid).toBeGreaterThan(0);
  });

  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'b', '0'), tie('value'), {
        maxKeys: 4,
      }),
      fc.array(tie('value'), { maxLength: 3 }),
    ),
  })).value;
  const path = fc
    .array(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'b', '0', 'length', 'toString'), {
      minLength: 1,
      maxLength: 4,
    })
    .map((segs) => parsePath(segs.join('.')) as Path);

  it('shapes any backend JSON by any paths without throwing or polluting a prototype', () => {
    fc.assert(
      fc.property(
        json,
        fc.option(fc.array(path, { maxLength: 4 })),
        fc.array(fc.tuple(path, path), { maxLength: 3 }),
        (value, fields, rename) => {
          const text = JSON.stringify(value);
          const body = copyJson(JSON.parse(text));
          const out = shape(body, { fields, rename });
          expect(() => JSON.stringify(out)).not.toThrow();
          for (const p of fields ?? []) encodeValue(getPath(body, p));
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.prototype).not.toHaveProperty('a');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses JSON nested past the bound with a RangeError, whatever its depth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 65, max: 20_000 }), fc.constantFrom('[', '{"a":'), (depth, open) => {
        const close = open === '[' ? ']' : '}';
        const text = open.repeat(depth) + '1' + close.repeat(depth);
        expect(() => copyJson(JSON.parse(text))).toThrow(RangeError);
      }),
      { numRuns: 30 },
    );
  });
});
