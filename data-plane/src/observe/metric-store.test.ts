import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { Histogram, MAX_CONSUMER_LABELS, MetricStore, SECONDS_BUCKETS } from './metric-store.js';
import { NodeSeries, kongExportOf } from '../status/node-series.js';
import { logCounters } from './log-queue.js';

const facts = {
  nodeId: 'n1',
  version: '1.0.0',
  cpConnected: () => 1,
  upstreamHealth: () => ({ up: { 'a:80': true, 'b:80': false } }),
};

describe('worker metric store', () => {
  it('puts a value in the first bucket whose bound it does not exceed (le), above all in the last', () => {
    const h = new Histogram([1, 5]);
    for (const v of [0, 1, 1.01, 5, 6]) h.observe(v);
    expect(Array.from(h.counts)).toEqual([2, 2, 1]);
    expect(h.take()).toEqual({ c: [2, 2, 1], s: 13.01 });
    expect(Array.from(h.counts)).toEqual([0, 0, 0]);
  });

  it('drains only what changed since the previous drain', () => {
    const store = new MetricStore();
    const cell = store.routeCell('s', 'r');
    expect(store.routeCell('s', 'r')).toBe(cell);
    store.touchRoute(cell);
    cell.codes.set(200, 3);
    cell.total.observe(0.002);
    cell.bytesIn += 10;
    const d = store.drain();
    expect(d.routes).toHaveLength(1);
    expect(d.routes[0]).toMatchObject({ service: 's', route: 'r', codes: [200, 3], bytesIn: 10 });
    expect(store.drain().routes).toEqual([]);
  });

  it(`keeps at most ${MAX_CONSUMER_LABELS} consumer labels, then labels ""`, () => {
    const store = new MetricStore();
    for (let i = 0; i < MAX_CONSUMER_LABELS; i++) expect(store.consumerLabel(`c${i}`)).toBe(`c${i}`);
    expect(store.consumerLabel('one-more')).toBe('');
    expect(store.consumerLabel('c0')).toBe('c0');
  });
});

describe('node series (the primary)', () => {
  it('sums the requests each worker shed into gatehouse_dp_requests_shed_total by reason, counting each once', async () => {
    const series = new NodeSeries(facts);
    const registry = new Registry();
    series.register(registry);
    for (const [worker, lag, cap, queued] of [
      [1, 3, 0, 5],
      [2, 4, 2, 0],
    ] as const) {
      const store = new MetricStore();
      const guard = { shedBy: { event_loop_delay: 0, concurrency: 0, queue_time: 0 } };
      store.overload = guard;
      expect(store.drain().shed).toBeUndefined();
      guard.shedBy = { event_loop_delay: lag, concurrency: cap, queue_time: queued };
      series.add(worker, store.drain());
      expect(store.drain().shed).toBeUndefined();
    }
    const text = await registry.metrics();
    expect(text).toMatch(/^gatehouse_dp_requests_shed_total\{reason="event_loop_delay"\} 7$/m);
    expect(text).toMatch(/^gatehouse_dp_requests_shed_total\{reason="concurrency"\} 2$/m);
    expect(text).toMatch(/^gatehouse_dp_requests_shed_total\{reason="queue_time"\} 5$/m);
  });

  it('sums the deltas of several workers into one series per label set, with cumulative buckets', async () => {
    const series = new NodeSeries(facts);
    const registry = new Registry();
    series.register(registry);
    for (const worker of [1, 2]) {
      const store = new MetricStore();
      const cell = store.routeCell('svc', 'r');
      store.touchRoute(cell);
      cell.codes.set(200, worker);
      cell.total.observe(0.001 * worker);
      series.add(worker, store.drain());
    }
    const text = await registry.metrics();
    expect(text).toMatch(
      /^gatehouse_http_requests_total\{service="svc",route="r",code="200",class="2xx"\} 3$/m,
    );
    expect(text).toMatch(
      /^gatehouse_request_duration_seconds_bucket\{service="svc",route="r",le="0.001"\} 1$/m,
    );
    expect(text).toMatch(
      /^gatehouse_request_duration_seconds_bucket\{service="svc",route="r",le="0.0025"\} 2$/m,
    );
    expect(text).toMatch(
      /^gatehouse_request_duration_seconds_bucket\{service="svc",route="r",le="\+Inf"\} 2$/m,
    );
    expect(text).toMatch(/^gatehouse_request_duration_seconds_count\{service="svc",route="r"\} 2$/m);
    expect(text).toMatch(/^gatehouse_upstream_target_health\{upstream="up",target="b:80"\} 0$/m);
    expect(text).not.toMatch(/^kong_/m);
  });

  it("sums the workers' log counters (deltas of allLogCounters) and open connections per listener", async () => {
    const series = new NodeSeries(facts);
    const registry = new Registry();
    series.register(registry);
    const log = `test-log-${process.pid}`;
    const c = logCounters(log);
    // One process's counters are running totals; each drain sends what changed since the last.
    const store = new MetricStore();
    for (const worker of [1, 2]) {
      c.sent += 5;
      c.dropped += worker;
      c.retried += 1;
      store.connections.http = 2;
      store.connections.https = worker;
      const d = store.drain();
      const at = d.logs.indexOf(log);
      expect(d.logs.slice(at, at + 4)).toEqual([log, 5, worker, 1]);
      // A second drain with nothing new sends nothing for this log.
      expect(store.drain().logs).not.toContain(log);
      series.add(worker, d);
    }
    const text = await registry.metrics();
    expect(text).toMatch(new RegExp(`^gatehouse_log_entries_total\\{log="${log}",result="sent"\\} 10$`, 'm'));
    expect(text).toMatch(
      new RegExp(`^gatehouse_log_entries_total\\{log="${log}",result="dropped"\\} 3$`, 'm'),
    );
    expect(text).toMatch(new RegExp(`^gatehouse_log_retries_total\\{log="${log}"\\} 2$`, 'm'));
    expect(text).toMatch(/^gatehouse_dp_open_connections\{listener="http"\} 4$/m);
    expect(text).toMatch(/^gatehouse_dp_open_connections\{listener="https"\} 3$/m);
  });

  it('escapes hostile label values (route and consumer names) so every line stays one sample', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (route, consumer) => {
        const series = new NodeSeries(facts);
        series.setKongExport({ enabled: true, upstreamHealth: false });
        const registry = new Registry();
        series.register(registry);
        const store = new MetricStore();
        const cell = store.kongCell('svc', route);
        store.touchKong(cell);
        cell.requests.set(consumer, new Map([[401, 1]]));
        series.add(1, store.drain());
        const lines = (await registry.metrics())
          .split('\n')
          .filter((l) => l.startsWith('kong_http_requests_total{'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/ 1$/);
      }),
      { numRuns: 50 },
    );
  });

  it("exports Kong's upstream health only when a prometheus plugin asks for it", async () => {
    const series = new NodeSeries(facts);
    const registry = new Registry();
    series.register(registry);
    series.setKongExport(
      kongExportOf([{ name: 'prometheus', enabled: true, config: { upstream_health_metrics: true } }]),
    );
    const text = await registry.metrics();
    expect(text).toMatch(
      /^kong_upstream_target_health\{upstream="up",target="b:80",address="b:80",state="unhealthy",subsystem="http"\} 1$/m,
    );
    expect(text).toMatch(
      /^kong_upstream_target_health\{upstream="up",target="b:80",address="b:80",state="healthy",subsystem="http"\} 0$/m,
    );
    series.setKongExport(
      kongExportOf([{ name: 'prometheus', enabled: false, config: { upstream_health_metrics: true } }]),
    );
    expect(await registry.metrics()).not.toMatch(/^kong_upstream_target_health/m);
  });

  it('uses the seconds buckets it documents', () => {
    expect(SECONDS_BUCKETS[0]).toBe(0.001);
    expect(SECONDS_BUCKETS.at(-1)).toBe(60);
  });
});
