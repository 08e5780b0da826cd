import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { roundMs } from './exchange-facts.js';
import { msText } from './ms-text.js';

describe('msText', () => {
  it('writes any double exactly as String(roundMs(ms)) does', () => {
    fc.assert(
      fc.property(fc.double(), (ms) => {
        expect(msText(ms)).toBe(String(roundMs(ms)));
      }),
      { numRuns: 20_000 },
    );
  });

  it('writes realistic latencies (0 to an hour, any sub-microsecond part) as String(roundMs(ms))', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 3_600_000, noNaN: true }), (ms) => {
        expect(msText(ms)).toBe(String(roundMs(ms)));
      }),
      { numRuns: 20_000 },
    );
  });

  it('writes every microsecond count of the first ten seconds as String(roundMs(ms))', () => {
    for (let us = 0; us <= 10_000_000; us += 7) {
      const ms = us / 1000;
      if (msText(ms) !== String(roundMs(ms))) expect(msText(ms)).toBe(String(roundMs(ms)));
    }
  });

  it('writes -1 for a latency not reached, and the edges as JSON numbers', () => {
    expect(msText(-1)).toBe('-1');
    expect(msText(-0.0001)).toBe('-1');
    expect(msText(0)).toBe('0');
    expect(msText(-0)).toBe('0');
    expect(msText(0.0004)).toBe('0');
    expect(msText(0.0005)).toBe('0.001');
    expect(msText(1.92)).toBe('1.92');
    expect(msText(12.3456)).toBe('12.346');
    expect(msText(100)).toBe('100');
    expect(msText(2_147_483.6475)).toBe(String(roundMs(2_147_483.6475)));
    expect(msText(1e12 + 0.25)).toBe(String(roundMs(1e12 + 0.25)));
  });
});
