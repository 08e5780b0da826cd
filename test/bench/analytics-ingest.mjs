#!/usr/bin/env node
// CP analytics ingest: CPU and memory of the control plane's analytics (intake + the one-hour
// ring) while 200 simulated DPs each send a traffic summary every 10 s. In process: each summary
// is made as a DP makes it (sketches of lognormal latencies), encoded to protobuf bytes, and the
// CP side decodes and ingests it (what the stream or NATS subscriber does, less the transport).
// Simulated time runs fast: --periods periods of 10 s (360 = the hour the ring holds). Prints
// JSON: CPU ms per period (all DPs), per summary, and heap/RSS once the ring is full.
// With --history (default pglite; postgres needs --database-url; off) the 5-minute rollups are
// written to the history as the CP's timer does (a flush after every period), and the CPU of
// those writes is counted in the period's (PGlite runs in this process; Postgres's own CPU is
// not counted); then windows over the history are queried.
//
//   node scripts/bootstrap.mjs && node --expose-gc test/bench/analytics-ingest.mjs [--dps 200]
//     [--entries 20] [--requests 100] [--periods 360] [--history pglite|postgres|off]
//     [--database-url postgresql://…] [--seed-days 7]
// --seed-days N copies the first bucket written back over N days (one copy per 5 minutes, as a
// fleet of the same size would have written), rolls the final hours up into the hourly tier and
// applies the retention (the CP's jobs; their CPU is printed as history_jobs_cpu), then queries
// windows of N days (totals, step 1h, step 1d).
// --root DIR runs against another checkout's build (A/B: --root /work/main), whose history may
// have no hourly tier (then nothing is rolled up).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { LatencySketchSchema, TrafficEntrySchema, TrafficSummarySchema } from '@gatehouse/proto';
import { createLogger, encodeSketch, newSketch, recordLatency } from '@gatehouse/shared';

const { values } = parseArgs({
  options: {
    dps: { type: 'string', default: '200' },
    entries: { type: 'string', default: '20' },
    requests: { type: 'string', default: '100' },
    periods: { type: 'string', default: '360' },
    history: { type: 'string', default: 'pglite' },
    'database-url': { type: 'string' },
    'seed-days': { type: 'string', default: '0' },
    root: { type: 'string' },
  },
});
const ROOT = values.root
  ? new URL(`file://${values.root.replace(/\/?$/, '/')}`)
  : new URL('../../', import.meta.url);
const cp = (path) => import(new URL(`control-plane/dist/${path}`, ROOT).href);
const { Analytics } = await cp('analytics/index.js');
const { TrafficStore } = await cp('analytics/traffic-store.js');
const { parseAnalyticsQuery } = await cp('analytics/query.js');
const { openDatabase } = await cp('db/index.js');
const HISTORY = values.history;
if (!['pglite', 'postgres', 'off'].includes(HISTORY)) throw new Error('--history pglite|postgres|off');
if (HISTORY === 'postgres' && !values['database-url'])
  throw new Error('--history postgres needs --database-url');
const DPS = Number(values.dps);
const ENTRIES = Number(values.entries);
const REQUESTS = Number(values.requests);
const PERIODS = Number(values.periods);
const PERIOD_MS = 10_000;

// Deterministic pseudo-random lognormal latencies (median ~20 ms, long tail).
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const latency = () =>
  Math.exp(Math.log(20) + 0.8 * Math.sqrt(-2 * Math.log(rand() || 1e-9)) * Math.cos(2 * Math.PI * rand()));

function summaryBytes(dp, periodStart) {
  const entries = [];
  for (let e = 0; e < ENTRIES; e++) {
    const s = newSketch();
    for (let r = 0; r < REQUESTS; r++) recordLatency(s, latency());
    entries.push(
      create(TrafficEntrySchema, {
        serviceId: `service-${e % 5}`,
        serviceName: `svc${e % 5}`,
        routeId: `route-${e}`,
        routeName: `r${e}`,
        consumerId: `consumer-${e % 3}`,
        requests: BigInt(REQUESTS),
        errors4xx: 1n,
        errors5xx: 1n,
        latency: create(LatencySketchSchema, encodeSketch(s)),
      }),
    );
  }
  return toBinary(
    TrafficSummarySchema,
    create(TrafficSummarySchema, {
      nodeId: `dp-${dp}`,
      region: `region-${dp % 4}`,
      periodStartUnixMs: BigInt(periodStart),
      periodMs: PERIOD_MS,
      entries,
    }),
  );
}

// DPs' summaries are made once per DP (and re-stamped per period): making them is the DPs' cost.
const start0 = Math.floor(Date.now() / PERIOD_MS) * PERIOD_MS - (PERIODS - 1) * PERIOD_MS;
const perDp = Array.from({ length: DPS }, (_, dp) => summaryBytes(dp, start0));
const bytesPerSummary = perDp.reduce((n, b) => n + b.length, 0) / DPS;

let simulatedNow = start0;
const logger = createLogger('bench', { level: 'silent' });
const dbDir = await mkdtemp(join(tmpdir(), 'gh-bench-analytics-'));
const db =
  HISTORY === 'off'
    ? null
    : await openDatabase({
        dataDir: dbDir,
        logger,
        ...(HISTORY === 'postgres' ? { databaseUrl: values['database-url'] } : {}),
      });
if (db) await db.prisma.analyticsHistory.deleteMany({});
const hasHourly = db !== null && 'analyticsHistoryHourly' in db.prisma;
if (hasHourly) {
  await db.prisma.analyticsHistoryHourly.deleteMany({});
  await db.prisma.analyticsRollup.deleteMany({});
}
const store = new TrafficStore(undefined, () => simulatedNow);
const analytics = new Analytics({
  logger,
  store,
  now: () => simulatedNow,
  ...(db ? { history: { prisma: db.prisma, cpId: 'bench', bootId: '1', timers: false } } : {}),
});
const mib = (n) => Math.round((n / 1048576) * 10) / 10;
global.gc?.();
const before = process.memoryUsage();
const cpuPerPeriod = [];
for (let p = 0; p < PERIODS; p++) {
  const periodStart = start0 + p * PERIOD_MS;
  simulatedNow = periodStart + PERIOD_MS - 1;
  const cpu0 = process.cpuUsage();
  for (let dp = 0; dp < DPS; dp++) {
    const s = fromBinary(TrafficSummarySchema, perDp[dp]);
    s.periodStartUnixMs = BigInt(periodStart);
    analytics.ingest(s, { nodeId: s.nodeId, region: s.region });
  }
  simulatedNow = periodStart + 2 * PERIOD_MS + 1000; // as the CP's 10 s flush timer sees it
  await analytics.history?.flush();
  const d = process.cpuUsage(cpu0);
  cpuPerPeriod.push((d.user + d.system) / 1000);
}
global.gc?.();
const after = process.memoryUsage();
const q0 = process.cpuUsage();
const services = store.query({ dimension: 'services', fromMs: start0, toMs: simulatedNow + 1 });
const q1 = process.cpuUsage(q0);
const q2s = process.cpuUsage();
store.query({ dimension: 'regions', fromMs: simulatedNow - 300_000, toMs: simulatedNow + 1, stepMs: 10_000 });
const q3 = process.cpuUsage(q2s);
const historyQueries = {};
const SEED_DAYS = Number(values['seed-days']);
if (db && SEED_DAYS > 0) {
  const first = new Date(Math.floor(start0 / 300_000) * 300_000); // the earliest bucket written
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO analytics_history SELECT bucket_start - make_interval(mins => 5 * k), source, node_id, region,
       service_id, service_name, route_id, route_name, consumer_id, requests, errors_4xx, errors_5xx, summaries, latency
     FROM analytics_history, generate_series(1, $1::int) AS k WHERE bucket_start = $2::timestamptz`,
    SEED_DAYS * 288,
    first.toISOString(),
  );
}
const jobs = {};
if (db && SEED_DAYS > 0 && typeof analytics.history?.rollUp === 'function') {
  // What the CP's jobs would have done over the seeded days: roll every final hour up, then
  // delete what is past each tier's retention.
  const c0 = process.cpuUsage();
  const run = await analytics.history.rollUp();
  const c1 = process.cpuUsage(c0);
  const p0 = process.cpuUsage();
  const pruned = await analytics.history.prune();
  const p1 = process.cpuUsage(p0);
  jobs.rollup = {
    ...run,
    cpu_ms: (c1.user + c1.system) / 1000,
    cpu_ms_per_hour: (c1.user + c1.system) / 1000 / (run?.hours || 1),
  };
  jobs.prune = { rows: pruned, cpu_ms: (p1.user + p1.system) / 1000 };
}
if (analytics.history) {
  for (const [dimension, params] of [
    ['services', { window: '6h' }],
    ['regions', { window: '6h', step: '30m' }],
    ...(SEED_DAYS > 0
      ? [
          ['services', { window: `${SEED_DAYS}d` }],
          ['services', { window: `${SEED_DAYS}d`, step: '1h' }],
          ['services', { window: `${SEED_DAYS}d`, step: '1d' }],
          ['regions', { window: `${SEED_DAYS}d`, step: '1d' }],
          ['data-planes', { window: `${SEED_DAYS}d` }],
        ]
      : []),
  ]) {
    const q = parseAnalyticsQuery(params, simulatedNow, dimension, analytics.limits);
    const c0 = process.cpuUsage();
    const rows = await analytics.query({ dimension, ...q });
    const c1 = process.cpuUsage(c0);
    historyQueries[`${dimension}_${params.window}${params.step ? `_step_${params.step}` : ''}`] = {
      cpu_ms: (c1.user + c1.system) / 1000,
      groups: rows.length,
    };
  }
}
const historyRows = db ? await db.prisma.analyticsHistory.count() : 0;
const hourlyRows = hasHourly ? await db.prisma.analyticsHistoryHourly.count() : 0;
const sorted = [...cpuPerPeriod].sort((a, b) => a - b);
console.log(
  JSON.stringify(
    {
      dps: DPS,
      entries_per_summary: ENTRIES,
      requests_per_entry: REQUESTS,
      periods: PERIODS,
      bytes_per_summary: Math.round(bytesPerSummary),
      cpu_ms_per_period: {
        median: sorted[Math.floor(sorted.length / 2)],
        mean: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
        max: sorted.at(-1),
      },
      cpu_ms_per_summary: Math.round((sorted[Math.floor(sorted.length / 2)] / DPS) * 1000) / 1000,
      cpu_share_of_one_core: Math.round((sorted[Math.floor(sorted.length / 2)] / PERIOD_MS) * 10000) / 10000,
      stats: analytics.stats(),
      combinations_held: store.size(),
      heap_used_mib: { before: mib(before.heapUsed), after: mib(after.heapUsed) },
      rss_mib: { before: mib(before.rss), after: mib(after.rss) },
      query_cpu_ms: {
        services_1h: (q1.user + q1.system) / 1000,
        regions_5m_step_10s: (q3.user + q3.system) / 1000,
      },
      services: services.length,
      history: HISTORY,
      history_rows: historyRows,
      hourly_rows: hourlyRows,
      history_jobs_cpu: jobs,
      history_query_cpu: historyQueries,
    },
    null,
    2,
  ),
);
await analytics.close();
await db?.close();
await rm(dbDir, { recursive: true, force: true });
