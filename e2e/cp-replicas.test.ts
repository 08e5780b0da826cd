/**
 * Two `gatehouse cp` replicas over one Postgres and a nats-server of our own, a data plane on
 * each: a write on CP A reaches the DP on CP B with the same hash as the DP on A; a proxy-cache
 * purge on A empties the cache of both DPs; with NATS stopped both CPs keep serving their own
 * DPs, and when it is back they converge. And the refusal: NATS_URL on the embedded PGlite.
 */
import { cpSync } from 'node:fs';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../test/helpers/db.js';
import { startNatsServer, type NatsServer } from '../test/helpers/nats-server.js';
import {
  adminJson,
  freePort,
  runGatehouse,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

function fresh(url: string): Promise<{ status: number; cache: string | null; key: string | null }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          cache: (res.headers['x-cache-status'] as string | undefined) ?? null,
          key: (res.headers['x-cache-key'] as string | undefined) ?? null,
        }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

interface ClusterStatus {
  control_plane: { config_hash: string | null; version: number | null; cp_id: string };
  messaging: { state: string };
  [dp: string]: unknown;
}
interface DpRow {
  id: string;
  config_hash: string;
  connected: boolean;
  cp_id: string | null;
}

describe('control-plane replicas over one Postgres and NATS', () => {
  let upstream: Server;
  let upstreamUrl: string;
  let nats: NatsServer | null = null;
  let natsPort: number;
  let db: { url: string; drop(): Promise<void> };
  let cpA: CpHandle;
  let cpB: CpHandle;
  let dpA: DpHandle;
  let dpB: DpHandle;

  const startNats = async () => {
    nats = await startNatsServer({ port: natsPort });
  };
  const status = async (cp: CpHandle) =>
    (await adminJson(cp.admin, 'GET', '/clustering/status')).json as ClusterStatus;
  const dataPlanes = async (cp: CpHandle) =>
    ((await adminJson(cp.admin, 'GET', '/clustering/data-planes')).json as { data: DpRow[] }).data;

  /** Both CPs built `hash`... and both DPs hold it (as the shared registry says). */
  async function converged(): Promise<string> {
    let hash = '';
    await waitUntil(
      'both CPs and both DPs hold one config',
      async () => {
        const [a, b] = await Promise.all([status(cpA), status(cpB)]);
        const rows = await dataPlanes(cpB);
        hash = a.control_plane.config_hash ?? '';
        return (
          hash !== '' &&
          b.control_plane.config_hash === hash &&
          b.control_plane.version === a.control_plane.version &&
          rows.length === 2 &&
          rows.every((r) => r.config_hash === hash && r.connected)
        );
      },
      60_000,
    );
    return hash;
  }

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    natsPort = await freePort();
    await startNats();
    db = await createPostgresDatabase();
    const env = { DATABASE_URL: db.url, NATS_URL: `nats://127.0.0.1:${natsPort}` };
    const dirA = tempDir('replica-a');
    cpA = await startCp({ dataDir: dirA, env, args: ['--cp-id', 'cp-a'] });
    // One fleet: replica B signs with the same key and presents the same cluster certificates.
    const dirB = tempDir('replica-b');
    cpSync(join(dirA, 'keys'), join(dirB, 'keys'), { recursive: true });
    cpSync(join(dirA, 'cluster'), join(dirB, 'cluster'), { recursive: true });
    cpB = await startCp({ dataDir: dirB, env, args: ['--cp-id', 'cp-b'] });
    const dpOn = (cp: CpHandle, name: string) =>
      startDp({
        cluster: `127.0.0.1:${cp.clusterPort}`,
        publicKeys: cpA.publicKeys,
        tls: cpA.dpTlsArgs,
        dataDir: tempDir(`replica-${name}`),
        nodeId: name,
        workers: 1,
      });
    [dpA, dpB] = await Promise.all([dpOn(cpA, 'dp-on-a'), dpOn(cpB, 'dp-on-b')]);
    for (const cp of [cpA, cpB])
      await waitUntil('the CP is on NATS', async () => (await status(cp)).messaging.state === 'connected');
  }, 180_000);

  afterAll(async () => {
    await Promise.all([dpA, dpB, cpA, cpB].map((p) => p?.proc.stop()));
    await nats?.kill();
    await db?.drop();
    await new Promise<void>((r) => {
      upstream?.closeAllConnections();
      upstream?.close(() => r());
    });
  });

  it('a write on CP A reaches the DP on CP B with the same hash as the DP on A; each DP is recorded on its replica', async () => {
    expect((await adminJson(cpA.admin, 'POST', '/services', { name: 'up', url: upstreamUrl })).status).toBe(
      201,
    );
    expect(
      (await adminJson(cpA.admin, 'POST', '/services/up/routes', { name: 'cached', paths: ['/cached'] }))
        .status,
    ).toBe(201);
    expect(
      (
        await adminJson(cpA.admin, 'POST', '/routes/cached/plugins', {
          name: 'proxy-cache',
          config: { strategy: 'memory' },
        })
      ).status,
    ).toBe(201);
    await converged();
    await waitUntil(
      'the DP on B serves the route written on A',
      async () => (await fresh(`${dpB.proxy}/cached/x`)).status === 200,
    );
    const rows = await dataPlanes(cpA);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.cp_id]))).toEqual({
      'dp-on-a': 'cp-a',
      'dp-on-b': 'cp-b',
    });
  });

  it('a proxy-cache purge on CP A empties the cache on the DP of CP B too', async () => {
    const warm = async (dp: DpHandle) => {
      let r = await fresh(`${dp.proxy}/cached/p`);
      for (let i = 0; i < 20 && r.cache !== 'Hit'; i++) r = await fresh(`${dp.proxy}/cached/p`);
      expect(r.cache).toBe('Hit');
      return r.key!;
    };
    const key = await warm(dpA);
    expect(await warm(dpB)).toBe(key);
    expect((await adminJson(cpA.admin, 'DELETE', `/proxy-cache/${key}`)).status).toBe(204);
    for (const dp of [dpA, dpB])
      await waitUntil(
        `purge reached ${dp.proxy}`,
        async () => (await fresh(`${dp.proxy}/cached/p`)).cache === 'Miss',
      );
  });

  it('NATS stopped: both CPs keep serving their DPs; NATS back: they converge', async () => {
    await nats?.kill();
    nats = null;
    for (const cp of [cpA, cpB])
      await waitUntil(
        'the CP says NATS is down',
        async () => (await status(cp)).messaging.state === 'disconnected',
        60_000,
      );
    expect(
      (await adminJson(cpA.admin, 'POST', '/services/up/routes', { name: 'only-a', paths: ['/only-a'] }))
        .status,
    ).toBe(201);
    expect(
      (await adminJson(cpB.admin, 'POST', '/services/up/routes', { name: 'only-b', paths: ['/only-b'] }))
        .status,
    ).toBe(201);
    // Each replica pushed its own write to its own DP.
    await waitUntil(
      'DP on A gets the write on A',
      async () => (await fresh(`${dpA.proxy}/only-a`)).status === 200,
    );
    await waitUntil(
      'DP on B gets the write on B',
      async () => (await fresh(`${dpB.proxy}/only-b`)).status === 200,
    );
    expect((await status(cpA)).messaging.state).toBe('disconnected');

    await startNats();
    const hash = await converged();
    for (const dp of [dpA, dpB]) {
      expect((await fresh(`${dp.proxy}/only-a`)).status).toBe(200);
      expect((await fresh(`${dp.proxy}/only-b`)).status).toBe(200);
    }
    expect((await status(cpB)).control_plane.config_hash).toBe(hash);
  });

  it('refuses NATS_URL on the embedded PGlite database, naming DATABASE_URL', async () => {
    const proc = runGatehouse(
      'cp-pglite',
      [
        'cp',
        '--dev',
        '--data-dir',
        tempDir('replica-pglite'),
        '--admin-listen',
        `127.0.0.1:${await freePort()}`,
        '--cluster-listen',
        `127.0.0.1:${await freePort()}`,
        '--nats-url',
        `nats://127.0.0.1:${natsPort}`,
      ],
      { DATABASE_URL: undefined, GATEHOUSE_DATABASE_URL: undefined },
    );
    expect(await proc.exited).toBe(1);
    expect(proc.output).toMatch(/DATABASE_URL/);
    expect(proc.output).toMatch(/GH_ERR_CONFIG_REPLICAS_NEED_POSTGRES/);
  });
});
