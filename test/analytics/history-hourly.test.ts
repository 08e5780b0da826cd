/**
 * The analytics history's hourly tier on real databases, PGlite and Postgres: five hours of
 * synthetic traffic written as 5-minute buckets, rolled up per hour by the rollup job; the hourly
 * tier answers with the same totals and percentiles (within the sketches' 1 %) as the 5-minute
 * tier over the same window, also once the 5-minute rows are gone; each tier keeps its own
 * retention, and 5-minute rows not rolled up yet are kept; the job runs on one replica at a time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOURLY_MS } from '../../control-plane/src/analytics/rollup.js';
import type { TrafficGroup } from '../../control-plane/src/analytics/traffic-store.js';
import { openDatabase } from '../../control-plane/src/db/index.js';
import { ANALYTICS_ROLLUP_JOB } from '../../control-plane/src/jobs/analytics-rollup.js';
import { runExclusive } from '../../control-plane/src/jobs/exclusive.js';
import { createTestDatabase, DB_KINDS, type TestDatabase } from '../helpers/db.js';
import {
  ALPHA,
  Clock,
  expectQuantiles,
  feed,
  HOUR,
  logger,
  query,
  replica,
  T0,
  truth,
} from './history-fixture.js';

/** An hour boundary well after the other tests' traffic. */
const START = Math.ceil((T0 + 100 * HOUR) / HOURLY_MS) * HOURLY_MS;
const END = START + 5 * HOUR;

/** Two answers agree: equal counts, percentiles within the sketches' relative error. */
function expectSameGroups(a: TrafficGroup[], b: TrafficGroup[]): void {
  expect(a.map((g) => [g.id, g.requests, g.errors_4xx, g.errors_5xx])).toEqual(
    b.map((g) => [g.id, g.requests, g.errors_4xx, g.errors_5xx]),
  );
  for (const [i, g] of a.entries())
    for (const k of ['p50', 'p95', 'p99'] as const)
      expect(Math.abs(g.latency_ms[k]! - b[i]!.latency_ms[k]!)).toBeLessThanOrEqual(
        b[i]!.latency_ms[k]! * ALPHA + 0.001,
      );
}

for (const kind of DB_KINDS) {
  describe(`analytics history, hourly tier (${kind})`, () => {
    let tdb: TestDatabase;
    beforeAll(async () => {
      tdb = await createTestDatabase(kind, logger);
    });
    afterAll(async () => {
      await tdb?.drop();
    });

    const count = async (table: string) =>
      Number(
        (
          await tdb.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
            `SELECT count(*) AS n FROM "${table}" WHERE "bucket_start" >= $1::timestamptz`,
            new Date(START).toISOString(),
          )
        )[0]!.n,
      );

    it(
      'answers from the hourly tier what the 5-minute tier answers, and keeps each tier its retention',
      { timeout: 300_000 },
      async () => {
        const clock = new Clock(START);
        const a = replica(tdb.db, clock, 'cp-h', 'boot-1', 9 * HOUR, { fiveMinuteRetentionMs: 4 * HOUR });
        await feed(clock, [{ analytics: a, via: 'stream', dps: [0, 1] }], START, END);
        clock.ms = END + 60_000; // the last bucket's grace has passed
        await a.history!.flush();

        // Only the 5-minute tier so far: no hour is final yet (2 h 05 min after its start).
        expect((await a.history!.rollUp())!.through).toBe(START + 3 * HOUR);
        await tdb.db.prisma.$executeRawUnsafe(`DELETE FROM "analytics_history_hourly"`);
        await tdb.db.prisma.$executeRawUnsafe(`DELETE FROM "analytics_rollup"`);
        const asked = [
          ['services', { window: '4h' }],
          ['services', { window: '4h', step: '1h' }],
          ['routes', { window: '4h', step: '2h', service: 'orders' }],
          ['data-planes', { window: '4h' }],
          ['regions', { window: '4h', region: 'us' }],
          // Beyond the 5-minute retention (4 h): hour resolution, from START to the current hour.
          ['services', { window: '6h', step: '1h' }],
        ] as const;
        const fiveMinute = [];
        for (const [d, p] of asked) fiveMinute.push((await query(a, clock, d, p)).data);
        expect(await count('analytics_history')).toBe(5 * 12 * 4); // an entity and a DP row per DP

        // Every hour final: all five rolled up, one row per hour where there were twelve.
        clock.ms = END + 2 * HOUR;
        const run = await a.history!.rollUp();
        expect(run).toMatchObject({ through: END, more: false });
        expect(await count('analytics_history_hourly')).toBe(5 * 4);
        expect(a.stats().history!.hourly_through).toBe(END / 1000);
        // Rolled up again: the same rows, nothing added.
        expect((await a.history!.rollUp())!.hours).toBe(0);

        // The same windows (clock back where they were asked): the same answers.
        clock.ms = END + 60_000;
        for (const [i, [d, p]] of asked.entries()) {
          const hourly = await query(a, clock, d, p);
          expectSameGroups(hourly.data, fiveMinute[i]!);
        }
        // With the 5-minute rows of the whole hours gone, the hourly tier alone still answers them.
        await tdb.db.prisma.$executeRawUnsafe(
          `DELETE FROM "analytics_history" WHERE "bucket_start" >= $1::timestamptz AND "bucket_start" < $2::timestamptz`,
          new Date(START).toISOString(),
          new Date(END).toISOString(),
        );
        const { q, data } = await query(a, clock, 'services', { window: '6h', step: '1h' });
        expect([q.resolutionMs, q.fromMs]).toEqual([HOURLY_MS, START]);
        expectSameGroups(data, fiveMinute.at(-1)!);
        const t = truth(START, END);
        expect(data[0]!.requests).toBe(t.requests);
        for (const p of data[0]!.series!) {
          const hour = truth(p.start * 1000, p.start * 1000 + HOUR);
          expect(p.requests).toBe(hour.requests);
          expectQuantiles({ ...data[0]!, ...p, id: null, name: null }, hour);
        }
        expectQuantiles(data[0]!, t);
        await a.close();
      },
    );

    it('deletes each tier past its retention, and no 5-minute row before its hour is rolled up', async () => {
      const start = START + 24 * HOUR;
      const clock = new Clock(start);
      const a = replica(tdb.db, clock, 'cp-r', 'boot-1', 6 * HOUR, { fiveMinuteRetentionMs: 2 * HOUR });
      await feed(clock, [{ analytics: a, via: 'stream', dps: [0] }], start, start + 3 * HOUR);
      clock.ms = start + 3 * HOUR + 60_000;
      await a.history!.flush();
      await tdb.db.prisma.$executeRawUnsafe(`DELETE FROM "analytics_history_hourly"`);
      await tdb.db.prisma.$executeRawUnsafe(
        `DELETE FROM "analytics_history" WHERE "bucket_start" < $1::timestamptz`,
        new Date(start).toISOString(),
      );
      await tdb.db.prisma.$executeRawUnsafe(
        `INSERT INTO "analytics_rollup" ("tier", "through") VALUES ('1h', $1::timestamptz)
         ON CONFLICT ("tier") DO UPDATE SET "through" = EXCLUDED."through"`,
        new Date(start).toISOString(),
      );
      const rows = async (table: string) =>
        Number(
          (
            await tdb.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
              `SELECT count(*) AS n FROM "${table}" WHERE "bucket_start" >= $1::timestamptz`,
              new Date(start).toISOString(),
            )
          )[0]!.n,
        );
      // Past the 5-minute retention but not rolled up: kept.
      await a.history!.prune();
      expect(await rows('analytics_history')).toBe(3 * 12 * 2);
      // Rolled up (the first hour only is final), the 5-minute rows older than 2 h of it go.
      expect((await a.history!.rollUp())!.through).toBe(start + HOUR);
      expect(await rows('analytics_history_hourly')).toBe(2);
      await a.history!.prune();
      expect(await rows('analytics_history')).toBe(2 * 12 * 2);
      // Every hour rolled up; 2 h later the 5-minute rows are all past their retention.
      clock.ms = start + 5 * HOUR + 30 * 60_000;
      expect((await a.history!.rollUp())!.through).toBe(start + 4 * HOUR);
      await a.history!.prune();
      expect(await rows('analytics_history')).toBe(0);
      expect(await rows('analytics_history_hourly')).toBe(3 * 2);
      // A 6h window (beyond the 5-minute retention: hour resolution) is the hourly tier's alone.
      const { q, data } = await query(a, clock, 'services', { window: '6h' });
      expect(q.resolutionMs).toBe(HOURLY_MS);
      expect(data[0]!.requests).toBe(truth(start, start + 3 * HOUR, [0]).requests);
      // Past the hourly retention (6 h): the first hour's rows go.
      clock.ms = start + 7 * HOUR;
      await a.history!.prune();
      expect(await rows('analytics_history_hourly')).toBe(2 * 2);
      await a.close();
    });

    if (kind === 'postgres')
      it('rolls up on one replica at a time', async () => {
        const clock = new Clock(START + 50 * HOUR);
        const a = replica(tdb.db, clock, 'cp-l');
        const other = await openDatabase({ databaseUrl: tdb.databaseUrl!, dataDir: tdb.dataDir, logger });
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let locked!: () => void;
        const taken = new Promise<void>((r) => (locked = r));
        const holder = runExclusive(other.prisma, ANALYTICS_ROLLUP_JOB, async () => {
          locked();
          await held;
        });
        await taken;
        expect(await a.history!.rollUp()).toBeNull();
        release();
        await holder;
        expect(await a.history!.rollUp()).not.toBeNull();
        await other.close();
        await a.close();
      });
  });
}
