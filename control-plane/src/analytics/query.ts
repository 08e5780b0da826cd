/**
 * The query parameters of `GET /analytics/{dimension}`, checked: a bad one is a 400 naming it
 * (Kong's schema-violation body), never a 500.
 *
 *  - `window`: how far back, `<n>s|m|h` (default `1h`); at least 10 s, at most the hour held.
 *  - `step`: a series per step, same grammar, a multiple of 10 s, at most `window`, at most 360 steps.
 *  - `service`, `route`, `consumer`, `data_plane`, `region`: only traffic whose service (…) has
 *    this id or name. Per-DP figures are the DP's totals: `/analytics/data-planes` takes only
 *    `data_plane` and `region`, the others every filter but `data_plane`.
 */
import { schemaViolation } from '@gatehouse/shared';
import {
  filtersFor,
  RESOLUTION_MS,
  RING_BUCKETS,
  type Dimension,
  type TrafficFilters,
  type TrafficQuery,
} from './traffic-store.js';

export const MAX_WINDOW_MS = RING_BUCKETS * RESOLUTION_MS;
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
}

/** Checks `query` (Express's req.query); throws a 400 schema violation. */
export function parseAnalyticsQuery(
  query: Record<string, unknown>,
  now: number,
  dimension: Dimension,
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
  if (windowMs === null) errors.window = 'expected a duration such as 30s, 5m or 1h';
  else if (windowMs < RESOLUTION_MS) errors.window = `must be at least ${RESOLUTION_MS / 1000}s`;
  else if (windowMs > MAX_WINDOW_MS) errors.window = `must be at most 1h (the hour held at 10s resolution)`;

  const stepRaw = single('step');
  let stepMs: number | undefined;
  if (stepRaw !== undefined) {
    const s = parseDuration(stepRaw);
    if (s === null) errors.step = 'expected a duration such as 10s, 1m or 5m';
    else if (s % RESOLUTION_MS !== 0) errors.step = `must be a multiple of ${RESOLUTION_MS / 1000}s`;
    else if (windowMs !== null && !errors.window && s > windowMs) errors.step = 'must not exceed window';
    else if (windowMs !== null && !errors.window && windowMs / s > RING_BUCKETS)
      errors.step = `window / step must be at most ${RING_BUCKETS}`;
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
  const toMs = Math.floor(now / RESOLUTION_MS) * RESOLUTION_MS + RESOLUTION_MS;
  return {
    window,
    step: stepRaw ?? null,
    fromMs: toMs - windowMs!,
    toMs,
    ...(stepMs !== undefined ? { stepMs } : {}),
    filters,
  };
}
