import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cookieValue, eachCookie, unquote } from './cookies.js';

const pairsOf = (header: string): [string, string][] => {
  const out: [string, string][] = [];
  eachCookie(header, (n, v) => {
    out.push([n, v]);
  });
  return out;
};

describe('reading Cookie headers (one reader for the balancer, jwt and canary)', () => {
  it('splits name=value pairs on ";" and trims both; skips parts without "=" or with an empty name', () => {
    expect(pairsOf('a=1; b = 2 ;c=')).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', ''],
    ]);
    expect(pairsOf('flag; =x; ;;d=4=5')).toEqual([['d', '4=5']]);
    expect(pairsOf('')).toEqual([]);
  });

  it('returns the first value of a name across several Cookie headers, quotes kept', () => {
    expect(cookieValue(['a=1', 'b="two"; b=3'], 'b')).toBe('"two"');
    expect(cookieValue(['a=1; A=2'], 'A')).toBe('2');
    expect(cookieValue(['ab=1'], 'a')).toBeUndefined();
    expect(cookieValue([], 'a')).toBeUndefined();
    expect(unquote('"two"')).toBe('two');
    expect(unquote('"')).toBe('"');
    expect(unquote('x')).toBe('x');
  });

  it('stops at the first pair the visitor accepts', () => {
    const seen: string[] = [];
    expect(eachCookie('a=1; b=2; c=3', (n) => (seen.push(n), n === 'b'))).toBe(true);
    expect(seen).toEqual(['a', 'b']);
  });

  it('never throws on hostile headers, and finds what a plain split finds', () => {
    const part = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })).map(([n, v]) => `${n}=${v}`),
      fc.constantFrom('__proto__=x', 'constructor=y', ' = ', '=', ';', '"'),
    );
    fc.assert(
      fc.property(
        fc.array(part, { maxLength: 8 }),
        fc.string({ minLength: 1, maxLength: 6 }),
        (parts, name) => {
          const header = parts.join(';');
          const expected = header
            .split(';')
            .map(
              (p) =>
                [
                  p.slice(0, p.indexOf('=')).trim(),
                  p.slice(p.indexOf('=') + 1).trim(),
                  p.indexOf('='),
                ] as const,
            )
            .filter(([n, , eq]) => eq > 0 && n !== '')
            .map(([n, v]) => [n, v]);
          expect(pairsOf(header)).toEqual(expected);
          const first = expected.find(([n]) => n === name.trim() && name.trim() === name);
          expect(cookieValue([header], name)).toBe(first?.[1]);
        },
      ),
    );
  });
});
