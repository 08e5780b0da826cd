import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isReference, parseReference, REFERENCE_MAX_LENGTH, type VaultReference } from './reference.js';

function ok(value: string): VaultReference {
  const r = parseReference(value);
  if (!r.ok) throw new Error(r.error);
  return r.reference;
}

function error(value: string): string {
  const r = parseReference(value);
  if (r.ok) throw new Error(`parsed: ${value}`);
  return r.error;
}

describe('vault references: parsing (kong/pdk/vault.lua parse_reference)', () => {
  it('recognises only strings that start with {vault:// and end with }', () => {
    expect(isReference('{vault://env/a}')).toBe(true);
    expect(isReference('vault://env/a')).toBe(false);
    expect(isReference('{vault://env/a')).toBe(false);
    expect(isReference(42)).toBe(false);
    expect(isReference(null)).toBe(false);
  });

  it('reads prefix, resource, key, query config and version as Kong does', () => {
    expect(ok('{vault://env/my-secret}')).toMatchObject({
      prefix: 'env',
      resource: 'my-secret',
      key: null,
      version: null,
    });
    const r = ok('{vault://env/cert/key?prefix=SSL_&ttl=5#1}');
    expect(r).toMatchObject({ prefix: 'env', resource: 'cert', key: 'key', version: 1 });
    expect({ ...r.config }).toEqual({ prefix: 'SSL_', ttl: '5' });
    expect(ok('{vault://my-file/a/b/c}')).toMatchObject({ resource: 'a/b', key: 'c' });
    expect(ok('{vault://my-file/a/b/}')).toMatchObject({ resource: 'a/b', key: null });
    expect(ok('{vault://env/with%20space}')).toMatchObject({ resource: 'with space' });
  });

  it("refuses what Kong refuses, with Kong's messages", () => {
    expect(error('{vault://}')).toBe('reference url is missing host [{vault://}]');
    expect(error('{vault://env}')).toBe('reference url is missing path [{vault://env}]');
    expect(error('{vault://env/}')).toBe('reference url has empty path [{vault://env/}]');
    expect(error('{vault://env/a#x}')).toBe('reference url has invalid version [{vault://env/a#x}]');
    expect(error('plain')).toBe('not a reference');
  });

  it('refuses path segments that are empty, dot segments or decode to separators or NUL', () => {
    for (const bad of [
      'a//b',
      '../etc/passwd',
      'a/../../b',
      '.',
      '%2e%2e/x',
      'a%2Fb',
      'a%5Cb',
      'a%00',
      '%E0%A4%A',
    ]) {
      expect(error(`{vault://file/${bad}}`)).toContain('reference url has invalid path');
    }
    expect(error('{vault://Env/a}')).toContain('invalid host');
    expect(error('{vault://env/a?ttl=\0}')).toContain('NUL');
    expect(error('{vault://env/a?ttl=%00}')).toContain('invalid query');
    expect(error(`{vault://env/${'a'.repeat(REFERENCE_MAX_LENGTH)}}`)).toContain('longer than');
  });

  it('keeps query names as data: __proto__ never reaches a prototype', () => {
    const r = ok('{vault://env/a?__proto__=x&constructor=y}');
    expect(Object.getPrototypeOf(r.config)).toBe(null);
    expect(r.config.__proto__).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('never throws, never pollutes a prototype and never yields a climbing segment on hostile input', () => {
    const piece = fc.constantFrom(
      '/',
      '//',
      '..',
      '.',
      '%2e',
      '%2E%2E',
      '%2F',
      '%5C',
      '%00',
      '%',
      '?',
      '#',
      '&',
      '=',
      '__proto__',
      'constructor',
      'prototype',
      'env',
      'file',
      'a',
      '-',
      '{',
      '}',
      '\\',
      '\0',
      ' ',
      'é',
      '%zz',
    );
    const tail = fc
      .array(fc.oneof(piece, fc.string({ maxLength: 6 })), { maxLength: 12 })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.oneof(
          tail.map((t) => `{vault://${t}}`),
          fc.string(),
          fc.fullUnicodeString(),
        ),
        (s) => {
          const r = parseReference(s);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.prototype).not.toHaveProperty('x');
          if (!r.ok) {
            expect(typeof r.error).toBe('string');
            return;
          }
          const segments = [
            ...r.reference.resource.split('/'),
            ...(r.reference.key === null ? [] : [r.reference.key]),
          ];
          for (const seg of segments) {
            expect(['', '.', '..']).not.toContain(seg);
            expect(seg).not.toMatch(/[\\\0]/);
          }
          expect(r.reference.key ?? '').not.toContain('/');
          expect(Object.getPrototypeOf(r.reference.config)).toBe(null);
          expect(s).not.toContain('\0');
          for (const v of Object.values(r.reference.config)) expect(v).not.toContain('\0');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
