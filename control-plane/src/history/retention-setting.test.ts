import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_HISTORY_RETENTION, parseHistoryRetention } from './retention-setting.js';

const HOUR = 3_600_000;

describe('--config-history-retention', () => {
  it('reads a count, an age, or both in either order', () => {
    expect(parseHistoryRetention(DEFAULT_CONFIG_HISTORY_RETENTION)).toEqual({ count: 100, maxAgeMs: null });
    expect(parseHistoryRetention('30d')).toEqual({ count: null, maxAgeMs: 30 * 24 * HOUR });
    expect(parseHistoryRetention('100,30d')).toEqual({ count: 100, maxAgeMs: 30 * 24 * HOUR });
    expect(parseHistoryRetention(' 36h , 5 ')).toEqual({ count: 5, maxAgeMs: 36 * HOUR });
  });

  it.each(['', '0', '-1', '1.5', '100,', ',30d', '1,2', '30d,7d', '1,2,3', '30m', '3651d', 'off', '1000001'])(
    'refuses %j naming the rule',
    (v) => {
      expect(() => parseHistoryRetention(v)).toThrow(/expected a count|must be between/);
    },
  );

  it('answers any string with a retention in bounds or an Error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 16 }),
          fc
            .tuple(fc.integer({ min: -5, max: 2_000_000 }), fc.constantFrom('', 's', 'm', 'h', 'd', 'x'))
            .map(([n, u]) => `${n}${u}`),
        ),
        (text) => {
          let r;
          try {
            r = parseHistoryRetention(text);
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
            return;
          }
          expect(r.count !== null || r.maxAgeMs !== null).toBe(true);
          if (r.count !== null) expect(r.count >= 1 && r.count <= 1_000_000).toBe(true);
          if (r.maxAgeMs !== null) expect(r.maxAgeMs >= HOUR && r.maxAgeMs <= 3650 * 24 * HOUR).toBe(true);
        },
      ),
    );
  });
});
