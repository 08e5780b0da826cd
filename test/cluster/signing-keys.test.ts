/**
 * Root-certified signing keys with the real control plane and data plane over gRPC (PGlite): the
 * dev CP makes a root key and signs with a certified key; a DP given only the root public key
 * serves its config; `GET /clustering/keys` follows a rotation (active / retired, the DP on each)
 * and a revocation; a short snapshot TTL is re-signed before it expires, and a DP cut off from the
 * CP past it keeps serving and raises the alert (status, metric).
 */
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '@gatehouse/control-plane';
import { startDataPlane, type DataPlane } from '@gatehouse/data-plane';
import { devDataPlaneTlsFiles } from '@gatehouse/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeSigningKey, rotateSigningKey } from '../../control-plane/src/keys/index.js';
import { quietLogger } from '../helpers/db.js';

const tmp = (p: string) => mkdtemp(join(tmpdir(), `gh-keys-${p}-`));

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of several shapes
const getJson = async (url: string): Promise<any> => (await fetch(url)).json();

describe('root-certified signing keys between a real CP and DP', () => {
  let cp: ControlPlane | null = null;
  let dp: DataPlane;
  let upstream: Server;
  let cpDir: string;
  let dpDir: string;

  beforeAll(async () => {
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    cpDir = await tmp('cp');
    dpDir = await tmp('dp');
    cp = await startControlPlane({
      adminListen: { host: '127.0.0.1', port: 0 },
      clusterListen: { host: '127.0.0.1', port: 0 },
      dataDir: cpDir,
      dev: true,
      // Re-signed every second: the DP's expiry moves forward while the CP is up.
      snapshotTtlSeconds: 2,
      signingKeysReloadMs: 200,
      logger: quietLogger('cp'),
    });
    dp = await startDataPlane({
      controlPlane: cp.clusterAddress,
      clusterTls: devDataPlaneTlsFiles(cpDir),
      clusterRootKeyFile: join(cpDir, 'keys', 'snapshot-root.pub.json'),
      dataDir: dpDir,
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: 0 },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger: quietLogger('dp'),
    });
    const port = (upstream.address() as { port: number }).port;
    const post = (path: string, body: unknown) =>
      fetch(`${cp!.adminUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/services', { name: 'up', url: `http://127.0.0.1:${port}` })).status).toBe(201);
    expect((await post('/services/up/routes', { paths: ['/k'] })).status).toBe(201);
    await until(
      'route served',
      async () => (await fetch(`http://127.0.0.1:${dp.proxyPort()}/k`)).status === 200,
    );
  });

  afterAll(async () => {
    await dp?.stop();
    await cp?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const status = () => getJson(`http://127.0.0.1:${dp.statusAddress.port}/status`);
  const keys = () => getJson(`${cp!.adminUrl}/clustering/keys`);

  it('lists the one certified key as active with the DP on it; other methods get 405', async () => {
    await until('the DP on the key', async () => (await keys()).data[0]?.data_planes.length === 1);
    const k = await keys();
    expect(k).toMatchObject({ mode: 'root', revocation_list_version: null, data_planes_without_kid: [] });
    expect(k.data).toHaveLength(1);
    expect(k.data[0]).toMatchObject({
      kid: k.active_kid,
      status: 'active',
      certified: true,
      validity: 'valid',
    });
    expect((await status()).config.kid).toBe(k.active_kid);
    const post = await fetch(`${cp!.adminUrl}/clustering/keys`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.json()).toHaveProperty('message');
  });

  it('re-signs before the snapshot expires: the DP holds a later expiry and never an expired one', async () => {
    const first = (await status()).config.expires_at as string;
    await until('a re-signed snapshot', async () => (await status()).config.expires_at > first);
    expect((await status()).config.expired).toBe(false);
  });

  it('a rotation moves the DP to the new key and retires the old one; a revocation is listed and reaches the DP', async () => {
    const old = (await keys()).active_kid as string;
    const rotated = await rotateSigningKey(
      join(cpDir, 'keys'),
      join(cpDir, 'keys', 'snapshot-root.key.json'),
    );
    await until('DP on the new key', async () => (await status()).config.kid === rotated.kid);
    await until('old key retired', async () => {
      const k = await keys();
      const byKid = new Map(k.data.map((e: { kid: string }) => [e.kid, e]));
      return (
        k.active_kid === rotated.kid &&
        (byKid.get(old) as { status: string } | undefined)?.status === 'retired' &&
        (byKid.get(rotated.kid) as { data_planes: unknown[] } | undefined)?.data_planes.length === 1
      );
    });
    await revokeSigningKey(join(cpDir, 'keys'), join(cpDir, 'keys', 'snapshot-root.key.json'), old);
    await until('old key revoked', async () => {
      const k = await keys();
      return (
        k.revocation_list_version === 1 &&
        k.data.find((e: { kid: string }) => e.kid === old)?.status === 'revoked'
      );
    });
    await until('the DP holds the list', async () => existsSync(join(dpDir, 'snapshot-revocations.jws')));
    // The CP refuses to revoke the key it signs with when no other is left.
    await expect(
      revokeSigningKey(join(cpDir, 'keys'), join(cpDir, 'keys', 'snapshot-root.key.json'), rotated.kid),
    ).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID_SETTING' });
  });

  it('a DP cut off past the expiry keeps serving and raises the alert (status and metric)', async () => {
    await cp!.stop();
    cp = null;
    await until('snapshot expired', async () => (await status()).config.expired === true);
    expect((await fetch(`http://127.0.0.1:${dp.proxyPort()}/k`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${dp.statusAddress.port}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_dp_snapshot_expired 1$/m);
  });
});
