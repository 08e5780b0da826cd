/**
 * The real control plane (Admin API, store, publisher, cluster server) and the real data plane
 * (config client, verification, worker pool, proxy) in one test, over real sockets, against both
 * databases: a change written through the Admin API is served by the connected data plane.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '@gatehouse/control-plane';
import { startDataPlane, type DataPlane } from '@gatehouse/data-plane';
import { devDataPlaneTlsFiles } from '@gatehouse/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, quietLogger, DB_KINDS } from '../helpers/db.js';

const tmp = (p: string) => mkdtemp(join(tmpdir(), `gh-sync-${p}-`));

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(DB_KINDS)('control plane on %s syncing a data plane', (kind) => {
  let cp: ControlPlane;
  let dp: DataPlane;
  let upstream: Server;
  let upstreamUrl: string;
  let dropDb: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    upstream = createServer((req, res) => res.end(JSON.stringify({ url: req.url })));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    let databaseUrl: string | undefined;
    if (kind === 'postgres') {
      const pg = await createPostgresDatabase();
      databaseUrl = pg.url;
      dropDb = () => pg.drop();
    }
    const cpDir = await tmp('cp');
    cp = await startControlPlane({
      adminListen: { host: '127.0.0.1', port: 0 },
      clusterListen: { host: '127.0.0.1', port: 0 },
      dataDir: cpDir,
      databaseUrl,
      dev: true,
      logger: quietLogger('cp'),
    });
    dp = await startDataPlane({
      controlPlane: cp.clusterAddress,
      clusterTls: devDataPlaneTlsFiles(cpDir), // what the CP's dev mode generated
      trustedKeyFiles: [join(cpDir, 'keys', 'snapshot-signing.jwks.json')],
      dataDir: await tmp('dp'),
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: 0 },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger: quietLogger('dp'),
    });
    await until('data plane ready', async () => dp.ready());
  });

  afterAll(async () => {
    await dp?.stop();
    await cp?.stop();
    await dropDb?.();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${cp.adminUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('serves a route written through the Admin API, then its update, then stops serving it when deleted', async () => {
    expect((await admin('POST', '/services', { name: 'up', url: `${upstreamUrl}/base` })).status).toBe(201);
    expect((await admin('POST', '/services/up/routes', { name: 'r', paths: ['/one'] })).status).toBe(201);
    const proxy = () => `http://127.0.0.1:${dp.proxyPort()}`;
    await until('route served', async () => (await fetch(`${proxy()}/one/x`)).status === 200);
    expect(await (await fetch(`${proxy()}/one/x`)).json()).toEqual({ url: '/base/x' });

    expect((await admin('PATCH', '/routes/r', { paths: ['/two'] })).status).toBe(200);
    await until('updated route served', async () => (await fetch(`${proxy()}/two/y`)).status === 200);
    expect((await fetch(`${proxy()}/one/x`)).status).toBe(404);

    expect((await admin('DELETE', '/routes/r')).status).toBe(204);
    await until('deleted route gone', async () => (await fetch(`${proxy()}/two/y`)).status === 404);
    const body = (await (await fetch(`${proxy()}/two/y`)).json()) as { message: string };
    expect(body.message).toBe('no Route matched with those values');
  });

  it('shows the data plane in sync with the newest snapshot', async () => {
    await until('data plane acked the newest config', async () => {
      const status = (await (await admin('GET', '/clustering/status')).json()) as Record<
        string,
        { config_hash?: string }
      >;
      const cpHash = status.control_plane?.config_hash;
      return cpHash !== undefined && status[dp.nodeId]?.config_hash === cpHash;
    });
    const list = (await (await admin('GET', '/clustering/data-planes')).json()) as {
      data: Record<string, unknown>[];
    };
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ id: dp.nodeId, sync_status: 'normal', connected: true });
  });
});
