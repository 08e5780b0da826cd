import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chartData, durationSeconds, itemLabel, trafficPath, WINDOWS, type TrafficAnswer } from './traffic';

describe('traffic queries and charts', () => {
  it('asks the analytics API for the dimension with the window and its step', () => {
    expect(trafficPath('services', '15m')).toBe('/analytics/services?window=15m&step=30s');
    expect(trafficPath('routes', '1h', { key: 'region', value: 'eu west' })).toBe(
      '/analytics/routes?window=1h&step=1m&region=eu+west',
    );
  });

  it('offers windows whose step divides them into at most 60 points', () => {
    for (const w of WINDOWS) {
      const n = durationSeconds(w.window) / durationSeconds(w.step);
      expect(Number.isInteger(n) && n <= 60).toBe(true);
    }
  });

  it('names unmatched traffic by what it lacks', () => {
    expect(itemLabel('routes', { id: null, name: null })).toBe('(no route matched)');
    expect(itemLabel('consumers', { id: null, name: null })).toBe('(no consumer)');
    expect(itemLabel('services', { id: 'x', name: 'orders' })).toBe('orders');
  });

  it('fills steps without traffic with zero requests and no latency', () => {
    const ans: TrafficAnswer = {
      data: [
        {
          id: 's1',
          name: 'orders',
          requests: 3,
          errors_4xx: 0,
          errors_5xx: 1,
          error_rate: 1 / 3,
          latency_ms: { p50: 1, p95: 2, p99: 3 },
          series: [
            {
              start: 1020,
              requests: 3,
              errors_4xx: 0,
              errors_5xx: 1,
              error_rate: 1 / 3,
              latency_ms: { p50: 1, p95: 2, p99: 3 },
            },
          ],
        },
      ],
      window: '1m',
      step: '10s',
      from: 1000,
      to: 1060,
      resolution: 10,
    };
    const req = chartData(ans, 'services', 'requests', 10);
    expect(req.starts).toEqual([1000, 1010, 1020, 1030, 1040, 1050]);
    expect(req.lines[0]!.values).toEqual([0, 0, 3, 0, 0, 0]);
    expect(chartData(ans, 'services', 'p99', 10).lines[0]!.values).toEqual([null, null, 3, null, null, null]);
  });

  it('makes one value per step for every item whatever the answer holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 3600 }),
        fc.constantFrom(10, 30, 60),
        fc.array(fc.array(fc.integer({ min: 0, max: 1_100_000 }), { maxLength: 10 }), { maxLength: 8 }),
        (from, span, step, seriesStarts) => {
          const ans: TrafficAnswer = {
            data: seriesStarts.map((starts, i) => ({
              id: `i${i}`,
              name: null,
              requests: 1,
              errors_4xx: 0,
              errors_5xx: 0,
              error_rate: 0,
              latency_ms: null,
              series: starts.map((start) => ({
                start,
                requests: 1,
                errors_4xx: 0,
                errors_5xx: 0,
                error_rate: 0,
                latency_ms: null,
              })),
            })),
            window: '1h',
            from,
            to: from + span,
            resolution: 10,
          };
          const c = chartData(ans, 'routes', 'requests', step);
          expect(c.lines.length).toBe(Math.min(5, seriesStarts.length));
          for (const l of c.lines) expect(l.values.length).toBe(c.starts.length);
        },
      ),
    );
  });
});

describe('traffic filters', () => {
  it('keeps a data-plane filter only on the per-DP dimension', async () => {
    const { filterAllowed } = await import('./traffic');
    expect(filterAllowed('data-planes', 'data_plane')).toBe(true);
    expect(filterAllowed('data-planes', 'service')).toBe(false);
    expect(filterAllowed('services', 'data_plane')).toBe(false);
    expect(filterAllowed('routes', 'region')).toBe(true);
  });
});
