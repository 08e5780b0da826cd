/**
 * F25 (CP replica loss with DP failover): two CP replicas on one Postgres, a data plane given
 * both (`--control-plane a,b`) and connected to the first. The first is killed (`kill -9`) a third
 * of the way into an open-loop load on the DP. The DP serves on (0 failed, p99 while it fails over
 * ≤ +2 ms over the baseline), reports the loss ≤ 1 s (the kernel resets the stream of a killed
 * process, as in F4), is connected to the other replica within the backoff's first delay plus a
 * handshake (≤ 5 s, the resync bound of F1), applies no new config (one hash: the replica holds
 * the same version), and a write through the surviving replica reaches it (≤ 1 s, F14's bound).
 */
import { adminJson } from '../../../e2e/helpers/processes.js';
import type { CpHandle } from '../../../e2e/helpers/processes.js';
import { Fleet, dpStatus, sleep, whenTrue } from '../fleet.js';
import { offsetOf, summarize } from '../load.js';
import { faultInMiddleThird, instrumentLine } from '../middle-third.js';
import { logProbe } from '../probe/report.js';
import { atMost, exactly, p99Delta, type Row } from '../row.js';
import { join } from 'node:path';

export const F25: Row = {
  id: 'F25',
  fault: 'CP replica kill -9 under load, DP fails over to the other replica',
  async run(profile, log) {
    const { fleet, drop } = await Fleet.onPostgres({ dps: 0 });
    let replica: CpHandle | null = null;
    try {
      replica = await fleet.startReplica('chaos-b');
      const first = `127.0.0.1:${fleet.clusterPort}`;
      const second = `127.0.0.1:${replica.clusterPort}`;
      const dp = await fleet.startDp(join(fleet.dir, 'dp-failover'), true, { cluster: `${first},${second}` });
      fleet.dps.push(dp);
      await fleet.waitServing(dp);
      const start = (await dpStatus(dp))!;
      if (start.sync.controlPlane !== first)
        throw new Error(`the DP should start on ${first}, it is on ${String(start.sync.controlPlane)}`);
      const hashes = new Set<string>([start.config!.hash]);
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const s = await dpStatus(dp);
          if (s?.config) hashes.add(s.config.hash);
          await sleep(50);
        }
      })();
      let lostAt: number | null = null;
      let overAt: number | null = null;
      const run = await faultInMiddleThird(
        dp,
        profile,
        async () => {
          await fleet.stopCp('SIGKILL');
          const killedAt = performance.now();
          lostAt = await whenTrue(async () => (await dpStatus(dp))?.sync.state !== 'connected', 10_000, 5);
          overAt = await whenTrue(async () => {
            const s = await dpStatus(dp);
            return s?.sync.state === 'connected' && s.sync.controlPlane === second;
          }, 30_000);
          if (lostAt !== null) lostAt -= killedAt;
          if (overAt !== null) overAt -= killedAt;
        },
        async () => {},
      );
      watching = false;
      await watcher;
      // The configuration still changes: a write through the surviving replica reaches the DP.
      const writeAt = performance.now();
      const route = await adminJson(replica.admin, 'POST', '/services/chaos/routes', {
        name: 'after-failover',
        paths: ['/after-failover'],
      });
      if (route.status !== 201) throw new Error(`a write through the replica: ${JSON.stringify(route.json)}`);
      const servedAt = await whenTrue(async () => {
        const r = await fetch(`${dp.proxy}/after-failover`, { signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        return r.status === 200;
      }, 15_000);
      const { record, injectedAt, healedAt } = run;
      const baseline = summarize(record, 1000, offsetOf(record, injectedAt));
      const failover = summarize(record, offsetOf(record, injectedAt), offsetOf(record, healedAt));
      const all = summarize(record);
      log(
        `lost after ${lostAt === null ? 'never' : (lostAt as number).toFixed(0)} ms; on ${second} after ${overAt === null ? 'never' : (overAt as number).toFixed(0)} ms; baseline p99 ${baseline.p99Ms} ms, failover p99 ${failover.p99Ms} ms; hashes ${[...hashes].join(', ')}`,
      );
      const windows = [
        { name: 'baseline', from: record.startedAt + 1000, to: injectedAt },
        { name: 'failover', from: injectedAt, to: healedAt },
      ];
      log(instrumentLine(run, windows));
      logProbe(windows, log, record.startedAt + profile.durationMs);
      return [
        exactly('failed requests', all.failed, 0, all.requests),
        p99Delta('p99 while the DP fails over', baseline.p99Ms, failover.p99Ms, 2),
        atMost('loss detected', lostAt === null ? Infinity : (lostAt as number) / 1000, 1, 's', 2),
        atMost(
          'connected to the other replica',
          overAt === null ? Infinity : (overAt as number) / 1000,
          5,
          's',
        ),
        exactly('distinct config hashes applied during the failover', hashes.size, 1),
        atMost(
          'a write through the other replica served',
          servedAt === null ? Infinity : (servedAt - writeAt) / 1000,
          1,
          's',
          2,
        ),
      ];
    } finally {
      await replica?.proc.stop();
      await fleet.close();
      await drop();
    }
  },
};
