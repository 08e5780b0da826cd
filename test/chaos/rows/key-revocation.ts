/**
 * F28 (signing key revocation): a dev CP (root-key mode) and two data planes given only the root
 * public key, under open-loop load on the first. A third of the way in, `gatehouse keys rotate`
 * certifies a new signing key; once every DP verifies with it, `gatehouse keys revoke` revokes the
 * old one. Figures: failed requests (0) and the p99 while keys change against the baseline
 * (≤ +2 ms), as F11 asks of a rotation; every DP on the new key after the rotation (≤ 3 s: the CP
 * re-reads its keys folder every 2 s, then F14's 1 s); every DP holding the revocation list after
 * the revocation (≤ 3 s, likewise); and, the CP gone, the second DP restarted on its earlier
 * cache (signed by the revoked key, replayed) refuses it (1 of 1) and serves nothing from it.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, runGatehouseToEnd, startDp, type DpHandle } from '../../../e2e/helpers/processes.js';
import { CP_PRIORITY, Fleet, sleep, whenTrue } from '../fleet.js';
import { offsetOf, summarize } from '../load.js';
import { faultInMiddleThird, instrumentLine } from '../middle-third.js';
import { logProbe } from '../probe/report.js';
import { atMost, exactly, p99Delta, type Row } from '../row.js';

// `gatehouse keys` runs where the CP's keys folder is: on the CP's host.
const gatehouse = (args: string[]) => runGatehouseToEnd(args, CP_PRIORITY);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- /status JSON
async function status(dp: DpHandle): Promise<any> {
  try {
    return await (await fetch(`${dp.status}/status`, { signal: AbortSignal.timeout(2000) })).json();
  } catch {
    return null;
  }
}

export const F28: Row = {
  id: 'F28',
  fault: 'signing key rotated, then the old key revoked, under load',
  async run(profile, log) {
    const fleet = await Fleet.start({ dps: 0 });
    const extra: DpHandle[] = [];
    try {
      const cp = fleet.cp!;
      const keysDir = join(fleet.cpDataDir, 'keys');
      const dpDirs = [join(fleet.dir, 'dp-a'), join(fleet.dir, 'dp-b')];
      for (const dataDir of dpDirs) {
        const dp = await startDp({
          cluster: `127.0.0.1:${fleet.clusterPort}`,
          publicKeys: cp.publicKeys,
          rootKey: cp.rootPublicKey,
          tls: cp.dpTlsArgs,
          dataDir,
          workers: 1,
        });
        fleet.dps.push(dp);
        await fleet.waitServing(dp);
      }
      const dps = [...fleet.dps];
      const firstKid = String((await status(dps[0]!)).config.kid);
      // The second DP's cache as signed by the first key: replayed at the end.
      copyFileSync(join(dpDirs[1]!, 'snapshot.pb'), join(dpDirs[1]!, 'first-key.pb'));

      let rotateS = Infinity;
      let revokeS = Infinity;
      let secondKid = '';
      const run = await faultInMiddleThird(
        dps[0]!,
        profile,
        async () => {
          const rotated = await gatehouse([
            'keys',
            'rotate',
            '--root-key',
            cp.rootPrivateKey,
            '--dir',
            keysDir,
          ]);
          if (rotated.code !== 0) throw new Error(`keys rotate: ${rotated.output}`);
          const rotatedAt = performance.now();
          secondKid = /kid:\s+(\S+)/.exec(rotated.output)?.[1] ?? '';
          const on = await whenTrue(async () => {
            for (const dp of dps) if ((await status(dp))?.config?.kid !== secondKid) return false;
            return true;
          }, 30_000);
          if (on !== null) rotateS = (on - rotatedAt) / 1000;
          const revoked = await gatehouse([
            'keys',
            'revoke',
            firstKid,
            '--root-key',
            cp.rootPrivateKey,
            '--dir',
            keysDir,
          ]);
          if (revoked.code !== 0) throw new Error(`keys revoke: ${revoked.output}`);
          const revokedAt = performance.now();
          const held = await whenTrue(
            async () => dpDirs.every((d) => existsSync(join(d, 'snapshot-revocations.jws'))),
            30_000,
          );
          if (held !== null) revokeS = (held - revokedAt) / 1000;
        },
        async () => {},
      );
      const { record, injectedAt, healedAt } = run;
      const baseline = summarize(record, 1000, offsetOf(record, injectedAt));
      const keys = summarize(record, offsetOf(record, injectedAt), offsetOf(record, healedAt));
      const all = summarize(record);
      const windows = [
        { name: 'baseline', from: record.startedAt + 1000, to: injectedAt },
        { name: 'keys change', from: injectedAt, to: healedAt },
      ];
      log(instrumentLine(run, windows));
      logProbe(windows, log, record.startedAt + profile.durationMs);

      // The replay: the CP gone, the second DP restarted on its cache signed by the revoked key.
      await fleet.stopCp('SIGKILL');
      const b = dps[1]!;
      await b.proc.stop();
      copyFileSync(join(dpDirs[1]!, 'first-key.pb'), join(dpDirs[1]!, 'snapshot.pb'));
      const replay = await startDp({
        cluster: `127.0.0.1:${await freePort()}`,
        publicKeys: cp.publicKeys,
        rootKey: cp.rootPublicKey,
        tls: cp.dpTlsArgs,
        dataDir: dpDirs[1]!,
        workers: 1,
        waitReady: false,
      });
      extra.push(replay);
      const refusedAt = await whenTrue(
        async () => (await status(replay))?.cache?.last_refusal?.code === 'GH_ERR_SNAPSHOT_KEY_REVOKED',
        30_000,
      );
      await sleep(500);
      const after = await status(replay);
      log(
        `key ${firstKid} → ${secondKid}: every DP on it after ${rotateS.toFixed(2)} s; list held after ${revokeS.toFixed(2)} s; baseline p99 ${baseline.p99Ms} ms, during ${keys.p99Ms} ms; replayed cache ${refusedAt === null ? 'not refused' : 'refused'}, config ${JSON.stringify(after?.config ?? null)}`,
      );
      return [
        exactly('failed requests', all.failed, 0, all.requests),
        p99Delta(`p99 while keys change (CP side at nice ${CP_PRIORITY})`, baseline.p99Ms, keys.p99Ms, 2),
        atMost('every DP verifying with the new key after the rotation', rotateS, 3, 's'),
        atMost(
          'every DP holding the revocation list after the revocation',
          rotateS === Infinity ? Infinity : revokeS,
          3,
          's',
        ),
        exactly(
          'replayed cache signed by the revoked key refused',
          refusedAt !== null && after?.config === null ? 1 : 0,
          1,
          1,
        ),
      ];
    } finally {
      await Promise.all(extra.map((dp) => dp.proc.stop()));
      await fleet.close();
    }
  },
};
