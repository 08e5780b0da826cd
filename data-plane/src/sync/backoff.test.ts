import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, BackoffOptionsError, RECONNECT_BACKOFF } from './backoff.js';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const schedule = fc
  .record({
    baseMs: fc.integer({ min: 1, max: 60_000 }),
    factor: fc.integer({ min: 1, max: 64 }),
    floor: fc.double({ min: 0, max: 1, noNaN: true }),
    stableAfterMs: fc.integer({ min: 0, max: 120_000 }),
  })
  .map(({ factor, ...s }) => ({ ...s, maxMs: s.baseMs * factor }));

describe('Backoff (exponential, equal-ish jitter)', () => {
  it('doubles the ceiling from the base up to the maximum', () => {
    const b = new Backoff({ baseMs: 250, maxMs: 30_000, random: () => 0.5 });
    const ceilings: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      ceilings.push(b.ceilingMs);
      b.next();
    }
    expect(ceilings).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('draws each delay between the floor share of its ceiling and the ceiling', () => {
    const low = new Backoff({ baseMs: 1000, maxMs: 30_000, floor: 0.8, random: () => 0 });
    const high = new Backoff({ baseMs: 1000, maxMs: 30_000, floor: 0.8, random: () => 0.999999 });
    expect([low.next(), low.next(), low.next()]).toEqual([800, 1600, 3200]);
    expect([high.next(), high.next(), high.next()]).toEqual([1000, 2000, 4000]);
  });

  it('keeps every delay within [floor × ceiling, ceiling] and never above maxMs, for any schedule and randomness', () => {
    fc.assert(
      fc.property(
        schedule,
        fc.array(fc.double({ min: -1, max: 2, noNaN: true }), { minLength: 1, maxLength: 80 }),
        (s, draws) => {
          let i = 0;
          const b = new Backoff({ ...s, random: () => draws[i++ % draws.length]! });
          for (let k = 0; k < draws.length; k += 1) {
            const ceiling = b.ceilingMs;
            const d = b.next();
            expect(Number.isInteger(d)).toBe(true);
            expect(d).toBeLessThanOrEqual(ceiling);
            expect(d).toBeGreaterThanOrEqual(Math.floor(s.floor * ceiling));
            expect(d).toBeLessThanOrEqual(s.maxMs);
          }
        },
      ),
    );
  });

  it('never lowers the ceiling between two delays unless the schedule resets', () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 1, max: 200 }), (s, n) => {
        const b = new Backoff(s);
        let previous = b.ceilingMs;
        expect(previous).toBe(s.baseMs);
        for (let k = 0; k < n; k += 1) {
          b.next();
          expect(b.ceilingMs).toBeGreaterThanOrEqual(previous);
          expect(b.ceilingMs).toBeLessThanOrEqual(s.maxMs);
          previous = b.ceilingMs;
        }
        expect(b.attempts).toBe(n);
      }),
    );
  });

  it('starts over from the base only after a connection stayed up for stableAfterMs', () => {
    fc.assert(
      fc.property(
        schedule,
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 6 }),
        (s, uptimes, failures) => {
          const clock = manualClock();
          const b = new Backoff({ ...s, now: clock.now });
          for (const up of uptimes) {
            for (let k = 0; k < failures; k += 1) b.next();
            const before = b.ceilingMs;
            const attempts = b.attempts;
            b.connected();
            clock.advance(up);
            const ceiling = b.ceilingMs;
            b.next();
            if (up >= s.stableAfterMs) {
              // The delay just drawn was the first of a fresh schedule.
              expect(b.attempts).toBe(1);
              expect(Math.min(s.maxMs, s.baseMs * 2)).toBe(b.ceilingMs);
            } else {
              expect(ceiling).toBe(before);
              expect(b.attempts).toBe(attempts + 1);
              expect(b.ceilingMs).toBeGreaterThanOrEqual(before);
            }
          }
        },
      ),
    );
  });

  it('does not reset on time passed without a connection', () => {
    const clock = manualClock();
    const b = new Backoff({ baseMs: 100, maxMs: 1000, stableAfterMs: 10, now: clock.now, random: () => 0 });
    b.next();
    b.next();
    clock.advance(60_000);
    b.next();
    expect(b.attempts).toBe(3);
    expect(b.ceilingMs).toBe(800);
  });

  it('starts over from the base after reset', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, floor: 0.5, random: () => 0.5 });
    b.next();
    b.next();
    b.next();
    expect(b.ceilingMs).toBe(800);
    b.reset();
    expect(b.ceilingMs).toBe(100);
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(75);
  });

  it('spreads a fleet: delays at the same attempt differ', () => {
    const delays = new Set<number>();
    for (let i = 0; i < 50; i += 1) {
      const b = new Backoff({ baseMs: 250, maxMs: 30_000 });
      for (let k = 0; k < 6; k += 1) b.next();
      delays.add(b.next());
    }
    expect(delays.size).toBeGreaterThan(40);
  });

  it('rejects hostile options with a typed error naming each fault', () => {
    const bad = fc.oneof(
      fc.constantFrom(NaN, Infinity, -Infinity, 0, -1, -0.5, Number.MAX_VALUE * -1),
      fc.double({ max: 0, noNaN: true }),
    );
    fc.assert(
      fc.property(bad, (v) => {
        expect(() => new Backoff({ baseMs: v })).toThrow(BackoffOptionsError);
        expect(() => new Backoff({ baseMs: 10, maxMs: v })).toThrow(/maxMs/);
        expect(() => new Backoff({ stableAfterMs: v === 0 ? -1 : v })).toThrow(/stableAfterMs/);
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(NaN, Infinity, -Infinity),
          fc.double({ min: 1.000001, noNaN: true }),
          fc.double({ max: -0.000001, noNaN: true }),
        ),
        (floor) => {
          expect(() => new Backoff({ floor })).toThrow(/floor must be in \[0, 1\]/);
        },
      ),
    );
    expect(() => new Backoff({ baseMs: 500, maxMs: 100 })).toThrow(BackoffOptionsError);
    try {
      new Backoff({ baseMs: NaN });
    } catch (e) {
      expect((e as BackoffOptionsError).code).toBe('GH_ERR_DP_BACKOFF_OPTIONS');
    }
  });
});

describe('RECONNECT_BACKOFF (the DP reconnect schedule)', () => {
  const draws = fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), {
    minLength: 20,
    maxLength: 20,
  });
  const from = (d: number[]) => {
    let i = 0;
    return new Backoff({ random: () => d[i++]! });
  };

  it('F4: the first retry is within 0.5–2× the base', () => {
    fc.assert(
      fc.property(draws, (d) => {
        const first = from(d).next();
        expect(first).toBeGreaterThanOrEqual(0.5 * RECONNECT_BACKOFF.baseMs);
        expect(first).toBeLessThanOrEqual(2 * RECONNECT_BACKOFF.baseMs);
      }),
    );
  });

  it('F1: no delay exceeds 4.5 s, leaving 0.5 s of the 5 s resync bound to connect', () => {
    fc.assert(
      fc.property(draws, (d) => {
        const b = from(d);
        for (let k = 0; k < d.length; k += 1) expect(b.next()).toBeLessThanOrEqual(4_500);
      }),
    );
  });

  it('F5: two attempts cover a 5 s outage, from a fresh schedule and from the ceiling', () => {
    fc.assert(
      fc.property(draws, (d) => {
        const fresh = from(d);
        expect(fresh.next() + fresh.next()).toBeGreaterThanOrEqual(5_000);
        const flapping = from(d);
        for (let k = 0; k < 5; k += 1) flapping.next();
        expect(flapping.next() + flapping.next()).toBeGreaterThanOrEqual(5_000);
      }),
    );
  });

  it('F5: a stream up less than 10 s keeps the schedule at its ceiling', () => {
    const clock = manualClock();
    const b = new Backoff({ now: clock.now });
    for (let k = 0; k < 3; k += 1) b.next();
    b.connected();
    clock.advance(9_999);
    b.next();
    expect(b.ceilingMs).toBe(RECONNECT_BACKOFF.maxMs);
    b.connected();
    clock.advance(10_000);
    expect(b.next()).toBeLessThanOrEqual(RECONNECT_BACKOFF.baseMs);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(RECONNECT_BACKOFF)).toBe(true);
  });
});
