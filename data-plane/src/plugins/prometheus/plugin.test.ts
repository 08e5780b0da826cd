import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { schema } from '@gatehouse/shared';
import { MetricStore } from '../../observe/metric-store.js';
import type { ProxyRequest } from '../../proxy/request.js';
import { initialise, pluginRequest, snapshotOf, upstreamResponse } from '../runtime/test-support.js';
import plugin, { recordKong } from './plugin.js';

const snapshot = snapshotOf({});
const ALL = { status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true };

/** A finished request of the test route: 12 ms in total, 10 of them upstream, 100 bytes in, 300 out. */
function finished(
  status: number,
  opts: { upstream?: boolean; consumer?: { username: string | null; custom_id: string | null } } = {},
) {
  const ctx = pluginRequest(snapshot);
  const t = ctx.proxied as { -readonly [K in keyof ProxyRequest]: ProxyRequest[K] };
  t.startedAt = 1000;
  if (opts.upstream !== false) {
    t.upstreamStartedAt = 1001;
    t.upstreamHeadersAt = 1011;
  }
  t.endedAt = 1012;
  t.bytesIn = 100;
  t.bytesOut = 300;
  upstreamResponse(ctx, status);
  if (opts.consumer)
    ctx.authenticate({ id: 'c1', ...opts.consumer, tags: null, created_at: 0, updated_at: 0 }, null);
  return ctx;
}

describe('prometheus plugin', () => {
  it("has Kong's defaults (every metric off) and priority 13", () => {
    expect(plugin.priority).toBe(13);
    expect(schema.validate(plugin.schema, {}).value).toEqual({
      per_consumer: false,
      status_code_metrics: false,
      latency_metrics: false,
      bandwidth_metrics: false,
      upstream_health_metrics: false,
    });
  });

  it('refuses non-boolean flags and unknown fields with a field error, never a throw', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(
            fc.string(),
            fc.constantFrom('per_consumer', 'latency_metrics', '__proto__', 'constructor'),
          ),
          fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.object()),
        ),
        (config) => {
          const r = schema.check(plugin.schema, config);
          for (const [k, v] of Object.entries(config)) {
            if (typeof v !== 'boolean' && v !== null && r.errors === null)
              throw new Error(`accepted ${k}=${JSON.stringify(v)}`);
          }
        },
      ),
    );
  });

  it('records status (source service), latencies and bandwidth when they are on', () => {
    const store = new MetricStore();
    const state = initialise(plugin, snapshot, ALL);
    recordKong(finished(200), state, store);
    recordKong(finished(200), state, store);
    const [cell] = store.drain().kong;
    expect(cell).toMatchObject({
      service: '',
      route: 'r',
      requests: [200, 1, '', 2],
      bandwidth: ['', 200, 600],
    });
    // 12 ms total (le 25 of Kong's upstream buckets), 10 ms upstream, 1 ms before going upstream.
    expect(cell!.request!.c[0]).toBe(2);
    expect(cell!.request!.s).toBe(24);
    expect(cell!.upstream!.s).toBe(20);
    expect(cell!.kong!.c[0]).toBe(2);
    expect(cell!.kong!.s).toBe(2);
  });

  it('says source kong when the gateway answered (no upstream)', () => {
    const store = new MetricStore();
    recordKong(finished(429, { upstream: false }), initialise(plugin, snapshot, ALL), store);
    const [cell] = store.drain().kong;
    expect(cell!.requests).toEqual([429, 0, '', 1]);
    expect(cell!.upstream).toBeNull();
    expect(cell!.kong!.s).toBe(12);
  });

  it('records nothing with every metric off', () => {
    const store = new MetricStore();
    recordKong(finished(200), initialise(plugin, snapshot, {}), store);
    expect(store.drain().kong).toEqual([]);
  });

  it('labels the consumer with per_consumer: its username, else its custom_id (Kong 3.12)', () => {
    const store = new MetricStore();
    const state = initialise(plugin, snapshot, { ...ALL, per_consumer: true });
    recordKong(finished(200, { consumer: { username: 'alice', custom_id: null } }), state, store);
    recordKong(finished(200, { consumer: { username: null, custom_id: 'c-7' } }), state, store);
    recordKong(finished(200), state, store);
    expect(store.drain().kong[0]!.requests).toEqual([200, 1, 'alice', 1, 200, 1, 'c-7', 1, 200, 1, '', 1]);
  });
});
