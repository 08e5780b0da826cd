/**
 * Plugin configs come from Admin API bodies and declarative files: every bundled plugin's schema,
 * fed arbitrary and near-miss input (its own field names with wrong types, `__proto__` /
 * `constructor` keys, huge strings), either validates or throws Kong's schema violation — never
 * another error — and never touches Object.prototype.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { BUNDLED_SPECS, loadPluginSchemas } from './schemas.js';

/** Keys that would pollute a prototype if a validator assigned them naively. */
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

const HUGE = 'x'.repeat(1 << 20);

/** An object with exactly these own properties (`__proto__` included, as JSON.parse makes it). */
function own(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
  return out;
}

const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, NaN, Infinity, -Infinity, -0, 2 ** 53, '', HUGE, true, false, [], {}),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(...PROTO_KEYS).map((k) => own([[k, { polluted: true }]])),
);

/** The shape of a schema field this test reads (kept loose: only what guides generation). */
interface Shape {
  type?: string;
  fields?: Record<string, Shape>;
  elements?: Shape;
  values?: Shape;
  one_of?: readonly unknown[];
  default?: unknown;
}

/** Input close to what `field` accepts (its own names and values), mixed with hostile values. */
function nearMiss(field: Shape, depth: number): fc.Arbitrary<unknown> {
  if (depth <= 0) return hostileLeaf;
  const valid: fc.Arbitrary<unknown>[] = [];
  if (field.one_of !== undefined && field.one_of.length > 0) valid.push(fc.constantFrom(...field.one_of));
  if (field.default !== undefined) valid.push(fc.constant(field.default));
  switch (field.type) {
    case 'record': {
      const fields = field.fields ?? {};
      const names = Object.keys(fields);
      const entry = fc
        .constantFrom(...names, ...PROTO_KEYS, 'unknown_field')
        .chain((k) => (fields[k] ? nearMiss(fields[k], depth - 1) : hostileLeaf).map((v) => [k, v] as const));
      valid.push(fc.array(entry, { maxLength: names.length + 2 }).map(own));
      break;
    }
    case 'array':
    case 'set':
      valid.push(fc.array(nearMiss(field.elements ?? {}, depth - 1), { maxLength: 4 }));
      break;
    case 'map':
      valid.push(
        fc
          .array(
            fc.tuple(
              fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string()),
              nearMiss(field.values ?? {}, depth - 1),
            ),
            { maxLength: 3 },
          )
          .map(own),
      );
      break;
    case 'string':
      valid.push(fc.string({ maxLength: 30 }));
      break;
    case 'integer':
    case 'number':
      valid.push(fc.integer({ min: -5, max: 100_000 }));
      break;
    case 'boolean':
      valid.push(fc.boolean());
      break;
  }
  return fc.oneof({ arbitrary: hostileLeaf, weight: 1 }, ...valid.map((a) => ({ arbitrary: a, weight: 3 })));
}

const scope = fc.record(
  {
    consumer: fc.option(fc.record({ id: fc.uuid() })),
    consumer_group: fc.option(fc.record({ id: fc.uuid() })),
    protocols: fc.option(fc.array(fc.constantFrom('http', 'https', 'grpc', 'grpcs', 'tcp', '__proto__'))),
  },
  { requiredKeys: [] },
);

function expectOnlySchemaViolation(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    expect(isGatehouseError(e) && e.code === 'GH_ERR_ENTITY_SCHEMA_VIOLATION', String(e)).toBe(true);
  }
}

describe('plugin config validation over hostile input', () => {
  it.each(BUNDLED_SPECS.map((s) => [s.name, s] as const))(
    '%s: validates or throws a schema violation, and leaves Object.prototype alone',
    async (name, spec) => {
      const catalog = await loadPluginSchemas();
      const before = Object.getOwnPropertyNames(Object.prototype).sort();
      fc.assert(
        fc.property(nearMiss(spec.schema as Shape, 4), fc.option(scope, { nil: undefined }), (config, sc) => {
          expectOnlySchemaViolation(() => catalog.validateConfig(name, config, sc));
          expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        { numRuns: 150 },
      );
    },
  );

  it('refuses an unknown plugin name with a schema violation, whatever the name', async () => {
    const catalog = await loadPluginSchemas();
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...PROTO_KEYS, 'hasOwnProperty', 'toString')),
        (name) => {
          fc.pre(!catalog.has(name));
          expect(() => catalog.validateConfig(name, {})).toThrow(/not enabled/);
        },
      ),
      { numRuns: 100 },
    );
  });
});
