import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeToken } from './decode.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const HEADER = b64({ alg: 'HS256', typ: 'JWT' });
const CLAIMS = b64({ iss: 'k' });

describe("jwt decodeToken (Kong's jwt_parser.lua decode_token)", () => {
  it('decodes header and claims of a well-formed token', () => {
    expect(decodeToken(`${HEADER}.${CLAIMS}.c2ln`)).toEqual({
      header: { alg: 'HS256', typ: 'JWT' },
      claims: { iss: 'k' },
    });
  });

  // spec/03-plugins/16-jwt/03-access_spec.lua "returns a 401 if the JWT in the cookie is corrupted".
  it('says "invalid JSON" for a token that is not three base64url JSON segments', () => {
    for (const t of [
      `no-way-this-works${HEADER}.${CLAIMS}.c2ln`,
      'abc',
      'a.b',
      `${HEADER}.${CLAIMS}`,
      `${HEADER}.notjson.sig`,
      `${HEADER}.${b64('{"iss":')}.sig`,
      `.${CLAIMS}.sig`,
      `${HEADER}.${CLAIMS.slice(0, -1)}+.sig`,
      '....',
    ]) {
      expect(decodeToken(t), t).toBe('invalid JSON');
    }
  });

  it('says "invalid alg" when the header has no supported alg string (none included)', () => {
    for (const header of [
      { alg: 'none' },
      { typ: 'JWT' },
      { alg: 256 },
      { alg: 'hs256' },
      ['HS256'],
      '"HS256"',
      7,
    ]) {
      expect(decodeToken(`${b64(header)}.${CLAIMS}.sig`), JSON.stringify(header)).toBe('invalid alg');
    }
  });

  it('says "invalid signature" for a signature segment that is not base64url (a 4th segment joins it)', () => {
    expect(decodeToken(`${HEADER}.${CLAIMS}.c2ln.more`)).toBe('invalid signature');
    expect(decodeToken(`${HEADER}.${CLAIMS}.a+b`)).toBe('invalid signature');
    expect(decodeToken(`${HEADER}.${CLAIMS}.`)).toEqual({
      header: { alg: 'HS256', typ: 'JWT' },
      claims: { iss: 'k' },
    });
  });

  it('reads claims that are not a JSON object as no claims; accepts padded segments', () => {
    expect(decodeToken(`${HEADER}.${b64([1, 2])}.sig`)).toMatchObject({ claims: {} });
    expect(decodeToken(`${HEADER}.${b64('null')}.sig`)).toMatchObject({ claims: {} });
    const padded = Buffer.from('{"iss":"k12"}').toString('base64');
    expect(padded.endsWith('=')).toBe(true);
    expect(decodeToken(`${HEADER}.${padded}.sig`)).toMatchObject({ claims: { iss: 'k12' } });
  });

  it('keeps __proto__ and constructor as claims, never as prototypes', () => {
    const d = decodeToken(`${HEADER}.${b64('{"__proto__":{"iss":"x"},"constructor":1}')}.sig`);
    expect(typeof d).toBe('object');
    const claims = (d as { claims: Record<string, unknown> }).claims;
    expect(Object.hasOwn(claims, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).iss).toBeUndefined();
  });

  it('property: hostile tokens never throw; the result is a reason or plain objects', () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.json({ maxDepth: 2 }).map((j) => Buffer.from(j).toString('base64url')),
      fc.constant(HEADER),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), fc.constantFrom('.', '..', '='), (parts, sep) => {
        const r = decodeToken(parts.join(sep));
        if (typeof r === 'string') expect(['invalid JSON', 'invalid alg', 'invalid signature']).toContain(r);
        else {
          expect(typeof r.header.alg).toBe('string');
          expect(Array.isArray(r.claims)).toBe(false);
        }
      }),
    );
  });
});
