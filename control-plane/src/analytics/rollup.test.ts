import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { LatencySketchSchema } from '@gatehouse/proto';
import { decodeSketch } from '@gatehouse/shared';
import { trafficRecord as record } from './test-fixtures.js';
import { MAX_UNWRITTEN_MS, ROLLUP_GRACE_MS, ROLLUP_LATE_MS, ROLLUP_MS, RollupBuffer } from './rollup.js';

const T0 = 1_800_000_000_000; // a 5-minute boundary

describe('RollupBuffer', () => {
  it('merges a bucket per source into entity and DP rows, due once the bucket has ended', () => {
    let now = T0;
    const r = new RollupBuffer(() => now);
    for (let p = 0; p < 30; p++) {
      r.add('nats', T0 + p * 10_000, [record({ nodeId: 'a', latencies: [1, 2] })]);
      r.add('nats', T0 + p * 10_000, [record({ nodeId: 'b', latencies: [3] })]);
      r.add('stream:cp/1', T0 + p * 10_000, [record({ nodeId: 'c', latencies: [4] })]);
    }
    now = T0 + ROLLUP_MS + ROLLUP_GRACE_MS - 1;
    expect(r.due()).toEqual([]);
    expect(r.persistedThrough()).toBe(T0);
    now += 1;
    const [due] = r.due();
    expect(due!.start).toBe(T0);
    const rows = due!.rows.map((x) => [x.source, x.nodeId, x.serviceId, x.requests, x.summaries]);
    expect(rows.sort()).toEqual(
      [
        ['nats', '', 's1', 90, 60],
        ['nats', 'a', '', 60, 30],
        ['nats', 'b', '', 30, 30],
        ['stream:cp/1', '', 's1', 30, 30],
        ['stream:cp/1', 'c', '', 30, 30],
      ].sort(),
    );
    const sketch = decodeSketch(
      fromBinary(LatencySketchSchema, due!.rows.find((x) => x.nodeId === 'a')!.latency),
    );
    expect(sketch.count).toBe(60);
    r.written(due!);
    expect(r.due()).toEqual([]);
    expect(r.persistedThrough()).toBe(T0 + ROLLUP_MS);
  });

  it('hands a written bucket out again when late summaries come, until it is final', () => {
    let now = T0 + ROLLUP_MS + ROLLUP_GRACE_MS;
    const r = new RollupBuffer(() => now);
    r.add('nats', T0, [record()]);
    r.written(r.due()[0]!);
    r.add('nats', T0 + 290_000, [record()]); // late, within ROLLUP_LATE_MS
    const [again] = r.due();
    expect(again!.rows.find((x) => x.nodeId === '')!.summaries).toBe(2);
    // A summary arriving during the write of `again` makes the bucket due once more.
    r.add('nats', T0 + 10_000, [record()]);
    r.written(again!);
    expect(r.due()).toHaveLength(1);
    r.written(r.due()[0]!);
    now = T0 + ROLLUP_MS + ROLLUP_LATE_MS;
    r.add('nats', T0, [record(), record()]);
    expect(r.late).toBe(2);
    r.written({ start: T0, version: 0, rows: [] });
    expect(r.size()).toBe(0);
  });

  it('compacts a written bucket without changing the rows it hands out again', () => {
    const r = new RollupBuffer(() => T0 + ROLLUP_MS + ROLLUP_GRACE_MS);
    r.add('nats', T0, [
      record({ nodeId: 'a', latencies: [1, 5, 300] }),
      record({ nodeId: 'b', latencies: [0, 7] }),
    ]);
    const first = r.due()[0]!;
    r.written(first); // compacted now
    r.add('nats', T0 + 10_000, [record({ nodeId: 'a', latencies: [2] })]);
    const again = r.due()[0]!;
    const row = (d: typeof first, node: string) => d.rows.find((x) => x.nodeId === node)!;
    expect(row(again, 'b').latency).toEqual(row(first, 'b').latency); // from the compact sketch
    const a = decodeSketch(fromBinary(LatencySketchSchema, row(again, 'a').latency));
    expect([a.count, a.min, a.max]).toEqual([4, 1, 300]);
    expect(decodeSketch(fromBinary(LatencySketchSchema, row(again, '').latency)).count).toBe(6);
  });

  it('hands out every bucket, the current one too, when asked for all (shutdown)', () => {
    const r = new RollupBuffer(() => T0 + 1000);
    r.add('nats', T0, [record()]);
    expect(r.due()).toEqual([]);
    expect(r.due(true).map((d) => d.start)).toEqual([T0]);
  });

  it('lets go of a bucket that could not be written for an hour, counting its rows as dropped', () => {
    let now = T0;
    const r = new RollupBuffer(() => now);
    r.add('nats', T0, [record()]);
    now = T0 + ROLLUP_MS + MAX_UNWRITTEN_MS;
    expect(r.due()).toEqual([]);
    expect(r.dropped).toBe(2);
    expect(r.size()).toBe(0);
  });

  it('holds at most 2 × maxKeysPerBucket combinations per bucket (entities and DPs)', () => {
    const r = new RollupBuffer(() => T0, 2);
    r.add(
      'nats',
      T0,
      Array.from({ length: 4 }, (_, i) => record({ consumerId: `c${i}` })),
    );
    expect(r.dropped).toBe(1); // 4 entities + 1 DP row, 4 fit
    expect(r.due(true)[0]!.rows).toHaveLength(4);
  });
});
