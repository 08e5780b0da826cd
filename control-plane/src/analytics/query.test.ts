import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { formatDuration, MAX_WINDOW_MS, parseAnalyticsQuery, parseDuration } from './query.js';
import { HOURLY_MS, ROLLUP_MS } from './rollup.js';
import { DIMENSIONS } from './traffic-store.js';

const NOW = 1_800_000_004_321;

describe('analytics query parameters', () => {
  it('reads window, step and filters', () => {
    const q = parseAnalyticsQuery({ window: '5m', step: '1m', service: 'svc', region: 'eu' }, NOW, 'routes');
    expect(q.toMs).toBe(1_800_000_010_000);
    expect(q.toMs - q.fromMs).toBe(300_000);
    expect(q.stepMs).toBe(60_000);
    expect(q.filters).toEqual({ services: 'svc', regions: 'eu' });
    expect(
      parseAnalyticsQuery({}, NOW, 'services').toMs - parseAnalyticsQuery({}, NOW, 'services').fromMs,
    ).toBe(MAX_WINDOW_MS);
  });

  it.each([
    [{ window: '0m' }, 'window'],
    [{ window: '5s' }, 'window'],
    [{ window: '2h' }, 'window'],
    [{ window: '7d' }, 'window'],
    [{ window: 'abc' }, 'window'],
    [{ window: ['5m', '1h'] }, 'window'],
    [{ step: '15s' }, 'step'],
    [{ window: '5m', step: '10m' }, 'step'],
    [{ window: '1h', step: '0s' }, 'step'],
    [{ service: '' }, 'service'],
    [{ route: 'x'.repeat(300) }, 'route'],
    [{ colour: 'red' }, 'colour'],
    [{ data_plane: 'dp-1' }, 'data_plane'],
  ])('refuses %j with a 400 naming %s', (query, field) => {
    try {
      parseAnalyticsQuery(query, NOW, 'services');
      expect.unreachable();
    } catch (e) {
      expect(isGatehouseError(e) && e.status).toBe(400);
      const body = (e as { details: { body: { fields: Record<string, string>; code: number } } }).details
        .body;
      expect(body.code).toBe(2);
      expect(Object.keys(body.fields)).toEqual([field]);
    }
  });

  it('answers any hostile query with a result or a 400, never another error', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        '5m',
        '1h',
        '10s',
        '60m',
        '3600s',
        '1d',
        '7d',
        '8d',
        '2h',
        '65m',
        '61m',
        '30m',
        '99999999s',
        '-5m',
        '1e3s',
        '0x10s',
      ),
      fc
        .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('s', 'm', 'h', 'd'))
        .map(([n, u]) => `${n}${u}`),
      fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })),
    );
    const key = fc.oneof(
      fc.constantFrom('window', 'step', 'service', 'route', 'consumer', 'data_plane', 'region', '__proto__'),
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { maxKeys: 6 }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.constantFrom(...DIMENSIONS),
        fc.constantFrom(0, 2 * 3_600_000, 7 * 86_400_000),
        fc.option(fc.constantFrom(2 * 3_600_000, 30 * 3_600_000, 2 * 86_400_000, 9 * 86_400_000), {
          nil: undefined,
        }),
        (query, now, dimension, historyMs, fiveMinuteMs) => {
          try {
            const q = parseAnalyticsQuery(query, now, dimension, { historyMs, fiveMinuteMs });
            const windowMs = q.toMs - q.fromMs;
            expect(windowMs).toBeLessThanOrEqual(Math.max(MAX_WINDOW_MS, historyMs));
            expect(q.toMs % q.resolutionMs).toBe(0);
            // The tier: the ring up to an hour, 5-minute buckets up to their retention, hours beyond.
            const fiveMinuteHeld = Math.min(fiveMinuteMs ?? historyMs, historyMs);
            expect(q.resolutionMs).toBe(
              windowMs <= MAX_WINDOW_MS ? 10_000 : windowMs <= fiveMinuteHeld ? ROLLUP_MS : HOURLY_MS,
            );
            expect(windowMs % q.resolutionMs).toBe(0);
            // The window ends with the bucket of its resolution in progress.
            expect(q.toMs - q.resolutionMs).toBeLessThanOrEqual(now);
            expect(q.toMs).toBeGreaterThan(now);
            if (q.stepMs !== undefined) {
              expect(windowMs / q.stepMs).toBeLessThanOrEqual(360);
              expect(q.stepMs % q.resolutionMs).toBe(0);
            }
          } catch (e) {
            expect(isGatehouseError(e) && e.status === 400, String(e)).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('chooses the tier of any window and step from the retentions, or answers 400', () => {
    const duration = fc
      .tuple(fc.integer({ min: 1, max: 12_000 }), fc.constantFrom('s', 'm', 'h', 'd'))
      .map(([n, u]) => `${n}${u}`);
    fc.assert(
      fc.property(
        duration,
        fc.option(duration, { nil: undefined }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.constantFrom(2 * 3_600_000, 3 * 86_400_000, 7 * 86_400_000, 400 * 86_400_000),
        fc.constantFrom(2 * 3_600_000, 30 * 3_600_000, 2 * 86_400_000, 9 * 86_400_000),
        (window, step, now, historyMs, fiveMinuteMs) => {
          const query = step === undefined ? { window } : { window, step };
          try {
            const q = parseAnalyticsQuery(query, now, 'services', { historyMs, fiveMinuteMs });
            const windowMs = q.toMs - q.fromMs;
            expect(q.resolutionMs).toBe(
              windowMs <= MAX_WINDOW_MS
                ? 10_000
                : windowMs <= Math.min(fiveMinuteMs, historyMs)
                  ? ROLLUP_MS
                  : HOURLY_MS,
            );
            expect(windowMs).toBeLessThanOrEqual(Math.max(MAX_WINDOW_MS, historyMs));
            // (=== 0: a window before the epoch starts at a negative multiple, whose remainder is -0.)
            expect(q.fromMs % q.resolutionMs === 0).toBe(true);
            if (q.stepMs !== undefined) expect(q.stepMs % q.resolutionMs).toBe(0);
          } catch (e) {
            expect(isGatehouseError(e) && e.status === 400, String(e)).toBe(true);
          }
        },
      ),
      // Found by this property: a window before the epoch (now 0).
      { numRuns: 1000, examples: [['1m', undefined, 0, 7_200_000, 7_200_000]] },
    );
  });

  const WEEK = { historyMs: 7 * 86_400_000 };

  it('reads a window over an hour from the history, at 5-minute resolution', () => {
    const q = parseAnalyticsQuery({ window: '7d', step: '1d' }, NOW, 'services', WEEK);
    expect(q.resolutionMs).toBe(ROLLUP_MS);
    expect(q.toMs % ROLLUP_MS).toBe(0);
    expect(q.toMs).toBeGreaterThan(NOW);
    expect(q.toMs - ROLLUP_MS).toBeLessThanOrEqual(NOW);
    expect(q.toMs - q.fromMs).toBe(7 * 86_400_000);
    expect(q.stepMs).toBe(86_400_000);
    expect(parseAnalyticsQuery({ window: '65m' }, NOW, 'regions', WEEK).resolutionMs).toBe(ROLLUP_MS);
    expect(parseAnalyticsQuery({ window: '1h' }, NOW, 'regions', WEEK).resolutionMs).toBe(10_000);
  });

  it.each([
    [{ window: '2h' }, { historyMs: 0 }, /history is off/],
    [{ window: '8d' }, WEEK, /at most 7d \(the analytics retention\)/],
    [{ window: '61m' }, WEEK, /multiple of 5m/],
    [{ window: '2h', step: '1m' }, WEEK, /step.*multiple of 5m/],
    [{ window: '7d', step: '5m' }, WEEK, /at most 360/],
    [{ window: '7d', step: '30m' }, { ...WEEK, fiveMinuteMs: 2 * 86_400_000 }, /step.*multiple of 1h/],
    [{ window: '3030m' }, { ...WEEK, fiveMinuteMs: 2 * 86_400_000 }, /above 2d .*multiple of 1h/],
  ])('refuses %j with %j', (query, limits, message) => {
    expect(() => parseAnalyticsQuery(query, NOW, 'services', limits)).toThrow(message);
  });

  it('reads a window beyond the 5-minute retention at 1-hour resolution, ending with the current hour', () => {
    const limits = { ...WEEK, fiveMinuteMs: 2 * 86_400_000 };
    const q = parseAnalyticsQuery({ window: '7d', step: '1d' }, NOW, 'services', limits);
    expect(q.resolutionMs).toBe(HOURLY_MS);
    expect(q.fromMs % HOURLY_MS).toBe(0);
    expect(q.toMs - HOURLY_MS).toBeLessThanOrEqual(NOW);
    expect(q.toMs).toBeGreaterThan(NOW);
    expect(parseAnalyticsQuery({ window: '2d' }, NOW, 'services', limits).resolutionMs).toBe(ROLLUP_MS);
    expect(parseAnalyticsQuery({ window: '49h', step: '1h' }, NOW, 'services', limits).resolutionMs).toBe(
      HOURLY_MS,
    );
    // Without a 5-minute retention of its own, the history's applies (every window at 5 minutes).
    expect(parseAnalyticsQuery({ window: '7d' }, NOW, 'services', WEEK).resolutionMs).toBe(ROLLUP_MS);
  });

  it('formats durations', () => {
    expect([7 * 86_400_000, 36 * 3_600_000, 300_000, 10_000].map(formatDuration)).toEqual([
      '7d',
      '36h',
      '5m',
      '10s',
    ]);
  });

  it('takes per-DP figures filtered by DP or region only', () => {
    expect(parseAnalyticsQuery({ data_plane: 'dp-1', region: 'eu' }, NOW, 'data-planes').filters).toEqual({
      'data-planes': 'dp-1',
      regions: 'eu',
    });
    expect(() => parseAnalyticsQuery({ route: 'r' }, NOW, 'data-planes')).toThrow(
      /per-DP figures are totals/,
    );
  });

  it('parses durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('01m')).toBeNull();
    expect(parseDuration('1.5m')).toBeNull();
  });
});
