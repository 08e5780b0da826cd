/**
 * The control plane's dependencies going away under load. F15: Postgres stopped
 * (`pg_ctl stop -m immediate`) for the middle third of the run, then started: Admin API writes
 * during the outage fail fast (≤ 2 s, 503 with Retry-After), the DPs serve on (0 failed), and
 * the CP takes writes again once the database is back, with no restart. F16: NATS killed for the
 * middle third, then started: the DPs serve on (0 failed), their NATS link is connected again
 * ≤ 5 s after NATS answers, and no traffic summary is lost (the outage is shorter than the
 * DP's summary buffer).
 */
import { adminJson } from '../../../e2e/helpers/processes.js';
import { createPostgresDatabase } from '../../helpers/db.js';
import { startNatsServer } from '../../helpers/nats-server.js';
import { Fleet, dpStatus, sleep, whenTrue } from '../fleet.js';
import { summarize } from '../load.js';
import { faultInMiddleThird } from '../middle-third.js';
import { startPrivatePostgres } from '../postgres.js';
import { atMost, exactly, holds, type Row } from '../row.js';

export const F15: Row = {
  id: 'F15',
  fault: 'Postgres down under load',
  async run(profile, log) {
    const pg = await startPrivatePostgres();
    try {
      const fleet = await Fleet.start({ cpEnv: { DATABASE_URL: pg.url } });
      try {
        const dp = fleet.dps[0]!;
        const cpPid = fleet.cp!.proc.child.pid;
        const answers: { status: number; ms: number }[] = [];
        let writable: number | null = null;
        const { record, healedAt: upAt } = await faultInMiddleThird(
          dp,
          profile,
          async () => {
            pg.stop();
            log('postgres stopped (immediate)');
            // Admin writes while it is down: each must fail fast.
            for (let i = 0; i < 3; i++) {
              const at = performance.now();
              let status = 0;
              try {
                status = (
                  await adminJson(fleet.admin, 'POST', '/services', {
                    name: `outage-${i}`,
                    url: 'http://127.0.0.1:9',
                  })
                ).status;
              } catch {
                status = 0; // no answer within the helper's 10 s
              }
              answers.push({ status, ms: performance.now() - at });
              await sleep(300);
            }
          },
          async () => {
            pg.start();
            log(`postgres started; writes during the outage: ${JSON.stringify(answers)}`);
            writable = await whenTrue(
              async () =>
                (
                  await adminJson(fleet.admin, 'POST', '/services', {
                    name: `after-${Date.now()}`,
                    url: 'http://127.0.0.1:9',
                  })
                ).status === 201,
              30_000,
              250,
            );
          },
        );
        const all = summarize(record);
        const worst = Math.max(...answers.map((a) => a.ms));
        const statuses = [...new Set(answers.map((a) => a.status))];
        return [
          atMost('Admin write answer while the database is down (slowest)', worst / 1000, 2, 's', 2),
          {
            measured: 'Admin write status while the database is down',
            value: statuses.join(', '),
            bound: '503',
            pass: statuses.every((s) => s === 503),
          },
          exactly('DP failed requests', all.failed, 0, all.requests),
          holds(
            `CP takes writes again without a restart${writable === null ? '' : ` (${((writable - upAt) / 1000).toFixed(1)} s)`}`,
            writable !== null && fleet.cp!.proc.alive && fleet.cp!.proc.child.pid === cpPid,
          ),
        ];
      } finally {
        await fleet.close();
      }
    } finally {
      pg.destroy();
    }
  },
};

interface NatsView {
  nats: { state: string } | null;
  traffic_summaries: { dropped?: number; sent?: number } | null;
}

export const F16: Row = {
  id: 'F16',
  fault: 'NATS down under load',
  async run(profile, log) {
    // A CP with NATS is one of several replicas, which share Postgres: a fresh database.
    const db = await createPostgresDatabase();
    const nats = await startNatsServer();
    let fleet: Fleet | null = null;
    try {
      fleet = await Fleet.start({
        cpEnv: { NATS_URL: nats.url, DATABASE_URL: db.url },
        dpEnv: { NATS_URL: nats.url },
      });
      const dp = fleet.dps[0]!;
      const view = async () => (await dpStatus(dp)) as unknown as NatsView | null;
      await whenTrue(async () => (await view())?.nats?.state === 'connected', 15_000);
      let back: number | null = null;
      const { record, healedAt: upAt } = await faultInMiddleThird(
        dp,
        profile,
        async () => {
          await nats.kill();
          const lost = await whenTrue(async () => (await view())?.nats?.state !== 'connected', 15_000);
          log(`nats killed; DP link ${lost === null ? 'still says connected' : 'down'}`);
        },
        async () => {
          await nats.restart();
          back = await whenTrue(async () => (await view())?.nats?.state === 'connected', 30_000);
        },
      );
      const all = summarize(record);
      const summaries = (await view())?.traffic_summaries ?? null;
      log(`summaries: ${JSON.stringify(summaries)}`);
      return [
        exactly('DP failed requests', all.failed, 0, all.requests),
        atMost(
          'DP NATS link back after NATS answers',
          back === null ? Infinity : (back - upAt) / 1000,
          5,
          's',
        ),
        exactly('traffic summaries dropped', summaries?.dropped ?? -1, 0),
      ];
    } finally {
      await fleet?.close();
      await nats.kill();
      await db.drop();
    }
  },
};
