import { describe, expect, it } from 'vitest';
import { trafficRecord as record } from './test-fixtures.js';
import { RESOLUTION_MS, RING_BUCKETS, TrafficStore } from './traffic-store.js';

const T0 = 1_800_000_000_000; // a bucket boundary

describe('TrafficStore', () => {
  it('merges the same combination from several DPs and periods, grouped per dimension', () => {
    let now = T0 + 30_000;
    const store = new TrafficStore(1000, () => now);
    store.add(T0, [record({ nodeId: 'a', region: 'eu', latencies: [1, 2, 3], errors5xx: 1 })]);
    store.add(T0, [record({ nodeId: 'b', region: 'us', latencies: [100, 200], errors4xx: 2 })]);
    store.add(T0 + RESOLUTION_MS, [record({ nodeId: 'a', region: 'eu', latencies: [4] })]);
    now += 1;
    const q = { fromMs: T0, toMs: T0 + 60_000 };
    const services = store.query({ dimension: 'services', ...q });
    expect(services).toEqual([
      {
        id: 's1',
        name: 'svc',
        requests: 6,
        errors_4xx: 2,
        errors_5xx: 1,
        error_rate: 0.166667,
        latency_ms: expect.any(Object),
      },
    ]);
    const regions = store.query({ dimension: 'regions', ...q });
    expect(regions.map((g) => [g.id, g.requests])).toEqual([
      ['eu', 4],
      ['us', 2],
    ]);
    // Rank q·(n−1) of [100, 200]: the lower sample, within 1 %.
    expect(Math.abs(regions[1]!.latency_ms.p99! - 100)).toBeLessThanOrEqual(1);
    const filtered = store.query({ dimension: 'data-planes', ...q, filters: { regions: 'us' } });
    expect(filtered.map((g) => g.id)).toEqual(['b']);
    const byName = store.query({ dimension: 'routes', ...q, filters: { services: 'svc' } });
    expect(byName).toHaveLength(1);
    expect(store.query({ dimension: 'routes', ...q, filters: { services: 'other' } })).toEqual([]);
  });

  it('names consumers by username and filters by it as by id', () => {
    const now = T0 + 30_000;
    const store = new TrafficStore(1000, () => now);
    store.add(T0, [
      record({ consumerId: 'c1', consumerName: 'alice', latencies: [1, 2] }),
      record({ consumerId: 'c2', consumerName: 'bob', latencies: [3] }),
    ]);
    const q = { fromMs: T0, toMs: T0 + 60_000 };
    expect(store.query({ dimension: 'consumers', ...q }).map((g) => [g.id, g.name, g.requests])).toEqual([
      ['c1', 'alice', 2],
      ['c2', 'bob', 1],
    ]);
    const byName = store.query({ dimension: 'services', ...q, filters: { consumers: 'bob' } });
    expect(byName.map((g) => g.requests)).toEqual([1]);
    const byId = store.query({ dimension: 'services', ...q, filters: { consumers: 'c1' } });
    expect(byId.map((g) => g.requests)).toEqual([2]);
  });

  it("gives each data plane's latency over a window as one merged sketch, compacted buckets included", () => {
    let now = T0 + 30_000;
    const store = new TrafficStore(1000, () => now);
    store.add(T0, [record({ nodeId: 'a', latencies: [1, 2, 3] })]);
    store.add(T0 + RESOLUTION_MS, [
      record({ nodeId: 'a', latencies: [4] }),
      record({ nodeId: 'b', latencies: [500] }),
    ]);
    store.add(T0 + 2 * RESOLUTION_MS, [record({ nodeId: 'b', latencies: [700] })]);
    now = T0 + 20 * 60_000; // the first buckets are compacted by now
    store.add(T0 + 20 * 60_000 - RESOLUTION_MS, [record({ nodeId: 'c', latencies: [9] })]);
    const all = store.latencyByDataPlane(T0, T0 + 3 * RESOLUTION_MS);
    expect([...all.keys()].sort()).toEqual(['a', 'b']);
    expect(all.get('a')!.count).toBe(4);
    expect(all.get('b')!.count).toBe(2);
    const later = store.latencyByDataPlane(T0 + RESOLUTION_MS, T0 + 2 * RESOLUTION_MS);
    expect(later.get('a')!.count).toBe(1);
    expect(Math.abs(later.get('b')!.getValueAtQuantile(0.99) - 500)).toBeLessThanOrEqual(5);
  });

  it('gives a series per step whose points add up to the totals', () => {
    const store = new TrafficStore(1000, () => T0 + 120_000);
    for (let i = 0; i < 12; i++) store.add(T0 + i * RESOLUTION_MS, [record({ latencies: [i + 1] })]);
    const [g] = store.query({ dimension: 'services', fromMs: T0, toMs: T0 + 120_000, stepMs: 60_000 });
    expect(g!.series!.map((p) => [p.start, p.requests])).toEqual([
      [T0 / 1000, 6],
      [T0 / 1000 + 60, 6],
    ]);
  });

  it('holds an hour: older periods are refused and counted, and a reused bucket starts empty', () => {
    let now = T0;
    const store = new TrafficStore(1000, () => now);
    store.add(T0, [record({})]);
    now = T0 + RING_BUCKETS * RESOLUTION_MS; // an hour later: T0's bucket is out of the ring
    expect(store.add(T0, [record({})])).toBe(false);
    expect(store.droppedRecords).toBe(1);
    // The same slot, an hour on: the old bucket does not leak into the new one.
    store.add(now, [record({})]);
    const all = store.query({ dimension: 'services', fromMs: 0, toMs: now + RESOLUTION_MS });
    expect(all[0]!.requests).toBe(1);
    expect(store.size()).toBe(2); // one per region and entity, one per DP
  });

  it('holds at most maxKeysPerBucket combinations per bucket, counting the rest as dropped', () => {
    const store = new TrafficStore(3, () => T0);
    store.add(
      T0,
      Array.from({ length: 5 }, (_, i) => record({ consumerId: `c${i}` })),
    );
    expect(store.size()).toBe(3 + 1); // three entities, one DP
    expect(store.droppedRecords).toBe(2);
    // A combination already held still adds up.
    store.add(T0, [record({ consumerId: 'c0' })]);
    expect(store.size()).toBe(4);
    expect(store.droppedRecords).toBe(2);
  });

  it('compacts closed buckets without changing any answer, and still merges a late summary into one', () => {
    let now = T0 + 5000;
    const compacting = new TrafficStore(1000, () => now);
    const fresh = new TrafficStore(1000, () => T0 + 5000);
    const early = record({ latencies: [1, 2, 3, 50] });
    const late = record({ latencies: [7, 700] });
    compacting.add(T0, [early]);
    fresh.add(T0, [record({ latencies: [1, 2, 3, 50] })]);
    now = T0 + 120_000;
    compacting.add(now, [record({ routeId: 'r2', latencies: [5] })]); // compacts T0's bucket
    compacting.add(T0, [late]); // a late summary for the compacted bucket
    fresh.add(T0, [record({ latencies: [7, 700] })]);
    const q = { dimension: 'services' as const, fromMs: T0, toMs: T0 + RESOLUTION_MS };
    expect(compacting.query(q)).toEqual(fresh.query(q));
    expect(compacting.query({ ...q, dimension: 'data-planes' })).toEqual(
      fresh.query({ ...q, dimension: 'data-planes' }),
    );
  });
});
