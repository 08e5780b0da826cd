import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import {
  coerceFormInput,
  kongErrorBody,
  validateAcl,
  validateBasicAuthCredential,
  validateCaCertificate,
  validateCertificate,
  validateConsumer,
  validateConsumerGroup,
  validateHmacAuthCredential,
  validateJwtSecret,
  validateKey,
  validateKeyAuthCredential,
  validateKeySet,
  validatePlugin,
  validateRoute,
  validateService,
  validateSni,
  validateTarget,
  validateUpstream,
  validateVault,
  type FormInput,
} from './index.js';
import { routeSchema, serviceSchema, upstreamSchema } from './index.js';

const VALIDATORS: [string, (input: unknown) => unknown][] = [
  ['service', validateService],
  ['route', validateRoute],
  ['upstream', validateUpstream],
  ['target', validateTarget],
  ['consumer', validateConsumer],
  ['consumer group', validateConsumerGroup],
  ['certificate', validateCertificate],
  ['sni', validateSni],
  ['ca certificate', validateCaCertificate],
  ['key-auth', validateKeyAuthCredential],
  ['basic-auth', validateBasicAuthCredential],
  ['jwt', validateJwtSecret],
  ['hmac-auth', validateHmacAuthCredential],
  ['acl', validateAcl],
  ['plugin', validatePlugin],
  ['key', validateKey],
  ['key set', validateKeySet],
  ['vault', validateVault],
];

/** Keys that reach Object.prototype when assigned carelessly, and names of its members. */
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
/** Field names the entities have, so hostile values reach the field checks, not only "unknown field". */
const FIELD_KEYS = [
  'id',
  'name',
  'host',
  'port',
  'path',
  'url',
  'protocol',
  'protocols',
  'tags',
  'hosts',
  'paths',
  'methods',
  'headers',
  'sources',
  'snis',
  'service',
  'consumer',
  'upstream',
  'certificate',
  'target',
  'healthchecks',
  'active',
  'ip',
  'config',
  'username',
  'key',
  'cert',
  'algorithm',
  'hash_on',
  'ca_certificates',
  'created_at',
];

/**
 * JSON text whose objects may hold own `__proto__` keys (as `JSON.parse` makes them from a
 * request body), with huge strings and values of every type.
 */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(
      'null',
      'true',
      'false',
      '0',
      '-1',
      '1.5',
      '1e308',
      '65536',
      '""',
      '"a"',
      '"/a"',
      '"__proto__"',
    ),
    fc.string().map((s) => JSON.stringify(s)),
    fc.constantFrom(10_000, 100_000).map((n) => JSON.stringify('x'.repeat(n))),
    fc.array(tie('value'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS, ...FIELD_KEYS), fc.string()), tie('value')), {
        maxLength: 6,
      })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;

const hostileBody = fc.oneof(
  jsonText.map((t) => JSON.parse(t) as unknown),
  fc.anything(),
);

function prototypeSnapshot(): string[] {
  return [Object.prototype, Array.prototype, Function.prototype].flatMap((p) =>
    Object.getOwnPropertyNames(p).sort(),
  );
}
const PRISTINE = prototypeSnapshot();

afterEach(() => {
  expect(prototypeSnapshot()).toEqual(PRISTINE);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

/** Runs `fn`; anything thrown must be the typed schema violation with a Kong body. */
function onlySchemaViolations(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(isGatehouseError(e) && e.code).toBe('GH_ERR_ENTITY_SCHEMA_VIOLATION');
    expect(kongErrorBody(e)).toMatchObject({ name: 'schema violation', code: 2 });
    expect(typeof kongErrorBody(e)!.message).toBe('string');
  }
}

describe('entity validators under hostile input', () => {
  it.each(VALIDATORS)(
    '%s: random JSON, prototype keys, huge strings and wrong types only ever give a schema violation',
    (_name, validate) => {
      fc.assert(
        fc.property(hostileBody, (body) => {
          onlySchemaViolations(() => validate(body));
          expect(Object.prototype).not.toHaveProperty('polluted');
        }),
        { numRuns: 300 },
      );
    },
  );

  it('form coercion keeps hostile keys as data', () => {
    const formKey = fc.oneof(
      fc.constantFrom(...PROTO_KEYS, ...FIELD_KEYS),
      fc.constantFrom(...PROTO_KEYS, ...FIELD_KEYS).map((k) => `${k}[]`),
      fc.tuple(fc.constantFrom(...FIELD_KEYS), fc.constantFrom(...PROTO_KEYS)).map(([a, b]) => `${a}.${b}`),
      fc.string(),
    );
    const form = fc
      .array(fc.tuple(formKey, fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }))), {
        maxLength: 6,
      })
      .map((entries) => {
        const out = Object.create(null) as FormInput;
        for (const [k, v] of entries) out[k] = v;
        return out;
      });
    fc.assert(
      fc.property(form, fc.constantFrom(serviceSchema, routeSchema, upstreamSchema), (input, schema) => {
        const body = coerceFormInput(input, schema);
        expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
        for (const v of Object.values(body))
          if (v !== null && typeof v === 'object' && !Array.isArray(v))
            expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
        onlySchemaViolations(() => validateRoute(body));
      }),
      { numRuns: 500 },
    );
  });
});

describe('keys named like Object.prototype members', () => {
  const violation = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return kongErrorBody(e)!;
    }
    throw new Error('expected a schema violation');
  };

  it('are unknown fields, as any other key the schema does not have', () => {
    for (const key of ['constructor', 'toString', '__proto__']) {
      const body = JSON.parse(`{"host": "a.example", ${JSON.stringify(key)}: {"polluted": 1}}`) as unknown;
      const { fields } = violation(() => validateService(body));
      expect(Object.entries(fields!)).toEqual([[key, 'unknown field']]);
    }
  });

  it('are reported in nested records and form input too', () => {
    const upstream = JSON.parse('{"name": "u", "healthchecks": {"constructor": 1}}') as unknown;
    expect(violation(() => validateUpstream(upstream)).fields).toEqual({
      healthchecks: { constructor: 'unknown field' },
    });
    const form = Object.assign(Object.create(null) as FormInput, { host: 'a.example', toString: 'x' });
    expect(violation(() => validateService(coerceFormInput(form, serviceSchema))).fields).toEqual({
      toString: 'unknown field',
    });
  });

  it('stay data in a route header map (a legal header name)', () => {
    const route = validateRoute(JSON.parse('{"paths": ["/a"], "headers": {"__proto__": ["x"]}}'));
    expect(Object.getPrototypeOf(route.headers)).toBe(Object.prototype);
    expect(Object.entries(route.headers!)).toEqual([['__proto__', ['x']]]);
  });
});
