/**
 * fast-check arbitraries shared by the Admin API fuzzers: hostile strings (NUL, huge, emoji,
 * prototype names, traversal) and hostile JSON values (nested, with prototype keys).
 */
import fc from 'fast-check';

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.fullUnicodeString({ maxLength: 20 }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '__proto__',
    'a,b',
    'a/b',
    '../x',
    '%00',
    '%zz',
    '/',
    '~/(',
    'http://a.example',
  ),
  fc.constantFrom(129, 256, 600, 3_000, 100_000).map((n) => 'A'.repeat(n)),
  fc.constantFrom(200, 1_000).map((n) => '\u{1F600}'.repeat(n)),
  fc.uuid(),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    fc.constantFrom(null, true, false, 0, -1, 1.5, 65536, 1e308, Number.MAX_SAFE_INTEGER),
    fc.array(tie('v'), { maxLength: 3 }),
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS), hostileString), tie('v')), { maxLength: 3 })
      .map(
        (entries) =>
          JSON.parse(
            `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x) ?? 'null'}`).join(',')}}`,
          ) as unknown,
      ),
  ),
})).v;
