import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addCompact,
  compactSketch,
  expandSketch,
  decodeCompactSketch,
  decodeSketch,
  encodeSketch,
  mergeSketch,
  newSketch,
  recordLatency,
  SKETCH_RELATIVE_ACCURACY,
  sketchQuantiles,
  SketchDataError,
} from './latency-sketch.js';

/** The exact q-quantile at DDSketch's rank q·(n−1) (the lower sample). */
function exact(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

const latencies = fc.array(fc.double({ min: 0.05, max: 60_000, noNaN: true }), {
  minLength: 1,
  maxLength: 400,
});

function within(got: number | null, want: number): void {
  expect(got).not.toBeNull();
  // 1 % relative error, plus the 3-decimal rounding of the answer.
  expect(Math.abs(got! - want)).toBeLessThanOrEqual(want * SKETCH_RELATIVE_ACCURACY + 0.0005 + 1e-9);
}

describe('latency sketches', () => {
  it('answer p50/p95/p99 within 1 % of the exact quantile', () => {
    fc.assert(
      fc.property(latencies, (values) => {
        const s = newSketch();
        for (const v of values) recordLatency(s, v);
        const q = sketchQuantiles(s);
        within(q.p50, exact(values, 0.5));
        within(q.p95, exact(values, 0.95));
        within(q.p99, exact(values, 0.99));
      }),
    );
  });

  it('merged across workers and nodes (through their encoded form) equal one sketch of every value', () => {
    fc.assert(
      fc.property(fc.array(latencies, { minLength: 1, maxLength: 6 }), (parts) => {
        // Each part is one worker of one node: encoded as it crosses IPC / the stream, merged at the end.
        const merged = newSketch();
        const whole = newSketch();
        for (const part of parts) {
          const s = newSketch();
          for (const v of part) {
            recordLatency(s, v);
            recordLatency(whole, v);
          }
          mergeSketch(merged, decodeSketch(structuredClone(encodeSketch(s))));
        }
        expect(merged.count).toBe(whole.count);
        expect(sketchQuantiles(merged)).toEqual(sketchQuantiles(whole));
        const all = parts.flat();
        within(sketchQuantiles(merged).p99, exact(all, 0.99));
      }),
    );
  });

  it('round-trip through the encoded form, counts, sum, min and max kept', () => {
    const s = newSketch();
    for (const v of [0, 1, 2.5, 100, 2500]) recordLatency(s, v);
    const back = decodeSketch(encodeSketch(s));
    expect(back.count).toBe(5);
    expect(back.zeroCount).toBe(1);
    expect(back.min).toBe(0);
    expect(back.max).toBe(2500);
    expect(back.sum).toBeCloseTo(2603.5);
    expect(sketchQuantiles(back)).toEqual(sketchQuantiles(s));
    expect(sketchQuantiles(newSketch())).toEqual({ p50: null, p95: null, p99: null });
  });

  it('refuse any malformed encoded sketch with a SketchDataError, never another error', () => {
    const anyNumber = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.constantFrom(-1, 0, 2 ** 32, Number.NaN, Infinity, 0.01, 1e9),
    );
    const hostile = fc.record({
      relativeAccuracy: fc.oneof(fc.constant(SKETCH_RELATIVE_ACCURACY), anyNumber),
      offset: anyNumber,
      counts: fc.oneof(fc.array(anyNumber, { maxLength: 50 }), fc.constant(new Array(5000).fill(1))),
      zeroCount: anyNumber,
      sum: anyNumber,
      min: anyNumber,
      max: anyNumber,
    });
    fc.assert(
      fc.property(hostile, (d) => {
        let s;
        try {
          s = decodeSketch(d);
          expect(s.count).toBe(d.counts.reduce((a: number, b: number) => a + b, 0) + d.zeroCount);
          sketchQuantiles(s);
        } catch (e) {
          expect(e).toBeInstanceOf(SketchDataError);
        }
        // The compact decoding refuses the same, and reads the same sketch.
        try {
          const c = decodeCompactSketch(d);
          if (!s) throw new Error('decodeCompactSketch took what decodeSketch refused');
          const into = newSketch();
          addCompact(into, c);
          expect(sketchQuantiles(into)).toEqual(sketchQuantiles(s));
          expect(into.count).toBe(s.count);
        } catch (e) {
          expect(s === undefined && e instanceof SketchDataError, String(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('compact sketches', () => {
  it('keep the same quantiles, merge into a sketch as the sketch would, and expand back', () => {
    fc.assert(
      fc.property(latencies, latencies, (a, b) => {
        const sa = newSketch();
        const sb = newSketch();
        for (const v of a) recordLatency(sa, v);
        for (const v of b) recordLatency(sb, v);
        const viaCompact = newSketch();
        addCompact(viaCompact, compactSketch(sa));
        addCompact(viaCompact, compactSketch(sb));
        const direct = newSketch();
        mergeSketch(direct, sa);
        mergeSketch(direct, sb);
        expect(viaCompact.count).toBe(direct.count);
        expect(sketchQuantiles(viaCompact)).toEqual(sketchQuantiles(direct));
        expect(sketchQuantiles(expandSketch(compactSketch(sa)))).toEqual(sketchQuantiles(sa));
        const decoded = newSketch();
        addCompact(decoded, decodeCompactSketch(encodeSketch(sa)));
        expect(sketchQuantiles(decoded)).toEqual(sketchQuantiles(sa));
        expect([decoded.count, decoded.min, decoded.max]).toEqual([sa.count, sa.min, sa.max]);
      }),
      { numRuns: 50 },
    );
  });
});
