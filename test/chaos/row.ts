/**
 * What a chaos row is: an id from the fault matrix (`F1`…, ../shared/research/reliability.md §7),
 * the fault, and a run that injects it and returns its figures, each against the bound the matrix
 * gives. A figure passes or fails on its own; a row passes when all its figures do.
 */
export interface Profile {
  /** `--short`: every row at reduced duration and load (CI). */
  readonly short: boolean;
  /** Requests per second of the open-loop load. */
  readonly rate: number;
  /** Length of a row's load run, in ms. */
  readonly durationMs: number;
}

export const FULL: Profile = { short: false, rate: 1000, durationMs: 60_000 };
export const SHORT: Profile = { short: true, rate: 300, durationMs: 15_000 };

export interface Figure {
  /** What was measured ("failed requests", "p99 delta"…). */
  readonly measured: string;
  /** The figure, with its unit ("0 of 60000", "+0.8 ms"). */
  readonly value: string;
  /** The bound ("0", "≤ +2 ms"). */
  readonly bound: string;
  readonly pass: boolean;
}

export interface Row {
  readonly id: string;
  readonly fault: string;
  run(profile: Profile, log: (line: string) => void): Promise<Figure[]>;
}

export interface RowResult {
  readonly id: string;
  readonly fault: string;
  readonly figures: Figure[];
  readonly pass: boolean;
  /** Why the row could not be run to its end (then it fails). */
  readonly error: string | null;
  readonly seconds: number;
  /** The machine's 1-minute load average when the row started (`os.loadavg()`). */
  readonly loadAverage: number;
}

/** A figure that is at most `bound`. */
export function atMost(measured: string, value: number, bound: number, unit: string, digits = 1): Figure {
  const show = (v: number) => (Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : 'never');
  return {
    measured,
    value: show(value),
    bound: `≤ ${show(bound)}`,
    pass: Number.isFinite(value) && value <= bound,
  };
}

/** A figure that is at least `low` and at most `high`. */
export function between(
  measured: string,
  value: number,
  low: number,
  high: number,
  unit: string,
  digits = 1,
): Figure {
  const show = (v: number) => (Number.isFinite(v) ? `${v.toFixed(digits)} ${unit}` : 'never');
  return {
    measured,
    value: show(value),
    bound: `${low.toFixed(digits)}–${show(high)}`,
    pass: Number.isFinite(value) && value >= low && value <= high,
  };
}

/** A count that must be exactly `expected` (failed requests: 0 of N). */
export function exactly(measured: string, value: number, expected: number, of?: number): Figure {
  return {
    measured,
    value: of === undefined ? String(value) : `${value} of ${of}`,
    bound: String(expected),
    pass: value === expected,
  };
}

/** A yes/no figure that must be `expected`. */
export function holds(measured: string, value: boolean, expected = true): Figure {
  return {
    measured,
    value: value ? 'yes' : 'no',
    bound: expected ? 'yes' : 'no',
    pass: value === expected,
  };
}

/** The p99 of a window against a baseline's: at most `boundMs` more. */
export function p99Delta(measured: string, baseMs: number, windowMs: number, boundMs: number): Figure {
  const delta = windowMs - baseMs;
  const sign = delta >= 0 ? '+' : '';
  return {
    measured,
    value: Number.isFinite(delta)
      ? `${sign}${delta.toFixed(2)} ms (${baseMs.toFixed(2)} → ${windowMs.toFixed(2)})`
      : 'no data',
    bound: `≤ +${boundMs} ms`,
    pass: Number.isFinite(delta) && delta <= boundMs,
  };
}
