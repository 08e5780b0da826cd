/**
 * F3, the CP↔DP link black-holed: packets dropped, no RST, no FIN (what a dead switch or a
 * firewall dropping the flow does). The control plane runs in a network namespace (netns.ts;
 * `gatehouse cp --dev`, its cluster port on the namespace's end of a veth pair, its Admin API on
 * the namespace's loopback, set up with curl run there); the data plane, the upstream and the
 * load stay on the host's loopback, so only the cluster link crosses the pair. Under load, every
 * packet on both ends of the pair is dropped for 60 s (short: 30 s), then the link heals:
 * `tc netem loss 100%`, or `pfifo limit 0` on a kernel without netem (NetNs.blackHole).
 *
 * Figures: the DP notices the dead link (its /status leaves `connected`) ≤ 15 s after the loss
 * starts (gRPC keepalive: a ping every 10 s, 5 s to answer; config-client.ts); no request fails;
 * reconnect attempts during the black-hole ≤ 12 a minute; the DP is connected again after the
 * link heals (within the backoff's ceiling and a connect: ≤ 15 s).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseDir } from '../../../control-plane/src/data-folder.js';
import { GATEHOUSE, httpStatus, startDp, type DpHandle } from '../../../e2e/helpers/processes.js';
import { seedPglite } from '../../helpers/pglite-template.js';
import { dpStatus, sleep, startUpstream, waitUntil, whenTrue } from '../fleet.js';
import { openLoop, summarize } from '../load.js';
import { NetNs } from '../netns.js';
import { atMost, exactly, type Row } from '../row.js';

export const F3: Row = {
  id: 'F3',
  fault: 'CP↔DP black-hole (all packets dropped, no RST)',
  async run(profile, log) {
    const holeMs = profile.short ? 30_000 : 60_000;
    const ns = NetNs.create('bh');
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chaos-blackhole-'));
    const upstream = await startUpstream();
    const cpDir = join(dir, 'cp');
    let dp: DpHandle | null = null;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_ADMIN_GUI_LISTEN: 'off',
    };
    await seedPglite(databaseDir(cpDir));
    const cp = ns.spawn(
      GATEHOUSE,
      [
        'cp',
        '--dev',
        '--data-dir',
        cpDir,
        '--admin-listen',
        '127.0.0.1:0',
        '--cluster-listen',
        `${ns.nsIp}:0`,
      ],
      env,
    );
    let output = '';
    cp.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    cp.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    try {
      await waitUntil(
        'the control plane in the namespace',
        async () => {
          if (cp.exitCode !== null) throw new Error(`cp exited:\n${output}`);
          return output.includes('"control plane ready"');
        },
        90_000,
      );
      const ready = JSON.parse(output.split('\n').find((l) => l.includes('"control plane ready"'))!) as {
        adminUrl: string;
        cluster: string;
      };
      const admin = `http://127.0.0.1:${new URL(ready.adminUrl).port}`;
      const clusterPort = Number(ready.cluster.slice(ready.cluster.lastIndexOf(':') + 1));
      const post = (path: string, body: unknown): string =>
        ns.exec(
          'curl',
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-X',
          'POST',
          '-H',
          'content-type: application/json',
          '--data',
          JSON.stringify(body),
          `${admin}${path}`,
        );
      const made = [
        post('/services', { name: 'chaos', url: `http://127.0.0.1:${upstream.port}` }),
        post('/services/chaos/routes', { name: 'chaos', paths: ['/chaos'] }),
      ];
      if (made.some((s) => s !== '201')) throw new Error(`setting up the config: ${made.join(', ')}`);
      dp = await startDp({
        cluster: `${ns.nsIp}:${clusterPort}`,
        publicKeys: join(cpDir, 'keys', 'snapshot-signing.jwks.json'),
        dataDir: join(dir, 'dp'),
        workers: 1,
        // The dev CP certificate names localhost and 127.0.0.1, not the namespace's address.
        args: ['--cluster-server-name', 'localhost'],
      });
      const d = dp;
      await waitUntil(
        'the DP serving /chaos',
        async () => (await httpStatus(`${d.proxy}/chaos`)) === 200,
        30_000,
      );

      const load = openLoop({
        origin: d.proxy,
        path: '/chaos',
        rate: Math.min(profile.rate, 200),
        durationMs: 3000 + holeMs + 20_000,
      });
      await sleep(3000);
      const before = (await dpStatus(d))!;
      if (before.sync.state !== 'connected')
        throw new Error(`the DP is ${before.sync.state} before the fault`);
      const qdisc = ns.blackHole(true);
      log(`black-hole: ${qdisc} on both ends of the pair`);
      const holeAt = performance.now();
      const lostAt = await whenTrue(async () => (await dpStatus(d))?.sync.state !== 'connected', holeMs, 50);
      const detected = lostAt === null ? Infinity : (lostAt - holeAt) / 1000;
      const atLoss = (await dpStatus(d))!.sync.reconnects;
      await sleep(Math.max(0, holeMs - (performance.now() - holeAt)));
      const atHeal = (await dpStatus(d))!.sync.reconnects;
      const attemptWindowMin = lostAt === null ? 0 : (performance.now() - lostAt) / 60_000;
      ns.blackHole(false);
      const healAt = performance.now();
      const backAt = await whenTrue(async () => (await dpStatus(d))?.sync.state === 'connected', 30_000, 50);
      const back = backAt === null ? Infinity : (backAt - healAt) / 1000;
      const record = await load;
      const all = summarize(record);
      const attempts = atHeal - atLoss;
      const perMin = attemptWindowMin > 0 ? attempts / attemptWindowMin : Infinity;
      log(
        `loss detected after ${detected.toFixed(1)} s; ${attempts} reconnect attempts in ${(attemptWindowMin * 60).toFixed(0)} s (${perMin.toFixed(1)}/min); connected ${back.toFixed(1)} s after the heal; ${all.failed} of ${all.requests} failed`,
      );
      return [
        atMost('dead link detected', detected, 15, 's'),
        exactly('failed requests', all.failed, 0, all.requests),
        atMost('reconnect attempts during the black-hole', perMin, 12, '/min'),
        atMost('connected again after the heal', back, 15, 's'),
      ];
    } finally {
      await dp?.proc.stop();
      cp.kill('SIGTERM');
      const killer = setTimeout(() => cp.kill('SIGKILL'), 10_000);
      if (cp.exitCode === null && cp.signalCode === null) await once(cp, 'exit');
      clearTimeout(killer);
      ns.remove();
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
