/**
 * The query parameters of `GET /analytics/{dimension}`, checked: a bad one is a 400 naming it
 * (Kong's schema-violation body), never a 500.
 *
 *  - `window`: how far back, `<n>s|m|h|d` (default `1h`); at least 10 s. Up to 1 h it is read from
 *    the ring at 10 s resolution; above, from the history (at most its retention; refused when
 *    the history is off): at 5-minute resolution (a multiple of 5 minutes) up to the 5-minute
 *    tier's retention, at 1-hour resolution (a multiple of 1 hour) beyond. The window ends with
 *    the bucket of its resolution in progress.
 *  - `step`: a series per step, same grammar, a multiple of the resolution, at most `window`,
 *    at most 360 steps.
 * Which tier's rows answer each part of the window is the history's choice (history.ts): the
 * coarsest whose buckets each fall within one step.
 *  - `service`, `route`, `consumer`, `data_plane`, `region`: only traffic whose service (…) has
 *    this id or name. Per-DP figures are the DP's totals: `/analytics/data-planes` takes only
 *    `data_plane` and `region`, the others every filter but `data_plane`.
 */
import { schemaViolation } from '@gatehouse/shared';
import { HOURLY_MS, ROLLUP_MS } from './rollup.js';
import {
  filtersFor,
  RESOLUTION_MS,
  RING_BUCKETS,
  type Dimension,
  type TrafficFilters,
  type TrafficQuery,
} from './traffic-store.js';

export const MAX_WINDOW_MS = RING_BUCKETS * RESOLUTION_MS;
export const MAX_STEPS = 360;
export const DEFAULT_WINDOW = '1h';
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_FILTER_LENGTH = 256;

/** The query parameters, as the filter each names. */
export const FILTER_PARAMS: Record<string, Dimension> = {
  service: 'services',
  route: 'routes',
  consumer: 'consumers',
  data_plane: 'data-planes',
  region: 'regions',
};
const KNOWN = new Set(['window', 'step', ...Object.keys(FILTER_PARAMS)]);

/** `5m` -> 300000; null when it is not a duration. */
export function parseDuration(v: string): number | null {
  const m = /^([1-9][0-9]{0,6})([smhd])$/.exec(v);
  return m ? Number(m[1]) * UNITS[m[2]!]! : null;
}

export interface ParsedQuery extends Omit<TrafficQuery, 'dimension'> {
  window: string;
  step: string | null;
  /** 10 s (the ring), 5 minutes or 1 hour (the history). */
  resolutionMs: number;
}

/** What the control plane holds. */
export interface AnalyticsLimits {
  /** The history's retention (0: no history, the hour in memory only). */
  historyMs: number;
  /** The 5-minute tier's retention (absent: historyMs); longer windows are at 1-hour resolution. */
  fiveMinuteMs?: number;
}

/** `7d`, `36h`, `90m` for a number of milliseconds (whole minutes). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

/** Checks `query` (Express's req.query); throws a 400 schema violation. */
export function parseAnalyticsQuery(
  query: Record<string, unknown>,
  now: number,
  dimension: Dimension,
  limits: AnalyticsLimits = { historyMs: 0 },
): ParsedQuery {
  const errors: Record<string, string> = {};
  const single = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      errors[name] = 'expected a single value';
      return undefined;
    }
    return v;
  };
  for (const k of Object.keys(query)) if (!KNOWN.has(k)) errors[k] = 'unknown field';

  const window = single('window') ?? DEFAULT_WINDOW;
  const windowMs = parseDuration(window);
  const fiveMinuteMs = Math.min(limits.fiveMinuteMs ?? limits.historyMs, limits.historyMs);
  const resolutionMs =
    windowMs === null || windowMs <= MAX_WINDOW_MS
      ? RESOLUTION_MS
      : windowMs <= fiveMinuteMs
        ? ROLLUP_MS
        : HOURLY_MS;
  if (windowMs === null) errors.window = 'expected a duration such as 30s, 5m, 1h or 7d';
  else if (windowMs < RESOLUTION_MS) errors.window = `must be at least ${RESOLUTION_MS / 1000}s`;
  else if (windowMs > MAX_WINDOW_MS && limits.historyMs <= 0)
    errors.window = 'must be at most 1h (the analytics history is off: only the last hour is held)';
  else if (windowMs > limits.historyMs && windowMs > MAX_WINDOW_MS)
    errors.window = `must be at most ${formatDuration(limits.historyMs)} (the analytics retention)`;
  else if (windowMs % resolutionMs !== 0)
    errors.window =
      resolutionMs === HOURLY_MS
        ? `above ${formatDuration(fiveMinuteMs)} (the 5-minute retention), must be a multiple of 1h`
        : 'above 1h, must be a multiple of 5m (the resolution of the history)';

  const stepRaw = single('step');
  let stepMs: number | undefined;
  if (stepRaw !== undefined) {
    const s = parseDuration(stepRaw);
    const windowOk = windowMs !== null && !errors.window;
    if (s === null) errors.step = 'expected a duration such as 10s, 1m or 5m';
    else if (s % resolutionMs !== 0)
      errors.step = `must be a multiple of ${formatDuration(resolutionMs)} (the resolution of this window)`;
    else if (windowOk && s > windowMs) errors.step = 'must not exceed window';
    else if (windowOk && windowMs / s > MAX_STEPS) errors.step = `window / step must be at most ${MAX_STEPS}`;
    else stepMs = s;
  }

  const filters: TrafficFilters = {};
  const allowed = filtersFor(dimension);
  for (const [param, along] of Object.entries(FILTER_PARAMS)) {
    const v = single(param);
    if (v === undefined) continue;
    if (!allowed.has(along))
      errors[param] =
        dimension === 'data-planes'
          ? 'per-DP figures are totals: filter them by data_plane or region only'
          : 'only /analytics/data-planes is kept per DP';
    else if (v.length === 0 || v.length > MAX_FILTER_LENGTH)
      errors[param] = `must be 1-${MAX_FILTER_LENGTH} characters`;
    else filters[along] = v;
  }

  if (Object.keys(errors).length > 0) throw schemaViolation(errors);
  // The window ends with the bucket in progress (of the resolution), so it includes it.
  const toMs = Math.floor(now / resolutionMs) * resolutionMs + resolutionMs;
  return {
    window,
    step: stepRaw ?? null,
    resolutionMs,
    fromMs: toMs - windowMs!,
    toMs,
    ...(stepMs !== undefined ? { stepMs } : {}),
    filters,
  };
}
