import { describe, expect, it } from 'vitest';
import {
  copyJson,
  encodeValue,
  getPath,
  orderCalls,
  parseTemplate,
  referencedCalls,
  shape,
} from './compose.js';

describe('response-aggregation templates', () => {
  it('parses literal text and every placeholder kind', () => {
    expect(
      parseTemplate(
        '/users/{resp.order.user.id}?t={request.query.t}&h={request.header.X-Tenant}&c={request.captures.id}',
      ),
    ).toEqual([
      '/users/',
      { kind: 'resp', call: 'order', path: ['user', 'id'] },
      '?t=',
      { kind: 'query', name: 't' },
      '&h=',
      { kind: 'header', name: 'x-tenant' },
      '&c=',
      { kind: 'capture', name: 'id' },
    ]);
  });

  it('refuses templates that do not start with a slash, unbalanced braces, unknown sources and bad characters', () => {
    expect(parseTemplate('users')).toBe("must start with '/'");
    expect(parseTemplate('/a/{resp.x.y')).toBe("unbalanced '{'");
    expect(parseTemplate('/a/}')).toBe("unbalanced '}'");
    expect(parseTemplate('/a/{env.HOME}')).toMatch(/expected \{resp/);
    expect(parseTemplate('/a/{resp.order}')).toMatch(/expected \{resp/);
    expect(parseTemplate('/a b')).toMatch(/invalid character/);
    expect(parseTemplate('/a#frag')).toMatch(/invalid character/);
  });

  it('lists the calls a template reads, once each', () => {
    const parts = parseTemplate('/{resp.a.x}/{resp.b.y}/{resp.a.z}');
    expect(typeof parts === 'string' ? parts : referencedCalls(parts)).toEqual(['a', 'b']);
  });

  it('percent-encodes substituted values so they cannot add path segments, a query or a fragment', () => {
    expect(encodeValue('a/b?c=d&e#f%')).toBe('a%2Fb%3Fc%3Dd%26e%23f%25');
    expect(encodeValue(42)).toBe('42');
    expect(encodeValue(true)).toBe('true');
  });

  it('refuses empty values, dot segments, objects and non-finite numbers', () => {
    for (const v of ['', '.', '..', null, undefined, {}, [], Number.NaN, Infinity, 'x'.repeat(3000)])
      expect(encodeValue(v)).toBeNull();
  });
});

describe('response-aggregation paths and shapes', () => {
  const body = copyJson(JSON.parse('{"a":{"b":[{"c":1}]},"__proto__":{"x":1},"k":"v"}'));

  it('reads own properties and array indexes only', () => {
    expect(getPath(body, ['a', 'b', '0', 'c'])).toBe(1);
    expect(getPath(body, ['a', 'b', 'length'])).toBeUndefined();
    expect(getPath(body, ['k', 'length'])).toBeUndefined();
    expect(getPath(body, ['toString'])).toBeUndefined();
    expect(getPath(body, ['__proto__', 'x'])).toBe(1);
  });

  it('keeps only the allow-listed paths, with their structure', () => {
    expect(
      JSON.parse(JSON.stringify(shape(body, { fields: [['a', 'b'], ['missing']], rename: [] }))),
    ).toEqual({
      a: { b: [{ c: 1 }] },
    });
  });

  it('renames after filtering, into nested paths', () => {
    const out = shape(body, {
      fields: [['k'], ['a']],
      rename: [
        [['k'], ['meta', 'key']],
        [['a', 'b'], ['list']],
      ],
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual({ a: {}, meta: { key: 'v' }, list: [{ c: 1 }] });
  });

  it('keeps a non-object body as it is unless filtered, then null', () => {
    expect(shape([1, 2], { fields: null, rename: [] })).toEqual([1, 2]);
    expect(shape([1, 2], { fields: [['0']], rename: [] })).toBeNull();
  });

  it('copies __proto__ keys as own data and refuses JSON nested deeper than the bound', () => {
    const copy = copyJson(JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBeNull();
    expect(Object.keys(copy)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => copyJson(JSON.parse('['.repeat(100) + ']'.repeat(100)))).toThrow(RangeError);
  });
});

describe('response-aggregation call order', () => {
  it('orders each call after its dependencies', () => {
    const r = orderCalls([
      { name: 'c', deps: ['b'] },
      { name: 'a', deps: [] },
      { name: 'b', deps: ['a'] },
    ]);
    expect(r).toEqual({ order: [1, 2, 0] });
  });

  it('names cycles, unknown references, self references and duplicate names', () => {
    const cycle = orderCalls([
      { name: 'a', deps: ['b'] },
      { name: 'b', deps: ['a'] },
    ]);
    expect('errors' in cycle && [...cycle.errors.values()]).toEqual([
      { field: 'depends_on', message: 'dependency cycle: a -> b -> a' },
    ]);
    const bad = orderCalls([
      { name: 'a', deps: ['zzz'] },
      { name: 'b', deps: ['b'] },
      { name: 'a', deps: [] },
    ]);
    expect('errors' in bad && Object.fromEntries(bad.errors)).toEqual({
      0: { field: 'depends_on', message: "unknown call 'zzz'" },
      1: { field: 'depends_on', message: "call 'b' depends on itself" },
      2: { field: 'name', message: "duplicate call name 'a'" },
    });
  });
});
