import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePcre, PcreUnsupportedError, translatePcre } from './pcre.js';

const re = (pattern: string) => {
  const r = compilePcre(pattern, { anchored: true });
  if (!(r instanceof RegExp)) throw new Error(r.error);
  return r;
};

describe('PCRE patterns as Kong users write them, run as JavaScript', () => {
  // spec/01-unit/08-router_spec.lua "returns uri_captures from a [uri regex]"
  it('translates named groups (?P<name>…) and exposes them as JavaScript groups', () => {
    const m = re('/users/(?P<user_id>\\d+)/profile/?(?P<scope>[a-z]*)').exec('/users/1984/profile/email');
    expect(m?.groups).toEqual({ user_id: '1984', scope: 'email' });
    expect(m?.[1]).toBe('1984');
    expect(re("/(?'id'\\d+)/(?P=id)").exec('/7/7')?.groups).toEqual({ id: '7' });
    expect(re('/(?<a>x)\\k{a}\\g{a}\\g{1}\\g1').test('/xxxxx')).toBe(true);
  });

  it('applies inline options (?i) (?s) (?m) (?x), scoped and turned off, where PCRE applies them', () => {
    expect(re('/(?i)abc').test('/ABC')).toBe(true);
    expect(re('/Ab(?i)c').test('/AbC')).toBe(true);
    expect(re('/Ab(?i)c').test('/aBC')).toBe(false);
    expect(re('/(?i:a)b').test('/Ab')).toBe(true);
    expect(re('/(?i:a)b').test('/AB')).toBe(false);
    expect(re('/(?i)a(?-i)b').test('/Ab')).toBe(true);
    expect(re('/(?i)a(?-i)b').test('/AB')).toBe(false);
    expect(re('/((?i)a)b').test('/Ab')).toBe(true);
    expect(re('/((?i)a)b').test('/AB')).toBe(false);
    expect(re('/(?i)[a-c]+').exec('/aBcD')?.[0]).toBe('/aBc');
    expect(re('/(?s)a.b').test('/a\nb')).toBe(true);
    expect(re('/a.b').test('/a\nb')).toBe(false);
    expect(re('/a.b').test('/a\rb')).toBe(true); // PCRE's `.` refuses only \n
    expect(re('/(?x) a b # comment\n c').test('/abc')).toBe(true);
    expect(re('/(?m)a$\\nb').test('/a\nb')).toBe(true);
  });

  it('translates anchors \\A \\z \\Z and PCRE’s $ (end, or before a final newline)', () => {
    expect(re('\\A/a\\z').test('/a')).toBe(true);
    expect(re('/a\\z').test('/a\n')).toBe(false);
    expect(re('/a\\Z').test('/a\n')).toBe(true);
    expect(re('/a$').test('/a\n')).toBe(true);
    expect(re('/a$').test('/ab')).toBe(false);
  });

  it('translates \\h \\v \\R \\Q…\\E \\e \\x{…} POSIX classes, \\p{…} and a leading ]', () => {
    expect(re('/a\\hb').test('/a\tb')).toBe(true);
    expect(re('/a[\\h]b').test('/a b')).toBe(true);
    expect(re('/a\\Hb').test('/a b')).toBe(false);
    expect(re('/a\\vb').test('/a\nb')).toBe(true);
    expect(re('/a\\vb').test('/a\u000bb')).toBe(true);
    expect(re('/a\\Rb').test('/a\r\nb')).toBe(true);
    expect(re('/\\Q.*+\\E').test('/.*+')).toBe(true);
    expect(re('/\\Q.*+\\E').test('/abc')).toBe(false);
    expect(re('/\\x{41}\\x{1F600}').test('/A\u{1F600}')).toBe(true);
    expect(re('/[[:alpha:]]+[[:digit:]]').test('/ab1')).toBe(true);
    expect(re('/\\pL+\\p{N}').test('/é1')).toBe(true);
    expect(re('/[]a]+').test('/]a]')).toBe(true);
    expect(re('/(?#a comment)x').test('/x')).toBe(true);
  });

  it('refuses what JavaScript cannot express, naming the construct', () => {
    const refused: [string, RegExp][] = [
      ['/a*+', /possessive quantifier '\*\+'/],
      ['/a++', /possessive quantifier '\+\+'/],
      ['/a{2}+', /possessive quantifier '\{2\}\+'/],
      ['/(?>a)', /atomic group/],
      ['/(?R)', /recursion/],
      ['/(a)(?1)', /recursion/],
      ['/(?&n)', /recursion/],
      ['/(?P>n)', /recursion/],
      ['/(?(1)a|b)', /conditional group/],
      ['/(?|a)', /branch reset/],
      ['/\\Ga', /'\\G'/],
      ['/a\\Kb', /'\\K'/],
      ['/(*SKIP)a', /backtracking verb/],
      ['/(?U)a', /inline option 'U'/],
      ['/\\g{-1}', /relative back-reference/],
    ];
    for (const [pattern, message] of refused) {
      expect(() => translatePcre(pattern), pattern).toThrow(PcreUnsupportedError);
      const r = compilePcre(pattern);
      expect(r instanceof RegExp ? '' : r.error, pattern).toMatch(message);
      expect(r instanceof RegExp ? '' : r.error).toMatch(/is not supported$/);
    }
  });

  it('reports what neither engine compiles with JavaScript’s message', () => {
    const r = compilePcre('/(a');
    expect(r instanceof RegExp ? '' : r.error).toMatch(/Invalid regular expression/);
  });

  it('never throws for any input: a RegExp or a message', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const r = compilePcre(s, { anchored: true });
        expect(r instanceof RegExp || typeof r.error === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps plain JavaScript-compatible patterns matching the same strings', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('/a+b*', '/[a-z]{2,3}', '/(x|y)?z', '/\\d+/\\w+', '/a\\.b', '/[^/]+'),
        fc.string({ maxLength: 12 }),
        (pattern, text) => {
          expect(re(pattern).test(text)).toBe(new RegExp(`^(?:${pattern})`).test(text));
        },
      ),
    );
  });
});
