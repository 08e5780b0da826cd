import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { previousWeight, slidingCount, slidingWaitMs } from './sliding.js';

describe('sliding window estimate', () => {
  it('weighs the previous window by the share of it still inside the last window length', () => {
    expect(previousWeight(0, 0, 60_000)).toBe(1);
    expect(previousWeight(15_000, 0, 60_000)).toBe(0.75);
    expect(previousWeight(60_000, 0, 60_000)).toBe(0);
    expect(slidingCount(3, 8, 0.75)).toBe(9);
  });

  it('waits until the previous window has weighed down enough, or into the next window', () => {
    // limit 10, 8 in the previous window, 3 now, a quarter through: 3 + 8·0.75 = 9 < 10 → fits now.
    expect(slidingWaitMs(10, 8, 3, 15_000, 0, 60_000)).toBe(0);
    // 5 now: 5 + 8·w < 10 needs w < 0.625, i.e. 7.5 s more.
    expect(slidingWaitMs(10, 8, 5, 15_000, 0, 60_000)).toBe(7_500);
    // 10 now: this window is full; in the next one 10·w < 10 needs w < 1: right at its start.
    expect(slidingWaitMs(10, 8, 10, 15_000, 0, 60_000)).toBe(45_000);
    // 20 now (more than the limit counted): in the next window 20·w < 10 needs half of it.
    expect(slidingWaitMs(10, 0, 20, 15_000, 0, 60_000)).toBe(75_000);
  });

  it('property: after waiting the answer, the estimate admits one more request', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 59_999 }),
        (limit, previous, current, elapsed) => {
          const wait = slidingWaitMs(limit, previous, current, elapsed, 0, 60_000);
          expect(wait).toBeGreaterThanOrEqual(0);
          const t = elapsed + wait + 1;
          const estimate =
            t < 60_000
              ? slidingCount(current, previous, previousWeight(t, 0, 60_000))
              : slidingCount(0, current, previousWeight(t, 60_000, 120_000));
          expect(estimate).toBeLessThan(limit);
        },
      ),
    );
  });
});
