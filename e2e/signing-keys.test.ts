/**
 * Root-certified signing keys with real processes: a dev CP (root-key mode by default) and a DP
 * given only the root public key. `gatehouse keys rotate` under a request loop fails no request
 * and moves the DP to the new key (GET /clustering/keys shows it, the old key retired);
 * `gatehouse keys revoke` reaches the DP with the next signature, and from then on a snapshot
 * signed with the revoked key (the DP's own earlier cache file, replayed) is refused.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  freePort,
  httpStatus,
  runGatehouseToEnd,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

const gatehouse = runGatehouseToEnd;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- /status and /clustering/keys JSON
const json = async (url: string): Promise<any> =>
  (await fetch(url, { signal: AbortSignal.timeout(5000) })).json();

describe('root-certified signing keys: rotation and revocation', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let dp: DpHandle;
  const cpDir = tempDir('keys-cp');
  const dpDir = tempDir('keys-dp');
  const keysDir = join(cpDir, 'keys');
  let firstKid = '';
  let secondKid = '';

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: cpDir });
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      rootKey: cp.rootPublicKey,
      tls: cp.dpTlsArgs,
      dataDir: dpDir,
      workers: 1,
    });
    expect((await adminJson(cp.admin, 'POST', '/services', { name: 'echo', url: upstream.url })).status).toBe(
      201,
    );
    expect((await adminJson(cp.admin, 'POST', '/services/echo/routes', { paths: ['/echo'] })).status).toBe(
      201,
    );
    await waitUntil('route served', async () => (await httpStatus(`${dp.proxy}/echo`)) === 200);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([dp?.proc.stop(), cp?.proc.stop()]);
    await upstream?.close();
  });

  it('the dev CP signs with a root-certified key and the DP, given only the root key, serves its snapshot', async () => {
    const keys = await json(`${cp.admin}/clustering/keys`);
    expect(keys.mode).toBe('root');
    expect(keys.data).toHaveLength(1);
    firstKid = keys.active_kid;
    expect(keys.data[0]).toMatchObject({ kid: firstKid, status: 'active', certified: true });
    await waitUntil('the DP listed on the key', async () => {
      const k = await json(`${cp.admin}/clustering/keys`);
      return k.data[0].data_planes.length === 1;
    });
    const status = await json(`${dp.status}/status`);
    expect(status.config.kid).toBe(firstKid);
    expect(status.config.expired).toBe(false);
    expect(Date.parse(status.config.expires_at)).toBeGreaterThan(Date.now());
  });

  it('rotates under a request loop with 0 failed requests; the DP moves to the new key, the old one retires', async () => {
    // The DP's cache signed with the first key, kept for the revocation test below.
    copyFileSync(join(dpDir, 'snapshot.pb'), join(dpDir, 'first-key.pb'));
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const loop = (async () => {
      while (!stop) {
        try {
          const status = await httpStatus(`${dp.proxy}/echo`);
          if (status === 200) ok++;
          else failures.push(`status ${status}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    })();
    try {
      await waitUntil('requests flowing', async () => ok > 20);
      const rotated = await gatehouse(['keys', 'rotate', '--root-key', cp.rootPrivateKey, '--dir', keysDir]);
      expect(rotated.code, rotated.output).toBe(0);
      secondKid = /kid:\s+(\S+)/.exec(rotated.output)![1]!;
      expect(secondKid).not.toBe(firstKid);
      await waitUntil(
        'the DP on the new key',
        async () => (await json(`${dp.status}/status`)).config.kid === secondKid,
        60_000,
      );
      await waitUntil('the CP sees the DP on the new key and retires the old one', async () => {
        const k = await json(`${cp.admin}/clustering/keys`);
        const byKid = Object.fromEntries(k.data.map((e: { kid: string }) => [e.kid, e]));
        return (
          k.active_kid === secondKid &&
          byKid[secondKid]?.status === 'active' &&
          byKid[secondKid].data_planes.length === 1 &&
          byKid[firstKid]?.status === 'retired' &&
          byKid[firstKid].data_planes.length === 0
        );
      });
      const before = ok;
      await waitUntil('requests still flowing after the rotation', async () => ok > before + 20);
    } finally {
      stop = true;
      await loop;
    }
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(40);
  });

  it('revokes the old key: the list reaches the DP, and a snapshot signed with the old key is refused', async () => {
    const revoked = await gatehouse([
      'keys',
      'revoke',
      firstKid,
      '--root-key',
      cp.rootPrivateKey,
      '--dir',
      keysDir,
    ]);
    expect(revoked.code, revoked.output).toBe(0);
    await waitUntil('the CP lists the old key as revoked', async () => {
      const k = await json(`${cp.admin}/clustering/keys`);
      const revokedKey = (k.data as { kid: string; status: string }[]).some(
        (e) => e.kid === firstKid && e.status === 'revoked',
      );
      return k.revocation_list_version === 1 && revokedKey;
    });
    // The CP signs again with the list; the DP adopts it and keeps it on disk.
    await waitUntil(
      'the DP holds the revocation list',
      async () => existsSync(join(dpDir, 'snapshot-revocations.jws')),
      60_000,
    );
    expect(await httpStatus(`${dp.proxy}/echo`)).toBe(200);

    // Replay: the DP restarts, with no CP to reach, on its own earlier cache signed by the revoked key.
    await dp.proc.stop();
    copyFileSync(join(dpDir, 'first-key.pb'), join(dpDir, 'snapshot.pb'));
    const deadCluster = `127.0.0.1:${await freePort()}`;
    const replay = await startDp({
      cluster: deadCluster,
      publicKeys: cp.publicKeys,
      rootKey: cp.rootPublicKey,
      tls: cp.dpTlsArgs,
      dataDir: dpDir,
      workers: 1,
      waitReady: false,
    });
    dp = replay;
    await waitUntil(
      'the DP refuses the cache',
      async () => {
        const s = await json(`${replay.status}/status`);
        return s.cache?.last_refusal?.code === 'GH_ERR_SNAPSHOT_KEY_REVOKED';
      },
      60_000,
    );
    const s = await json(`${replay.status}/status`);
    expect(s.config).toBeNull();
    expect(s.ready).toBe(false);
    expect(readFileSync(join(dpDir, 'snapshot-revocations.jws'), 'utf8')).toMatch(/^ey/);
  });
});
