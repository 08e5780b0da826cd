import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetention } from './retention-setting.js';

const HOUR = 3_600_000;

describe('--analytics-retention', () => {
  it('reads a duration from 2h to 400d, or 0 for none', () => {
    expect(parseRetention('7d')).toBe(7 * 24 * HOUR);
    expect(parseRetention('36h')).toBe(36 * HOUR);
    expect(parseRetention('0')).toBe(0);
    expect(parseRetention('120m')).toBe(2 * HOUR);
  });

  it.each(['', '1h', '401d', '7', '7days', '-7d', '1.5d', 'off'])('refuses %j naming the rule', (v) => {
    expect(() => parseRetention(v)).toThrow(/duration|between 2h and 400d/);
  });

  it('takes no 0 for the 5-minute tier (--analytics-retention-5m)', () => {
    expect(parseRetention('2d', false)).toBe(48 * HOUR);
    expect(() => parseRetention('0', false)).toThrow(/expected a duration such as 7d, 36h or 2880m; got "0"/);
    expect(() => parseRetention('1h', false)).toThrow(/^must be between 2h and 400d; got "1h"$/);
  });

  it('answers any string with 0, a retention in bounds, or an Error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc
            .tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.constantFrom('s', 'm', 'h', 'd', 'w', ''))
            .map(([n, u]) => `${n}${u}`),
        ),
        (v) => {
          try {
            const ms = parseRetention(v);
            expect(ms === 0 || (ms >= 2 * HOUR && ms <= 400 * 24 * HOUR)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
