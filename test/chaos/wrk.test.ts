/**
 * The cross-check's verdict (F4): the generator's median within 1 ms of wrk's either way, no
 * failure on either side; the p99s are logged, not judged.
 */
import { describe, expect, it } from 'vitest';
import { crossCheckFigures, type WrkRun } from './wrk.js';

const wrk = (p50Ms: number, errors = 0): WrkRun => ({ requests: 140, errors, p50Ms, p99Ms: 5, maxMs: 9 });
const ours = (p50Ms: number, failed = 0) => ({ requests: 150, failed, p50Ms });
const verdict = (w: WrkRun, g: ReturnType<typeof ours>) => crossCheckFigures(w, g).map((f) => f.pass);

describe('crossCheckFigures', () => {
  it('passes medians within 1 ms either way', () => {
    expect(verdict(wrk(1.78), ours(1.9))).toEqual([true, true, true]);
    expect(verdict(wrk(1.78), ours(2.78))).toEqual([true, true, true]);
    expect(verdict(wrk(1.78), ours(0.78))).toEqual([true, true, true]);
  });

  it('fails a generator that reads more than 1 ms above wrk (the undici path: +1.37 ms)', () => {
    const [p50] = crossCheckFigures(wrk(1.78), ours(3.15));
    expect(p50).toMatchObject({ pass: false, value: '1.37 ms', bound: '-1.00–1.00 ms' });
  });

  it('fails a generator that reads more than 1 ms below wrk', () => {
    expect(verdict(wrk(3.0), ours(1.9))[0]).toBe(false);
  });

  it('fails when either side has no median (nothing answered)', () => {
    expect(verdict(wrk(1.78), ours(NaN))[0]).toBe(false);
    expect(verdict(wrk(NaN), ours(1.78))[0]).toBe(false);
  });

  it('fails on any failure seen by wrk or by the generator, whatever the medians', () => {
    expect(verdict(wrk(1.78, 1), ours(1.78))).toEqual([true, false, true]);
    expect(verdict(wrk(1.78), ours(1.78, 2))).toEqual([true, true, false]);
  });

  it('does not judge the p99s', () => {
    expect(
      crossCheckFigures({ ...wrk(1.78), p99Ms: 1 }, ours(1.78)).map((f) => f.measured),
    ).not.toContainEqual(expect.stringContaining('p99'));
  });
});
