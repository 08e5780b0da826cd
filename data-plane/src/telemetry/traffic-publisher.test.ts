import { describe, expect, it } from 'vitest';
import type { TrafficSummary } from '@gatehouse/proto';
import {
  createLogger,
  decodeSketch,
  encodeSketch,
  newSketch,
  recordLatency,
  sketchQuantiles,
} from '@gatehouse/shared';
import type { TrafficEntryData, TrafficMessage } from './protocol.js';
import { TrafficAggregator } from './traffic-aggregator.js';
import { TrafficPublisher, type TrafficTransport } from './traffic-publisher.js';

const logger = createLogger('test', { level: 'silent' });

function message(entries: Partial<TrafficEntryData>[], latencies: number[][]): TrafficMessage {
  return {
    t: 'traffic',
    droppedEntries: 0,
    rssBytes: 1000,
    heapUsedBytes: 500,
    entries: entries.map((e, i) => {
      const s = newSketch();
      for (const v of latencies[i]!) recordLatency(s, v);
      return {
        serviceId: 's1',
        serviceName: 'svc',
        routeId: 'r1',
        routeName: 'route',
        consumerId: '',
        consumerName: '',
        requests: latencies[i]!.length,
        errors4xx: 0,
        errors5xx: 0,
        ...e,
        latency: encodeSketch(s),
      };
    }),
  };
}

describe('TrafficAggregator (the primary)', () => {
  it('merges the workers’ counts and sketches into one summary per period', () => {
    const agg = new TrafficAggregator(logger);
    agg.add(1, message([{ errors5xx: 1 }, { consumerId: 'c1' }], [[1, 2, 3], [50]]));
    agg.add(2, message([{ errors4xx: 2 }], [[4, 5, 6, 7]]));
    expect(agg.workersMemory()).toEqual({ rssBytes: 2000, heapUsedBytes: 1000 });
    const s = agg.take({ nodeId: 'n', region: 'eu', periodStartMs: 10_000, periodMs: 10_000 })!;
    expect(s.entries).toHaveLength(2);
    const main = s.entries.find((e) => e.consumerId === '')!;
    expect([main.requests, main.errors4xx, main.errors5xx]).toEqual([7n, 2n, 1n]);
    const sketch = decodeSketch(main.latency!);
    expect(sketch.count).toBe(7);
    expect(sketchQuantiles(sketch).p50).toBeCloseTo(4, 1);
    // A fresh period after take().
    expect(agg.take({ nodeId: 'n', region: 'eu', periodStartMs: 20_000, periodMs: 10_000 })).toBeNull();
    agg.forgetWorker(1);
    expect(agg.workersMemory().rssBytes).toBe(1000);
  });

  it("carries the consumer's name into the summary (consumer_username), the latest a worker gave", () => {
    const agg = new TrafficAggregator(logger);
    agg.add(1, message([{ consumerId: 'c1', consumerName: 'alice' }], [[1]]));
    agg.add(2, message([{ consumerId: 'c1', consumerName: 'alice-renamed' }], [[2]]));
    const s = agg.take({ nodeId: 'n', region: 'eu', periodStartMs: 10_000, periodMs: 10_000 })!;
    expect(s.entries.map((e) => [e.consumerId, e.consumerUsername, e.requests])).toEqual([
      ['c1', 'alice-renamed', 2n],
    ]);
  });

  it('leaves out a malformed worker entry, keeps the others', () => {
    const agg = new TrafficAggregator(logger);
    const m = message([{}, {}], [[1], [2]]);
    m.entries[0]!.latency.counts = [-1];
    agg.add(1, m);
    const s = agg.take({ nodeId: 'n', region: '', periodStartMs: 0, periodMs: 10_000 })!;
    expect(s.entries.map((e) => e.requests)).toEqual([1n]);
  });

  it('holds at most maxEntries combinations; requests beyond are counted as dropped', () => {
    const agg = new TrafficAggregator(logger, 2);
    agg.add(1, message([{ consumerId: 'a' }, { consumerId: 'b' }, { consumerId: 'c' }], [[1], [1], [1, 1]]));
    const s = agg.take({ nodeId: 'n', region: '', periodStartMs: 0, periodMs: 10_000 })!;
    expect(s.entries).toHaveLength(2);
    expect(s.droppedEntries).toBe(2n);
  });
});

describe('TrafficPublisher', () => {
  function setup(bound: number) {
    const agg = new TrafficAggregator(logger);
    const delivered: TrafficSummary[] = [];
    let up = false;
    const transport: TrafficTransport = { name: 'test', send: (s) => up && (delivered.push(s), true) };
    const pub = new TrafficPublisher({
      aggregator: agg,
      transport,
      nodeId: 'n',
      region: 'eu',
      logger,
      periodMs: 10_000,
      bufferSummaries: bound,
    });
    return { agg, pub, delivered, setUp: (v: boolean) => (up = v) };
  }

  it('buffers within the bound while the transport is down, drops the oldest and counts it, sends the rest when back', () => {
    const { agg, pub, delivered, setUp } = setup(3);
    for (let i = 0; i < 5; i++) {
      agg.add(1, message([{}], [[i + 1]]));
      pub.tick(1_000_000 + i * 10_000);
    }
    expect(pub.buffered).toBe(3);
    expect(pub.dropped).toBe(2);
    expect(delivered).toHaveLength(0);
    setUp(true);
    pub.tick(2_000_000); // nothing new this period: only the buffered ones go
    expect(delivered).toHaveLength(3);
    expect(pub.buffered).toBe(0);
    // The oldest two went; the receiver learns how many were dropped.
    expect(delivered.map((s) => decodeSketch(s.entries[0]!.latency!).max)).toEqual([3, 4, 5]);
    expect(delivered.every((s) => s.droppedSummaries === 2n)).toBe(true);
  });

  it('labels each summary with the period it covers, aligned to the period length', () => {
    const { agg, pub, delivered, setUp } = setup(3);
    setUp(true);
    pub.tick(1_000_005_000); // closes whatever period was open at construction
    agg.add(1, message([{}], [[1]]));
    pub.tick(1_000_010_000);
    const last = delivered.at(-1)!;
    expect(last.periodStartUnixMs).toBe(1_000_000_000n);
    expect(last.periodMs).toBe(10_000);
    expect([last.nodeId, last.region]).toEqual(['n', 'eu']);
  });
});
