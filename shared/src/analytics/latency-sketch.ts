/**
 * Latency sketches for traffic summaries: a DDSketch (`@datadog/sketches-js`) with 1 % relative
 * accuracy, so any quantile read from it is within 1 % of the true value of the sample of that
 * rank — whatever the number of workers, nodes and periods merged, because merging adds bins.
 *
 * One plain shape (`SketchData`, the same fields as the proto's LatencySketch) travels everywhere:
 * worker -> primary over IPC (structured clone), DP -> CP in TrafficSummary, CP -> Postgres.
 * `decodeSketch` checks a shape from outside and throws `SketchDataError` naming what is wrong.
 */
import { DDSketch } from '@datadog/sketches-js';

export type Sketch = DDSketch;

/** The sketches' relative accuracy (alpha). Sketches of another alpha cannot be merged. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
/**
 * Most bins a sketch may span. At 1 % accuracy, 1 µs to 1 day spans about 1,300 keys, so a real
 * latency sketch never comes near; a message with more is refused.
 */
export const SKETCH_MAX_BINS = 4096;
/** Keys beyond this magnitude map to values outside any double: refused. */
const SKETCH_MAX_KEY = 40_000;
const MAX_COUNT = 0xffffffff;

/** A sketch as data (the proto's LatencySketch fields). */
export interface SketchData {
  relativeAccuracy: number;
  /** Key of counts[0]. */
  offset: number;
  counts: number[];
  zeroCount: number;
  sum: number;
  min: number;
  max: number;
}

export class SketchDataError extends Error {
  readonly code = 'invalid_sketch';
  constructor(message: string) {
    super(message);
    this.name = 'SketchDataError';
  }
}

export function newSketch(): Sketch {
  return new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
}

/** Adds one latency (milliseconds; negative or non-finite values count as 0). */
export function recordLatency(sketch: Sketch, ms: number): void {
  sketch.accept(ms > 0 && Number.isFinite(ms) ? ms : 0);
}

/** The sketch as data: only the span of keys that hold counts. */
export function encodeSketch(sketch: Sketch): SketchData {
  const store = sketch.store;
  const empty = store.count === 0;
  const counts = empty ? [] : store.bins.slice(store.minKey - store.offset, store.maxKey - store.offset + 1);
  return {
    relativeAccuracy: SKETCH_RELATIVE_ACCURACY,
    offset: empty ? 0 : store.minKey,
    counts,
    zeroCount: sketch.zeroCount,
    sum: sketch.sum,
    min: sketch.count === 0 ? 0 : sketch.min,
    max: sketch.count === 0 ? 0 : sketch.max,
  };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_COUNT;
}

/** Checks data that came from outside this process; throws SketchDataError when it is not a sketch. */
function checkSketchData(d: SketchData): void {
  if (d.relativeAccuracy !== SKETCH_RELATIVE_ACCURACY)
    throw new SketchDataError(
      `relative_accuracy must be ${SKETCH_RELATIVE_ACCURACY} (got ${String(d.relativeAccuracy)})`,
    );
  if (!Array.isArray(d.counts) || d.counts.length > SKETCH_MAX_BINS)
    throw new SketchDataError(`counts must hold at most ${SKETCH_MAX_BINS} bins`);
  if (!Number.isInteger(d.offset) || Math.abs(d.offset) > SKETCH_MAX_KEY)
    throw new SketchDataError(`offset must be an integer within ±${SKETCH_MAX_KEY}`);
  if (d.offset + d.counts.length > SKETCH_MAX_KEY) throw new SketchDataError('bins beyond the largest key');
  if (!isCount(d.zeroCount)) throw new SketchDataError('zero_count must be a non-negative integer');
  for (const c of d.counts)
    if (!isCount(c)) throw new SketchDataError('counts must be non-negative integers');
  for (const [name, v] of [
    ['sum', d.sum],
    ['min', d.min],
    ['max', d.max],
  ] as const)
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new SketchDataError(`${name} must be a finite, non-negative number`);
}

/** A sketch from data that came from outside this process; throws SketchDataError when it is not one. */
export function decodeSketch(d: SketchData): Sketch {
  checkSketchData(d);
  const sketch = newSketch();
  const n = d.counts.length;
  // The last key first: the store grows its range once, not bin by bin.
  for (let i = n - 1; i >= 0; i--) {
    const c = d.counts[i]!;
    if (c > 0) sketch.store.add(d.offset + i, c);
  }
  sketch.zeroCount = d.zeroCount;
  sketch.count = sketch.store.count + d.zeroCount;
  if (sketch.count > 0) {
    sketch.sum = d.sum;
    sketch.min = d.min;
    sketch.max = d.max;
  }
  return sketch;
}

/** Merges `from` into `into` (same accuracy by construction). */
export function mergeSketch(into: Sketch, from: Sketch): void {
  into.merge(from);
}

export interface LatencyQuantiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** p50/p95/p99 in milliseconds (null for an empty sketch). */
export function sketchQuantiles(sketch: Sketch): LatencyQuantiles {
  if (sketch.count === 0) return { p50: null, p95: null, p99: null };
  return {
    p50: round3(sketch.getValueAtQuantile(0.5)),
    p95: round3(sketch.getValueAtQuantile(0.95)),
    p99: round3(sketch.getValueAtQuantile(0.99)),
  };
}

/**
 * A sketch at rest: its bins as a Uint32Array over the span of keys that hold counts (a DDSketch
 * object keeps a few KB of bins and mappings; this keeps 4 bytes a key). Read by `addCompact`.
 */
export interface CompactSketch {
  readonly offset: number;
  readonly counts: Uint32Array;
  readonly zeroCount: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export function compactSketch(sketch: Sketch): CompactSketch {
  const d = encodeSketch(sketch);
  return {
    offset: d.offset,
    counts: Uint32Array.from(d.counts),
    zeroCount: d.zeroCount,
    count: sketch.count,
    sum: d.sum,
    min: d.min,
    max: d.max,
  };
}

/** Adds a compact sketch's counts into `into` (a merge, without making a sketch object). */
export function addCompact(into: Sketch, c: CompactSketch): void {
  if (c.count === 0) return;
  const n = c.counts.length;
  for (let i = n - 1; i >= 0; i--) {
    const k = c.counts[i]!;
    if (k > 0) into.store.add(c.offset + i, k);
  }
  const wasEmpty = into.count === 0;
  into.zeroCount += c.zeroCount;
  into.count += c.count;
  into.sum += c.sum;
  into.min = wasEmpty ? c.min : Math.min(into.min, c.min);
  into.max = wasEmpty ? c.max : Math.max(into.max, c.max);
}

/**
 * Data from outside this process as a compact sketch, checked as decodeSketch checks it: for
 * reading many sketches to merge them (no sketch object each). Throws SketchDataError.
 */
export function decodeCompactSketch(d: SketchData): CompactSketch {
  checkSketchData(d);
  let count = d.zeroCount;
  for (const c of d.counts) count += c;
  const empty = count === 0;
  return {
    offset: d.offset,
    counts: Uint32Array.from(d.counts),
    zeroCount: d.zeroCount,
    count,
    sum: empty ? 0 : d.sum,
    min: empty ? 0 : d.min,
    max: empty ? 0 : d.max,
  };
}

/** A compact sketch back as a sketch (to merge more into it). */
export function expandSketch(c: CompactSketch): Sketch {
  const s = newSketch();
  addCompact(s, c);
  return s;
}
