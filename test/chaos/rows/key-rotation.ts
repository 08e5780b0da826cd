/**
 * F11: signing-key rotation under load, then snapshots signed with a retired or unknown key. The DP
 * trusts the CP's root key (`--cluster-root-key`). `gatehouse keys rotate` adds k2 (the CP signs
 * with it within seconds: the DP must take it, with no failed request); `gatehouse keys revoke k1`
 * retires k1. The CP's test-only snapshot hook then signs a new config (a route more) with: k1 and
 * its certificate, without the revocation list (what a thief of k1 would send); a key of its own
 * with no certificate; a key of its own claiming k2's kid and certificate. Each must be refused,
 * none served.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKeyPair } from '@gatehouse/shared';
import { httpStatus, runGatehouse } from '../../../e2e/helpers/processes.js';
import { appliedConfigs, refusedConfigs } from '../dp-log.js';
import { Fleet, dpStatus, sleep, whenTrue } from '../fleet.js';
import { failed, openLoop } from '../load.js';
import { exactly, holds, type Row } from '../row.js';

/** Runs `gatehouse keys …`; throws unless it exits 0. */
async function keys(args: string[]): Promise<void> {
  const p = runGatehouse('keys', ['keys', ...args]);
  const code = await p.exited;
  if (code !== 0) throw new Error(`gatehouse keys ${args.join(' ')} exited ${code}: ${p.output}`);
}

export const F11: Row = {
  id: 'F11',
  fault: 'signing-key rotation; retired and unknown kids',
  async run(profile, log) {
    const fleet = await Fleet.start({ snapshotHook: true, rootKey: true });
    try {
      const dp = fleet.dps[0]!;
      const cp = fleet.cp!;
      const keysDir = join(fleet.cpDataDir, 'keys');
      const kidNow = async () => (await dpStatus(dp))?.config?.kid ?? null;
      const k1 = await kidNow();
      if (k1 === null) throw new Error('the DP holds no signed config');
      const durationMs = profile.short ? 20_000 : 40_000;
      const load = openLoop({ origin: dp.proxy, path: '/chaos', rate: profile.rate, durationMs });
      await sleep(1000);

      // Rotation: k2 added; the CP re-signs the config with it.
      await keys(['rotate', '--root-key', cp.rootPrivateKey, '--dir', keysDir]);
      const onK2 = await whenTrue(async () => {
        const kid = await kidNow();
        return kid !== null && kid !== k1;
      }, 20_000);
      const k2 = (await kidNow())!;
      // Retirement: k1 revoked; the DP learns the list with the next signed config.
      const revFile = join(dp.dataDir, 'snapshot-revocations.jws');
      await keys(['revoke', k1, '--root-key', cp.rootPrivateKey, '--dir', keysDir]);
      const adopted = await whenTrue(async () => {
        try {
          return readFileSync(revFile, 'utf8').length > 0;
        } catch {
          return false;
        }
      }, 20_000);

      const from = dp.proc.output.length;
      const k1Key = JSON.parse(
        readFileSync(join(keysDir, 'signing-keys', `${k1}.key.json`), 'utf8'),
      ) as object;
      const k1Cert = readFileSync(join(keysDir, 'signing-keys', `${k1}.cert.jws`), 'utf8').trim();
      const k2Cert = readFileSync(join(keysDir, 'signing-keys', `${k2}.cert.jws`), 'utf8').trim();
      const stranger = await generateSigningKeyPair();
      const bad = [
        {
          name: 'retired k1, no revocation list',
          path: '/f11-retired',
          body: { jwk: k1Key, certificate: k1Cert },
        },
        { name: 'unknown key, no certificate', path: '/f11-unknown', body: { jwk: stranger.privateJwk } },
        {
          name: "unknown key claiming k2's kid and certificate",
          path: '/f11-forged',
          body: { jwk: { ...stranger.privateJwk, kid: k2 }, certificate: k2Cert },
        },
      ];
      for (const [i, b] of bad.entries()) {
        await fleet.hookDo('/sign', { ...b.body, path: b.path });
        await whenTrue(async () => refusedConfigs(dp.proc.output, from).length > i, 10_000);
      }
      const record = await load;
      let failures = 0;
      for (let i = 0; i < record.status.length; i++) if (failed(record, i)) failures++;

      const refused = refusedConfigs(dp.proc.output, from);
      const applied = appliedConfigs(dp.proc.output, from).filter((a) => a.kid !== k2);
      let served = 0;
      for (const b of bad) if ((await httpStatus(`${dp.proxy}${b.path}`)) === 200) served++;
      const kidAfter = await kidNow();
      log(
        `k1 ${k1} → k2 ${k2} (${onK2 === null ? 'never' : 'taken'}); revocation list ${adopted === null ? 'not seen' : 'adopted'}; ` +
          `refused: ${refused.map((r) => `${r.code} kid ${r.kid}`).join(', ')}; failed ${failures} of ${record.status.length}`,
      );
      return [
        holds('new key k2 taken during the overlap', onK2 !== null),
        exactly('proxied failures during the rotation', failures, 0, record.status.length),
        holds('revocation of k1 reached the DP', adopted !== null),
        exactly('bad-kid snapshots refused', Math.min(refused.length, bad.length), bad.length, bad.length),
        exactly('bad-kid accepts (applied or served)', applied.length + served, 0),
        holds('still on k2 afterwards', kidAfter === k2),
      ];
    } finally {
      await fleet.close();
    }
  },
};
