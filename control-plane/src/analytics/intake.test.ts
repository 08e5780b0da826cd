import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LatencySketchSchema,
  TrafficEntrySchema,
  TrafficSummarySchema,
  type TrafficSummary,
} from '@gatehouse/proto';
import { createLogger, encodeSketch, newSketch, recordLatency } from '@gatehouse/shared';
import { Analytics } from './index.js';
import { checkSummary, SummaryRefused } from './intake.js';
import { TrafficStore } from './traffic-store.js';

const NOW = Date.now();
const who = { nodeId: 'dp-1', region: 'eu' };

function summary(latencies: number[], o: { errors5xx?: number } = {}): TrafficSummary {
  const s = newSketch();
  for (const v of latencies) recordLatency(s, v);
  return create(TrafficSummarySchema, {
    periodStartUnixMs: BigInt(NOW - 5000),
    periodMs: 10_000,
    entries: [
      create(TrafficEntrySchema, {
        serviceId: 's1',
        routeId: 'r1',
        requests: BigInt(latencies.length),
        errors5xx: BigInt(o.errors5xx ?? 0),
        latency: create(LatencySketchSchema, encodeSketch(s)),
      }),
    ],
  });
}

describe('traffic summary intake', () => {
  it('takes a well-formed summary, attributed to the stream’s node and region', () => {
    const checked = checkSummary(summary([1, 2, 3], { errors5xx: 1 }), who, NOW);
    expect(checked.records).toHaveLength(1);
    expect(checked.records[0]).toMatchObject({ nodeId: 'dp-1', region: 'eu', requests: 3, errors5xx: 1 });
  });

  it.each([
    ['more errors than requests', summary([1], { errors5xx: 2 })],
    [
      'a sketch that does not count every request',
      { ...summary([1, 2]), entries: [{ ...summary([1, 2]).entries[0]!, requests: 5n }] },
    ],
    ['a period in the future', { ...summary([1]), periodStartUnixMs: BigInt(NOW + 3_600_000) }],
    ['no sketch', { ...summary([1]), entries: [{ ...summary([1]).entries[0]!, latency: undefined }] }],
    [
      'an over-long id',
      { ...summary([1]), entries: [{ ...summary([1]).entries[0]!, routeId: 'r'.repeat(300) }] },
    ],
  ])('refuses %s whole', (_what, s) => {
    expect(() => checkSummary(s, who, NOW)).toThrow(SummaryRefused);
  });

  it('drops and counts malformed messages (random bytes, hostile fields), never throws', () => {
    const store = new TrafficStore();
    const analytics = new Analytics({ logger: createLogger('test', { level: 'silent' }), store });
    const good = toBinary(TrafficSummarySchema, summary([1, 5, 9]));
    const mutated = fc
      .tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat(8))
      .map(([at, byte, cut]) => {
        const b = good.slice(0, good.length - cut);
        if (at < b.length) b[at] = byte;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 })), (bytes) => {
        let s: TrafficSummary;
        try {
          s = fromBinary(TrafficSummarySchema, bytes);
        } catch {
          return; // not protobuf at all: the NATS subscriber counts these
        }
        const before = analytics.stats();
        analytics.ingest(s, who);
        const after = analytics.stats();
        expect(after.summaries + after.refused).toBe(before.summaries + before.refused + 1);
      }),
      { numRuns: 1000 },
    );
    expect(analytics.stats().refused).toBeGreaterThan(0);
    // What was taken is queryable; nothing taken broke the store.
    store.query({ dimension: 'services', fromMs: 0, toMs: NOW + 60_000 });
  });
});
