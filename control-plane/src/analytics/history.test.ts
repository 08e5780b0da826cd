import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRead } from './history.js';
import { HOURLY_MS, ROLLUP_MS } from './rollup.js';

const H = HOURLY_MS;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % H); // an hour boundary

describe('planRead (which tier reads each part of a window)', () => {
  it('reads every whole hour rolled up from the hourly tier, the partial hours around from the 5-minute one', () => {
    const from = T0 + 25 * 60_000;
    const seam = T0 + 7 * 24 * H + 35 * 60_000;
    const through = T0 + (7 * 24 - 3) * H; // the last three hours are not rolled up yet
    expect(planRead({ fromMs: from }, seam, through)).toEqual([
      { tier: '5m', fromMs: from, toMs: T0 + H },
      { tier: '1h', fromMs: T0 + H, toMs: through },
      { tier: '5m', fromMs: through, toMs: seam },
    ]);
  });

  it('reads an hour that two steps share from the 5-minute tier', () => {
    const from = T0 + 30 * 60_000;
    // Steps of an hour from :30: no hour fits in one, every part is 5-minute.
    expect(planRead({ fromMs: from, stepMs: H }, from + 6 * H, from + 6 * H)).toEqual([
      { tier: '5m', fromMs: from, toMs: from + 6 * H },
    ]);
    // Steps of two hours from :30: the hour in the middle of each fits.
    expect(planRead({ fromMs: from, stepMs: 2 * H }, from + 4 * H, from + 4 * H)).toEqual([
      { tier: '5m', fromMs: from, toMs: T0 + H },
      { tier: '1h', fromMs: T0 + H, toMs: T0 + 2 * H },
      { tier: '5m', fromMs: T0 + 2 * H, toMs: T0 + 3 * H },
      { tier: '1h', fromMs: T0 + 3 * H, toMs: T0 + 4 * H },
      { tier: '5m', fromMs: T0 + 4 * H, toMs: from + 4 * H },
    ]);
    // Steps of a day over hour-aligned windows take every hour.
    expect(planRead({ fromMs: T0, stepMs: 24 * H }, T0 + 48 * H, T0 + 48 * H)).toEqual([
      { tier: '1h', fromMs: T0, toMs: T0 + 48 * H },
    ]);
  });

  it('reads only the 5-minute tier before any hour is rolled up', () => {
    expect(planRead({ fromMs: T0 }, T0 + 10 * H, -Infinity)).toEqual([
      { tier: '5m', fromMs: T0, toMs: T0 + 10 * H },
    ]);
  });

  it('covers any window once, in order, with hours that fit one step and are rolled up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 24 * 12 }),
        fc.integer({ min: 0, max: 24 * 12 * 9 }),
        fc.option(fc.integer({ min: 1, max: 48 * 12 }), { nil: undefined }),
        fc.integer({ min: -12, max: 24 * 12 * 10 }),
        (fromBuckets, lengthBuckets, stepBuckets, throughBuckets) => {
          const fromMs = T0 + fromBuckets * ROLLUP_MS;
          const seam = fromMs + lengthBuckets * ROLLUP_MS;
          const stepMs = stepBuckets === undefined ? undefined : stepBuckets * ROLLUP_MS;
          const through = T0 + throughBuckets * ROLLUP_MS;
          const plan = planRead({ fromMs, ...(stepMs ? { stepMs } : {}) }, seam, through);
          let at = fromMs;
          for (const r of plan) {
            expect(r.fromMs).toBe(at);
            expect(r.toMs).toBeGreaterThan(r.fromMs);
            if (r.tier === '1h') {
              expect(r.fromMs % H).toBe(0);
              expect(r.toMs % H).toBe(0);
              expect(r.toMs).toBeLessThanOrEqual(Math.min(through, seam));
              if (stepMs)
                for (let h = r.fromMs; h < r.toMs; h += H)
                  expect(Math.floor((h - fromMs) / stepMs)).toBe(Math.floor((h + H - 1 - fromMs) / stepMs));
            }
            at = r.toMs;
          }
          expect(at).toBe(seam);
          // Adjacent ranges of one tier are merged.
          for (let i = 1; i < plan.length; i++) expect(plan[i]!.tier).not.toBe(plan[i - 1]!.tier);
        },
      ),
      { numRuns: 500 },
    );
  });
});
