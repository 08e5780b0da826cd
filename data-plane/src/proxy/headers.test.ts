import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentLengthOf } from './headers.js';

const raw = (...pairs: string[]): Buffer[] => pairs.map((s) => Buffer.from(s, 'latin1'));

describe('contentLengthOf (the upstream response head, as undici gives it)', () => {
  it('reads the first Content-Length of any case; -1 when absent or not plain decimal digits', () => {
    expect(contentLengthOf(raw('Content-Type', 'text/plain', 'Content-Length', '100'))).toBe(100);
    expect(contentLengthOf(raw('CONTENT-LENGTH', '00'))).toBe(0);
    expect(contentLengthOf(raw('content-length', '7', 'content-length', '7'))).toBe(7);
    expect(contentLengthOf([])).toBe(-1);
    expect(contentLengthOf(raw('x-content-length', '5'))).toBe(-1);
    for (const bad of ['', ' 1', '1 ', '+1', '-1', '1e3', '0x10', '1.5', '1234567890123456'])
      expect(contentLengthOf(raw('content-length', bad)), JSON.stringify(bad)).toBe(-1);
  });

  it('property: any head gives -1 or the safe integer the first Content-Length spells', () => {
    const name = fc.oneof(
      fc.constantFrom(
        'content-length',
        'Content-Length',
        'CONTENT-length',
        'content-lengtH',
        'content_length',
      ),
      fc.string({ maxLength: 20 }),
    );
    const value = fc.oneof(fc.stringMatching(/^\d{1,17}$/), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
        const got = contentLengthOf(raw(...pairs.flat()));
        const first = pairs.find(
          ([n]) => Buffer.from(n, 'latin1').toString('latin1').toLowerCase() === 'content-length',
        );
        if (first === undefined || !/^\d{1,15}$/.test(Buffer.from(first[1], 'latin1').toString('latin1'))) {
          expect(got).toBe(-1);
        } else {
          expect(Number.isSafeInteger(got) && got >= 0).toBe(true);
          expect(got).toBe(Number(Buffer.from(first[1], 'latin1').toString('latin1')));
        }
      }),
      { examples: [[[['Content-Length', '0012']]], [[['content-length', '9'.repeat(16)]]]] },
    );
  });
});
