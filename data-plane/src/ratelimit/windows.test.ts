import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CurrentWindows,
  PERIODS,
  previousWindowStart,
  secondsUntil,
  windowEnd,
  windowStart,
} from './windows.js';

const at = (iso: string) => Date.parse(iso);

describe('rate-limit windows (Kong get_timestamps, UTC)', () => {
  const now = at('2024-02-29T13:45:30.250Z');

  it('aligns each period on its UTC boundary', () => {
    expect(windowStart('second', now)).toBe(at('2024-02-29T13:45:30Z'));
    expect(windowStart('minute', now)).toBe(at('2024-02-29T13:45:00Z'));
    expect(windowStart('hour', now)).toBe(at('2024-02-29T13:00:00Z'));
    expect(windowStart('day', now)).toBe(at('2024-02-29T00:00:00Z'));
    expect(windowStart('month', now)).toBe(at('2024-02-01T00:00:00Z'));
    expect(windowStart('year', now)).toBe(at('2024-01-01T00:00:00Z'));
  });

  it('ends months and years on the calendar (29-day February, 366-day leap year)', () => {
    expect(windowEnd('month', at('2024-02-01T00:00:00Z'))).toBe(at('2024-03-01T00:00:00Z'));
    expect(windowEnd('month', at('2024-12-01T00:00:00Z'))).toBe(at('2025-01-01T00:00:00Z'));
    expect(windowEnd('year', at('2024-01-01T00:00:00Z'))).toBe(at('2025-01-01T00:00:00Z'));
    expect(windowEnd('minute', at('2024-02-29T13:45:00Z'))).toBe(at('2024-02-29T13:46:00Z'));
  });

  it('finds the previous window, across month and year boundaries', () => {
    expect(previousWindowStart('month', at('2024-03-01T00:00:00Z'))).toBe(at('2024-02-01T00:00:00Z'));
    expect(previousWindowStart('year', at('2024-01-01T00:00:00Z'))).toBe(at('2023-01-01T00:00:00Z'));
    expect(previousWindowStart('second', at('2024-01-01T00:00:00Z'))).toBe(at('2023-12-31T23:59:59Z'));
  });

  it("answers Kong's reset: whole seconds left, at least 1", () => {
    expect(secondsUntil(at('2024-02-29T13:46:00Z'), now)).toBe(30);
    expect(secondsUntil(now, now)).toBe(1);
    expect(secondsUntil(now + 1000, now)).toBe(1);
  });
});

describe('CurrentWindows (the windows a rate-limiting instance keeps between requests)', () => {
  it('property: answers what windowStart / windowEnd answer, whatever way the clock moves', () => {
    // Times around month, year and leap-day boundaries, moving forward by small steps and jumping
    // back and forth (a clock set back, tests that move time).
    const boundary = fc.constantFrom(
      at('2024-02-29T23:59:59.500Z'),
      at('2024-12-31T23:59:59.900Z'),
      at('2023-12-31T23:59:59.999Z'),
      at('2024-05-10T10:20:30.100Z'),
    );
    const step = fc.oneof(
      fc.integer({ min: 0, max: 2_000 }),
      fc.integer({ min: -90_000_000, max: 90_000_000 }),
    );
    const periods = fc.subarray([...PERIODS], { minLength: 1 });
    fc.assert(
      fc.property(periods, boundary, fc.array(step, { maxLength: 40 }), (ps, start, steps) => {
        const windows = new CurrentWindows(ps);
        let now = start;
        for (const d of [0, ...steps]) {
          now += d;
          const w = windows.at(now);
          expect(w.starts).toEqual(ps.map((p) => windowStart(p, now)));
          expect(w.ends).toEqual(ps.map((p) => windowEnd(p, windowStart(p, now))));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the windows a request got when a later request rolls them over', () => {
    const windows = new CurrentWindows(['second', 'minute']);
    const first = windows.at(at('2024-05-10T10:20:59.900Z'));
    const starts = [...first.starts];
    expect(windows.at(at('2024-05-10T10:20:59.950Z'))).toBe(first);
    windows.at(at('2024-05-10T10:21:00.000Z'));
    expect(first.starts).toEqual(starts);
  });
});
