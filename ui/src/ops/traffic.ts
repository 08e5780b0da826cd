/**
 * The Traffic screen's facts, from the analytics API (`/analytics/{dimension}`, docs/admin-api.md
 * "analytics"): the query for a dimension, window and filter, and the chart data made of the
 * answer's per-step `series`.
 */
export const DIMENSIONS = ['services', 'routes', 'consumers', 'regions', 'data-planes'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Windows the screen offers, each with a step giving at most 60 points. */
export const WINDOWS = [
  { window: '5m', step: '10s' },
  { window: '15m', step: '30s' },
  { window: '1h', step: '1m' },
  { window: '6h', step: '10m' },
  { window: '24h', step: '30m' },
] as const;
export type TrafficWindow = (typeof WINDOWS)[number]['window'];

export interface Latency {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SeriesPoint {
  start: number;
  requests: number;
  errors_4xx: number;
  errors_5xx: number;
  error_rate: number;
  latency_ms: Latency | null;
}

export interface TrafficItem {
  id: string | null;
  name: string | null;
  requests: number;
  errors_4xx: number;
  errors_5xx: number;
  error_rate: number;
  latency_ms: Latency | null;
  series?: SeriesPoint[];
}

export interface TrafficAnswer {
  data: TrafficItem[];
  window: string;
  step?: string;
  from: number;
  to: number;
  resolution: number;
}

export function isDimension(s: string | undefined): s is Dimension {
  return (DIMENSIONS as readonly string[]).includes(s ?? '');
}

export function isWindow(s: string | undefined): s is TrafficWindow {
  return WINDOWS.some((w) => w.window === s);
}

/** The analytics path for a dimension and window, with the step that fits it and an optional filter. */
export function trafficPath(
  dim: Dimension,
  win: TrafficWindow,
  filter: { key: string; value: string } | null = null,
): string {
  const step = WINDOWS.find((w) => w.window === win)?.step ?? '1m';
  const q = new URLSearchParams({ window: win, step });
  if (filter && filter.value) q.set(filter.key, filter.value);
  return `/analytics/${dim}?${q.toString()}`;
}

/** How an item is named on screen: its name, else its id, else what `id: null` stands for. */
export function itemLabel(dim: Dimension, item: Pick<TrafficItem, 'id' | 'name'>): string {
  if (item.name) return item.name;
  if (item.id) return item.id.length > 12 ? item.id.slice(0, 8) : item.id;
  return dim === 'consumers' ? '(no consumer)' : dim === 'regions' ? '(no region)' : '(no route matched)';
}

export type Metric = 'requests' | 'error_rate' | 'p50' | 'p95' | 'p99';

export const METRICS: ReadonlyArray<{ metric: Metric; title: string }> = [
  { metric: 'requests', title: 'Requests per step' },
  { metric: 'error_rate', title: 'Error rate (5xx share)' },
  { metric: 'p50', title: 'Latency p50 (ms)' },
  { metric: 'p95', title: 'Latency p95 (ms)' },
  { metric: 'p99', title: 'Latency p99 (ms)' },
];

export function metricOf(p: SeriesPoint, m: Metric): number | null {
  if (m === 'requests') return p.requests;
  if (m === 'error_rate') return p.error_rate;
  return p.latency_ms?.[m] ?? null;
}

export interface ChartData {
  /** Unix seconds of each step, from..to. */
  starts: number[];
  lines: Array<{ label: string; values: Array<number | null> }>;
}

/**
 * One line per item (the `top` busiest), one point per step from `from` to `to`: the answer lists
 * only steps with traffic, so a step without any is 0 requests and 0 errors, and no latency.
 */
export function chartData(
  ans: TrafficAnswer,
  dim: Dimension,
  metric: Metric,
  stepSeconds: number,
  top = 5,
): ChartData {
  const starts: number[] = [];
  if (stepSeconds > 0 && ans.to > ans.from) {
    const first = ans.from - (ans.from % stepSeconds);
    for (let t = first; t < ans.to && starts.length < 1000; t += stepSeconds) starts.push(t);
  }
  const lines = ans.data.slice(0, top).map((item) => {
    const at = new Map((item.series ?? []).map((p) => [p.start - (p.start % stepSeconds || 0), p]));
    const values = starts.map((t) => {
      const p = at.get(t);
      if (p) return metricOf(p, metric);
      return metric === 'requests' || metric === 'error_rate' ? 0 : null;
    });
    return { label: itemLabel(dim, item), values };
  });
  return { starts, lines };
}

/** `10s`, `5m`, `2h`, `1d` in seconds; NaN for anything else. */
export function durationSeconds(s: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** Whether a dimension takes a filter: per-DP figures take only `data_plane` and `region`, the others all but `data_plane`. */
export function filterAllowed(dim: Dimension, key: string): boolean {
  return dim === 'data-planes' ? key === 'data_plane' || key === 'region' : key !== 'data_plane';
}
