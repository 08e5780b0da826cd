import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff (exponential, full jitter)', () => {
  it('doubles the ceiling from the base up to the maximum', () => {
    const b = new Backoff({ baseMs: 250, maxMs: 30_000, random: () => 0.5 });
    const ceilings: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      ceilings.push(b.ceilingMs);
      b.next();
    }
    expect(ceilings).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('draws each delay uniformly below the ceiling (full jitter)', () => {
    const low = new Backoff({ baseMs: 250, maxMs: 30_000, random: () => 0 });
    const high = new Backoff({ baseMs: 250, maxMs: 30_000, random: () => 0.999999 });
    expect([low.next(), low.next(), low.next()]).toEqual([0, 0, 0]);
    expect([high.next(), high.next(), high.next()]).toEqual([249, 499, 999]);
  });

  it('never exceeds the maximum however many attempts fail', () => {
    const b = new Backoff({ baseMs: 250, maxMs: 30_000 });
    for (let i = 0; i < 2000; i += 1) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(30_000);
    }
    expect(b.attempts).toBe(2000);
  });

  it('starts over from the base after reset', () => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.5 });
    b.next();
    b.next();
    b.next();
    expect(b.ceilingMs).toBe(800);
    b.reset();
    expect(b.ceilingMs).toBe(100);
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(50);
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

  it('rejects a base above the maximum or not positive', () => {
    expect(() => new Backoff({ baseMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ baseMs: 500, maxMs: 100 })).toThrow(RangeError);
  });
});

describe('Backoff defaults', () => {
  it('caps the delay at 5 s so a data plane resyncs soon after its control plane returns', () => {
    const b = new Backoff({ random: () => 0.999999 });
    let last = 0;
    for (let i = 0; i < 50; i += 1) last = b.next();
    expect(b.maxMs).toBe(5_000);
    expect(last).toBe(4999);
  });
});
