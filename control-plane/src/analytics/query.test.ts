import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { MAX_WINDOW_MS, parseAnalyticsQuery, parseDuration } from './query.js';
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
      fc.constantFrom('5m', '1h', '10s', '60m', '3600s', '1d', '99999999s', '-5m', '1e3s', '0x10s'),
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
        (query, now, dimension) => {
          try {
            const q = parseAnalyticsQuery(query, now, dimension);
            expect(q.toMs - q.fromMs).toBeLessThanOrEqual(MAX_WINDOW_MS);
            if (q.stepMs !== undefined) expect((q.toMs - q.fromMs) / q.stepMs).toBeLessThanOrEqual(360);
          } catch (e) {
            expect(isGatehouseError(e) && e.status === 400, String(e)).toBe(true);
          }
        },
      ),
      { numRuns: 1000 },
    );
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
