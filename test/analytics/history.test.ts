/**
 * The analytics history (issue 11) on real databases, PGlite and Postgres: three hours of
 * synthetic traffic summaries ingested under an injected clock (no sleeping), rolled up into
 * 5-minute buckets, written, and queried over windows beyond the hour the ring holds — exact
 * totals, and p50/p95/p99 within the sketches' 1 % of the true values; the history survives a
 * restart on the same database; retention deletes old rows on one replica at a time; and two
 * replicas on one Postgres, both receiving the same NATS summaries, count each request once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLLUP_MS } from '../../control-plane/src/analytics/rollup.js';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { runExclusive } from '../../control-plane/src/jobs/exclusive.js';
import { ANALYTICS_RETENTION_JOB } from '../../control-plane/src/jobs/analytics-retention.js';
import { createTestDatabase, DB_KINDS, type TestDatabase } from '../helpers/db.js';
import {
  Clock,
  expectQuantiles,
  feed,
  HOUR,
  logger,
  PERIOD_MS,
  query,
  replica,
  T0,
  truth,
} from './history-fixture.js';

for (const kind of DB_KINDS) {
  describe(`analytics history (${kind})`, () => {
    let tdb: TestDatabase;
    beforeAll(async () => {
      tdb = await createTestDatabase(kind, logger);
    });
    afterAll(async () => {
      await tdb?.drop();
    });

    it('rolls three hours up into 5-minute buckets and answers windows over the hour from them and the ring', async () => {
      const clock = new Clock(T0);
      const a = replica(tdb.db, clock, 'cp-1');
      const end = T0 + 3 * HOUR;
      await feed(clock, [{ analytics: a, via: 'stream', dps: [0, 1] }], T0, end);
      await a.history!.flush();
      // The clock is a second into the next period: the last bucket is in memory only.
      const { q, data } = await query(a, clock, 'services', { window: '3h', step: '1h' });
      expect(q.resolutionMs).toBe(ROLLUP_MS);
      expect(q.toMs - q.fromMs).toBe(3 * HOUR);
      const from = q.fromMs;
      const [svc] = data;
      const all = truth(Math.max(from, T0), end);
      expect(svc).toMatchObject({
        id: 'svc-1',
        name: 'orders',
        requests: all.requests,
        errors_5xx: all.errors5xx,
      });
      expect(svc!.errors_4xx).toBe(((end - Math.max(from, T0)) / PERIOD_MS) * 2);
      expectQuantiles(svc!, all);
      // Steps of an hour: each adds up to the truth of its hour.
      for (const p of svc!.series!) {
        const t = truth(Math.max(p.start * 1000, T0), Math.min(p.start * 1000 + HOUR, end));
        expect(p.requests).toBe(t.requests);
        expectQuantiles({ ...svc!, ...p, id: null, name: null }, t);
      }
      expect(svc!.series!.reduce((n, p) => n + p.requests, 0)).toBe(all.requests);

      // Per region, per DP, filtered: the same rows answer every dimension.
      const regions = await query(a, clock, 'regions', { window: '3h' });
      expect(regions.data.map((g) => [g.id, g.requests])).toEqual(
        [
          ['eu', truth(Math.max(from, T0), end, [0]).requests],
          ['us', truth(Math.max(from, T0), end, [1]).requests],
        ].sort((x, y) => (y[1] as number) - (x[1] as number)),
      );
      const us = await query(a, clock, 'data-planes', { window: '3h', region: 'us' });
      expect(us.data.map((g) => g.id)).toEqual(['dp-us']);
      expectQuantiles(us.data[0]!, truth(Math.max(from, T0), end, [1]));
      const byRoute = await query(a, clock, 'routes', { window: '2h', service: 'orders', route: 'route-a' });
      expect(byRoute.data.map((g) => [g.id, g.requests])).toEqual([
        ['route-a', truth(byRoute.q.fromMs, end, [0]).requests],
      ]);
      // A consumer is named (and found) by its username from the history's rows too.
      const alice = await query(a, clock, 'consumers', { window: '3h', consumer: 'alice' });
      expect(alice.data.map((g) => [g.id, g.name, g.requests])).toEqual([
        ['cons-1', 'alice', truth(Math.max(alice.q.fromMs, T0), end).requests],
      ]);
      // The history's part and the ring's part do not overlap: 65 minutes count 65 minutes once.
      const recent = await query(a, clock, 'services', { window: '65m' });
      expect(recent.data[0]!.requests).toBe(truth(recent.q.fromMs, end).requests);
      expect(a.stats().history).toMatchObject({ write_failures: 0, late_records: 0, dropped_records: 0 });
      await a.close();
    });

    it('keeps the history across a restart on the same database', { timeout: 180_000 }, async () => {
      const start = T0 + 10 * HOUR;
      const clock = new Clock(start);
      // Its own database files (PGlite) or connections (Postgres), closed and opened again.
      const dir = await mkdtemp(join(tmpdir(), 'gh-history-restart-'));
      const open = () =>
        openDatabase({
          dataDir: dir,
          logger,
          ...(kind === 'postgres' ? { databaseUrl: tdb.databaseUrl! } : {}),
        });
      try {
        let db = await open();
        const first = replica(db, clock, 'cp-r', 'boot-a');
        // Stopped in the middle of a bucket: close() writes the unfinished bucket too.
        await feed(
          clock,
          [{ analytics: first, via: 'stream', dps: [0] }],
          start,
          start + 1.5 * HOUR + 120_000,
        );
        await first.close();
        await db.close();
        db = await open();
        // The restarted process (another boot id) takes the rest of the bucket it stopped in.
        const second = replica(db, clock, 'cp-r', 'boot-b');
        const end = start + 2 * HOUR;
        await feed(clock, [{ analytics: second, via: 'stream', dps: [0] }], clock.ms - 1000, end);
        await second.history!.flush();
        const { q, data } = await query(second, clock, 'data-planes', { window: '2h', data_plane: 'dp-eu' });
        const t = truth(Math.max(q.fromMs, start), end, [0]);
        expect(data[0]!.requests).toBe(t.requests);
        expectQuantiles(data[0]!, t);
        await second.close();
        await db.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('deletes rows past the retention, on one replica at a time', async () => {
      const start = T0 + 20 * HOUR;
      const clock = new Clock(start);
      const a = replica(tdb.db, clock, 'cp-p', 'boot-1', 3 * HOUR);
      await feed(clock, [{ analytics: a, via: 'stream', dps: [0] }], start, start + 2 * HOUR);
      clock.ms = start + 2 * HOUR + 60_000; // the last bucket's grace has passed
      await a.history!.flush();
      const rows = () =>
        tdb.db.prisma.analyticsHistory.count({ where: { bucket_start: { gte: new Date(start) } } });
      const before = await rows();
      expect(before).toBe(2 * 12 * 2); // 2 h of 5-minute buckets, an entity row and a DP row each
      // An hour on, the retention (3 h) has passed for the first hour of buckets (and all older rows).
      clock.ms = start + 4 * HOUR;
      if (kind === 'postgres') {
        // Another replica running the job holds its lock: this one skips the run.
        const other = await openDatabase({ databaseUrl: tdb.databaseUrl!, dataDir: tdb.dataDir, logger });
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let locked!: () => void;
        const taken = new Promise<void>((r) => (locked = r));
        const holder = runExclusive(other.prisma, ANALYTICS_RETENTION_JOB, async () => {
          locked();
          await held;
        });
        await taken;
        expect(await a.history!.prune()).toBeNull();
        release();
        await holder;
        await other.close();
      }
      const deleted = await a.history!.prune();
      expect(deleted).toBeGreaterThanOrEqual(before / 2);
      expect(await rows()).toBe(before / 2);
      const { q, data } = await query(a, clock, 'services', { window: '3h' });
      expect(q.fromMs).toBeGreaterThan(start + HOUR);
      expect(data[0]!.requests).toBe(truth(q.fromMs, start + 2 * HOUR, [0]).requests);
      await a.close();
    });
  });
}

describe('analytics history, two replicas on one Postgres', () => {
  let tdb: TestDatabase;
  let second: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase('postgres', logger);
    second = await openDatabase({ databaseUrl: tdb.databaseUrl!, dataDir: tdb.dataDir, logger });
  });
  afterAll(async () => {
    await second?.close();
    await tdb?.drop();
  });

  it('count every summary once: NATS summaries both receive, stream summaries each its own', async () => {
    const clock = new Clock(T0);
    const a = replica(tdb.db, clock, 'cp-a');
    const b = replica(second, clock, 'cp-b');
    const end = T0 + 2 * HOUR;
    // The first 22 minutes: B is not subscribed yet and sees no NATS summaries (it joins in the
    // middle of a bucket, which it writes from fewer summaries than A, after A).
    const joined = T0 + 22 * 60_000;
    await feed(clock, [{ analytics: a, via: 'nats', dps: [0] }], T0, joined);
    // Then both receive every NATS summary of dp-eu, and each its own stream DP (dp-us on B).
    await feed(
      clock,
      [
        { analytics: a, via: 'nats', dps: [0] },
        { analytics: b, via: 'nats', dps: [0] },
        { analytics: b, via: 'stream', dps: [1] },
      ],
      joined,
      end,
    );
    await Promise.all([a.history!.flush(), b.history!.flush()]);
    for (const r of [a, b]) {
      const { q, data } = await query(r, clock, 'data-planes', { window: '2h' });
      const byNode = Object.fromEntries(data.map((g) => [g.id, g.requests]));
      // dp-eu (NATS) once, whichever replica answers; dp-us (B's stream) from the history, and
      // on B also from its ring for the last bucket (still in its grace, not written yet).
      expect(byNode['dp-eu']).toBe(truth(q.fromMs, end, [0]).requests);
      expect(byNode['dp-us']).toBe(truth(joined, r === b ? end : end - ROLLUP_MS, [1]).requests);
    }
    const sources = await tdb.db.prisma.analyticsHistory.groupBy({ by: ['source'], _count: true });
    expect(sources.map((s) => s.source).sort()).toEqual(['nats', 'stream:cp-b/boot-1']);
    // A replica that wrote a NATS bucket from fewer summaries does not replace the fuller row.
    const rows = await tdb.db.prisma.analyticsHistory.findMany({
      where: { source: 'nats', node_id: 'dp-eu' },
      select: { summaries: true },
    });
    expect(rows.every((r) => r.summaries === 30)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });
});
