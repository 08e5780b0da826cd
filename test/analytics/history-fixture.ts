/**
 * Fixtures of the analytics history's integration tests: two DPs' deterministic traffic
 * summaries (one service, a route each), the truth they add up to, an injected clock, and a
 * replica's Analytics fed and queried as the CP does.
 */
import { create } from '@bufbuild/protobuf';
import { expect } from 'vitest';
import {
  LatencySketchSchema,
  TrafficEntrySchema,
  TrafficSummarySchema,
  type TrafficSummary,
} from '@gatehouse/proto';
import { encodeSketch, newSketch, recordLatency, type Logger } from '@gatehouse/shared';
import { Analytics } from '../../control-plane/src/analytics/index.js';
import type { AnalyticsHistoryOptions, SummaryVia } from '../../control-plane/src/analytics/history.js';
import { parseAnalyticsQuery } from '../../control-plane/src/analytics/query.js';
import type { Dimension, TrafficGroup } from '../../control-plane/src/analytics/traffic-store.js';
import type { Database } from '../../control-plane/src/db/index.js';
import { quietLogger } from '../helpers/db.js';

export const logger: Logger = quietLogger();
export const PERIOD_MS = 10_000;
export const HOUR = 3_600_000;
/** A 5-minute boundary, so buckets and steps line up with the test's hours. */
export const T0 = 1_800_000_000_000;
export const ALPHA = 0.01;

/** Deterministic latencies per DP and period (ms), with a long tail. */
export function latencies(dp: number, period: number): number[] {
  const n = 3 + ((dp * 7 + period) % 5);
  return Array.from({ length: n }, (_, i) => 1 + ((dp * 31 + period * 17 + i * 13) % 97) * (dp + 1));
}

export interface Dp {
  node: string;
  region: string;
  route: string;
}
export const DPS: Dp[] = [
  { node: 'dp-eu', region: 'eu', route: 'route-a' },
  { node: 'dp-us', region: 'us', route: 'route-b' },
];

export function summary(dp: number, periodStart: number): TrafficSummary {
  const values = latencies(dp, periodStart / PERIOD_MS);
  const s = newSketch();
  for (const v of values) recordLatency(s, v);
  return create(TrafficSummarySchema, {
    periodStartUnixMs: BigInt(periodStart),
    periodMs: PERIOD_MS,
    entries: [
      create(TrafficEntrySchema, {
        serviceId: 'svc-1',
        serviceName: 'orders',
        routeId: DPS[dp]!.route,
        consumerId: 'cons-1',
        consumerUsername: 'alice',
        requests: BigInt(values.length),
        errors4xx: 1n,
        errors5xx: BigInt(periodStart % 3 === 0 ? 1 : 0),
        latency: create(LatencySketchSchema, encodeSketch(s)),
      }),
    ],
  });
}

/** The truth over [from, to): requests, 5xx and every latency of the DPs asked for. */
export function truth(from: number, to: number, dps = [0, 1]) {
  let requests = 0;
  let errors5xx = 0;
  const all: number[] = [];
  for (let t = from; t < to; t += PERIOD_MS)
    for (const dp of dps) {
      const v = latencies(dp, t / PERIOD_MS);
      requests += v.length;
      errors5xx += t % 3 === 0 ? 1 : 0;
      all.push(...v);
    }
  all.sort((a, b) => a - b);
  const at = (q: number) => all[Math.floor(q * (all.length - 1))]!;
  return { requests, errors5xx, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

export function expectQuantiles(g: TrafficGroup, t: ReturnType<typeof truth>): void {
  for (const k of ['p50', 'p95', 'p99'] as const)
    expect(Math.abs(g.latency_ms[k]! - t[k]), `${k}: ${g.latency_ms[k]} vs ${t[k]}`).toBeLessThanOrEqual(
      t[k] * ALPHA + 0.001,
    );
}

export class Clock {
  constructor(public ms: number) {}
  readonly now = () => this.ms;
}

export function replica(
  db: Database,
  clock: Clock,
  cpId: string,
  bootId = 'boot-1',
  retentionMs = 7 * 86_400_000,
  more: Partial<Pick<AnalyticsHistoryOptions, 'fiveMinuteRetentionMs'>> = {},
) {
  return new Analytics({
    logger,
    now: clock.now,
    history: { prisma: db.prisma, cpId, bootId, retentionMs, timers: false, ...more },
  });
}

/**
 * Feeds the DPs' summaries for [from, to) to each of `targets` as they arrive (a period's summary
 * a second after it ends), flushing the history every minute of simulated time.
 */
export async function feed(
  clock: Clock,
  targets: { analytics: Analytics; via: SummaryVia; dps: number[] }[],
  from: number,
  to: number,
): Promise<void> {
  for (let t = from; t < to; t += PERIOD_MS) {
    clock.ms = t + PERIOD_MS + 1000;
    for (const { analytics, via, dps } of targets)
      for (const dp of dps)
        analytics.ingest(summary(dp, t), { nodeId: DPS[dp]!.node, region: DPS[dp]!.region }, via);
    if ((t / PERIOD_MS) % 6 === 0) for (const { analytics } of targets) await analytics.history!.flush();
  }
}

export async function query(
  a: Analytics,
  clock: Clock,
  dimension: Dimension,
  params: Record<string, string>,
) {
  const q = parseAnalyticsQuery(params, clock.ms, dimension, a.limits);
  return { q, data: await a.query({ dimension, ...q }) };
}
