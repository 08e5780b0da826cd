import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { kongErrorBody, inputViolation } from '../entities/errors.js';
import { toConfig } from '../declarative/resolve.js';
import { declarativeProblems } from '../declarative/errors.js';
import { parseDeclarative } from '../declarative/parse.js';
import { check, t, typedefs as td } from './index.js';
import { deepMerge, inputProblems, MAX_INPUT_DEPTH, NUL_MESSAGE } from './values.js';

const snapshot = () =>
  [Object.prototype, Array.prototype].flatMap((p) => Object.getOwnPropertyNames(p).sort());
const PRISTINE = snapshot();
afterEach(() => {
  expect(snapshot()).toEqual(PRISTINE);
  expect(({} as Record<string, unknown>).x).toBeUndefined();
});

describe('inputProblems (the input policy every entry point applies)', () => {
  it('refuses __proto__, constructor and prototype keys at any depth as unknown fields', () => {
    const body = JSON.parse(
      '{"a":[{"b":{"__proto__":{"x":1}}}],"constructor":{"prototype":{"x":1}},"prototype":1}',
    );
    expect(inputProblems(body)).toEqual([
      { path: ['constructor'], message: 'unknown field' },
      { path: ['prototype'], message: 'unknown field' },
      { path: ['a', 0, 'b', '__proto__'], message: 'unknown field' },
    ]);
  });

  it('refuses NUL in strings and in keys, and nesting past the limit', () => {
    expect(inputProblems({ a: ['ok', 'b\u0000'], 'k\u0000': 1 })).toEqual([
      { path: ['k\u0000'], message: NUL_MESSAGE },
      { path: ['a', 1], message: NUL_MESSAGE },
    ]);
    const deep = JSON.parse(
      `${'['.repeat(MAX_INPUT_DEPTH + 1)}${']'.repeat(MAX_INPUT_DEPTH + 1)}`,
    ) as unknown;
    expect(inputProblems(deep)).toHaveLength(1);
    const ok = JSON.parse(`${'['.repeat(MAX_INPUT_DEPTH)}${']'.repeat(MAX_INPUT_DEPTH)}`) as unknown;
    expect(inputProblems(ok)).toEqual([]);
    expect(inputProblems(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toHaveLength(1);
  });

  it('builds a Kong schema violation naming each path, with own properties only', () => {
    const e = inputViolation(inputProblems(JSON.parse('{"config":{"__proto__":{"x":1}},"name":"\\u0000"}')));
    const body = kongErrorBody(e)!;
    expect(body).toMatchObject({ name: 'schema violation', code: 2 });
    expect(JSON.stringify(body.fields)).toBe(
      `{"config":{"__proto__":"unknown field"},"name":${JSON.stringify(NUL_MESSAGE)}}`,
    );
  });
});

describe('deepMerge', () => {
  it('merges records and keeps hostile keys as data', () => {
    const patch = JSON.parse('{"a":{"b":2},"__proto__":{"x":1},"constructor":{"prototype":{"x":1}}}');
    const out = deepMerge({ a: { c: 1 }, d: 1 }, patch);
    expect(out.a).toEqual({ b: 2, c: 1 });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
  });

  it('never writes a prototype, whatever the input', () => {
    const key = fc.constantFrom('__proto__', 'constructor', 'prototype', 'x', 'a');
    const tree = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        fc.integer(),
        fc
          .array(fc.tuple(key, tie('v')), { maxLength: 3 })
          .map(
            (es) => JSON.parse(`{${es.map(([k, v]) => `"${k}":${JSON.stringify(v)}`).join(',')}}`) as unknown,
          ),
      ),
    })).v;
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        if (b !== null && typeof b === 'object') deepMerge(a, b as Record<string, unknown>);
        expect(snapshot()).toEqual(PRISTINE);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the schema language refuses NUL and over-long values (issue 8 item 4)', () => {
  it('refuses NUL in any string field, a reference by name and a whole-value typedef', () => {
    expect(check(t.string(), 'a\u0000').errors).toEqual({ '@entity': [NUL_MESSAGE] });
    expect(check(td.foreign('services', { by_name: true }), { name: '\u0000' }).errors).toEqual({
      name: NUL_MESSAGE,
    });
    const parsed = { type: 'string' as const, parse: (v: unknown) => ({ value: v }) };
    expect(check(parsed, ['\u0000']).errors).toEqual({ '@entity': [NUL_MESSAGE] });
  });

  it('bounds names, tags, hosts and indexed strings', () => {
    const text = (n: number) => 'a'.repeat(n);
    const hostname = (n: number) =>
      Array.from({ length: Math.ceil(n / 50) }, () => 'a'.repeat(49))
        .join('.')
        .slice(0, n);
    for (const [field, max, value] of [
      [td.name(), td.NAME_MAX, text],
      [td.tag(), td.TAG_MAX, text],
      [td.host(), td.HOST_MAX, hostname],
      [td.indexedText(), td.INDEXED_TEXT_MAX, text],
    ] as const) {
      expect(check(field, value(max)).errors, `${max}`).toBeNull();
      expect(check(field, value(max + 1)).errors).toEqual({ '@entity': [`length must be at most ${max}`] });
    }
  });
});

describe('declarative documents', () => {
  const problems = (text: string) => {
    try {
      toConfig(parseDeclarative(text));
    } catch (e) {
      return declarativeProblems(e);
    }
    throw new Error('expected the document to be refused');
  };

  it('refuses a prototype key or NUL anywhere, by path, before reading the document', () => {
    expect(problems('{"_format_version":"3.0","__proto__":{"x":"y"}}')).toEqual([
      { path: '__proto__', message: 'unknown field' },
    ]);
    expect(problems('_format_version: "3.0"\nservices:\n  - name: s\n    __proto__: {x: y}\n')).toEqual([
      { path: 'services[0].__proto__', message: 'unknown field' },
    ]);
    expect(problems('_format_version: "3.0"\nconsumers:\n  - username: "a\\0"\n')).toEqual([
      { path: 'consumers[0].username', message: NUL_MESSAGE },
    ]);
  });

  it('reads a top-level key named like an Object.prototype member as an unknown field', () => {
    expect(problems('_format_version: "3.0"\ntoString: [{}]\nhasOwnProperty: []\n')).toEqual([
      { path: 'toString', message: 'unknown field' },
      { path: 'hasOwnProperty', message: 'unknown field' },
    ]);
  });
});
