/**
 * F27 (a staged rollout with a bad change): a CP on Postgres and three DPs, one labelled
 * `canary=true`, each sending its traffic summary every second, under open-loop load on all three.
 * A rollout whose change points the route's service at a dead upstream starts with the canary as
 * its first wave (docs/rollouts.md). The canary's 502s break the gate, the CP writes the old
 * configuration back as a new version, and the canary serves it again. Figures: the DPs outside
 * the wave never apply the change and fail no request; the rollout ends `failed` by the gate; the
 * canary serves the rollback ≤ 25 s after the rollout started (the gate judges whole 10-second
 * analytics buckets from the first boundary after the wave starts: ≤ 10 s to that boundary,
 * `min_requests` served and summarised at 1 s, judged each second, then F14's propagation); the
 * canary fails no request once it serves the rollback.
 */
import { join } from 'node:path';
import { adminJson, freePort } from '../../../e2e/helpers/processes.js';
import type { DpHandle } from '../../../e2e/helpers/processes.js';
import { Fleet, dpStatus, sleep, whenTrue } from '../fleet.js';
import { offsetOf, openLoop, summarize } from '../load.js';
import { atMost, exactly, holds, type Row } from '../row.js';

interface RolloutJson {
  id: string;
  state: string;
  target_version: number;
  rollback_version: number | null;
  reason: string | null;
}

export const F27: Row = {
  id: 'F27',
  fault: 'staged rollout of a bad change (a dead upstream) to a canary wave',
  async run(profile, log) {
    const { fleet, drop } = await Fleet.onPostgres({ dps: 0 });
    try {
      const dps: (DpHandle & { name: string })[] = [];
      for (const [name, labels] of [
        ['canary', ['--label', 'canary=true']],
        ['held-a', []],
        ['held-b', []],
      ] as const) {
        const dp = await fleet.startDp(join(fleet.dir, name), true, {
          nodeId: `chaos-${name}`,
          args: ['--traffic-summary-interval', '1000', ...labels],
        });
        fleet.dps.push(dp);
        dps.push({ ...dp, name });
      }
      for (const dp of dps) await fleet.waitServing(dp);
      const [canary, ...held] = dps as [DpHandle & { name: string }, ...(DpHandle & { name: string })[]];

      // The versions every DP applies, watched all along.
      const versions = new Map<string, Set<number>>(dps.map((d) => [d.name, new Set<number>()]));
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const dp of dps) {
            const v = (await dpStatus(dp))?.config?.version;
            if (v !== undefined) versions.get(dp.name)!.add(Number(v));
          }
          await sleep(50);
        }
      })();

      const durationMs = 45_000;
      const loads = dps.map((dp) =>
        openLoop({
          origin: dp.proxy,
          path: '/chaos',
          rate: Math.max(30, Math.floor(profile.rate / 3)),
          durationMs,
        }),
      );
      await sleep(5000);
      const dead = `http://127.0.0.1:${await freePort()}`;
      const startedAt = performance.now();
      const started = await adminJson(fleet.admin, 'POST', '/config/rollouts', {
        config: {
          _format_version: '3.0',
          services: [{ name: 'chaos', url: dead, routes: [{ name: 'chaos', paths: ['/chaos'] }] }],
        },
        waves: [{ labels: { canary: 'true' } }],
        soak: 60,
        gate: { max_error_rate: 0.05, min_requests: 20 },
      });
      if (started.status !== 201) throw new Error(`starting the rollout: ${JSON.stringify(started.json)}`);
      const id = (started.json as RolloutJson).id;
      let rollout = started.json as RolloutJson;
      await whenTrue(
        async () => {
          rollout = (await adminJson(fleet.admin, 'GET', `/config/rollouts/${id}`)).json as RolloutJson;
          return rollout.state !== 'running';
        },
        durationMs,
        250,
      );
      const rollback = rollout.rollback_version;
      const backAt =
        rollback === null
          ? null
          : await whenTrue(
              async () => Number((await dpStatus(canary))?.config?.version ?? -1) >= rollback,
              durationMs,
            );
      const records = await Promise.all(loads);
      watching = false;
      await watcher;

      const heldFailed = records.slice(1).reduce((n, r) => n + summarize(r).failed, 0);
      const heldRequests = records.slice(1).reduce((n, r) => n + summarize(r).requests, 0);
      for (const [i, r] of records.entries()) {
        const statuses = new Map<number, number>();
        for (const st of r.status) statuses.set(st, (statuses.get(st) ?? 0) + 1);
        const metrics = await (await fetch(`${dps[i]!.status}/metrics`)).text();
        // Summed over its reasons (event_loop_delay, concurrency).
        const shed = [...metrics.matchAll(/^gatehouse_dp_requests_shed_total(?:\{[^}]*\})? (\d+)/gm)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
        log(
          `${dps[i]!.name}: statuses ${JSON.stringify([...statuses])}; shed (overload) ${shed}; errors ${JSON.stringify([...r.errors])}`,
        );
      }
      const heldTarget = held.filter((dp) => versions.get(dp.name)!.has(rollout.target_version)).length;
      const canaryRecord = records[0]!;
      const afterBack =
        backAt === null ? null : summarize(canaryRecord, offsetOf(canaryRecord, backAt + 1000));
      const during = summarize(canaryRecord, offsetOf(canaryRecord, startedAt));
      log(
        `rollout ${rollout.state} (${rollout.reason ?? 'no reason'}); target v${rollout.target_version}, rollback v${String(rollback)}; canary served it ${backAt === null ? 'never' : ((backAt - startedAt) / 1000).toFixed(1)} s after the start; canary failed ${during.failed} of ${during.requests} from the start; versions ${JSON.stringify(Object.fromEntries([...versions].map(([k, v]) => [k, [...v]])))}`,
      );
      return [
        exactly('failed requests on the DPs outside the wave', heldFailed, 0, heldRequests),
        exactly('DPs outside the wave that applied the change', heldTarget, 0, held.length),
        holds(
          'the rollout failed by the gate',
          rollout.state === 'failed' && /max_error_rate/.test(rollout.reason ?? ''),
        ),
        atMost(
          'the canary serves the rollback after the rollout started',
          backAt === null ? Infinity : (backAt - startedAt) / 1000,
          25,
          's',
        ),
        exactly(
          'canary failed requests once it serves the rollback (from 1 s after)',
          afterBack?.failed ?? -1,
          0,
          afterBack?.requests,
        ),
      ];
    } finally {
      await fleet.close();
      await drop();
    }
  },
};
