/**
 * proxy-cache with a real control plane and two real data planes of two workers each: entries
 * are per worker; a purge through the CP Admin API (Kong's endpoints) travels on each DP's
 * cluster stream to its primary and over IPC to every worker.
 */
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

/** One request on a new connection (so node's cluster spreads them over the workers). */
function fresh(
  url: string,
): Promise<{ status: number; cache: string | null; key: string | null; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          cache: (res.headers['x-cache-status'] as string | undefined) ?? null,
          key: (res.headers['x-cache-key'] as string | undefined) ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('proxy-cache across a control plane and two data planes', () => {
  let upstream: Server;
  let upstreamUrl: string;
  let upstreamHits = 0;
  let cp: CpHandle;
  let dps: DpHandle[];
  let pluginId: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      upstreamHits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ n: upstreamHits, url: req.url }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    cp = await startCp({ dataDir: tempDir('cp-cache') });
    const cluster = `127.0.0.1:${cp.clusterPort}`;
    dps = await Promise.all(
      ['dp-cache-1', 'dp-cache-2'].map((d) =>
        startDp({ cluster, publicKeys: cp.publicKeys, tls: cp.dpTlsArgs, dataDir: tempDir(d), workers: 2 }),
      ),
    );
    expect((await adminJson(cp.admin, 'POST', '/services', { name: 'up', url: upstreamUrl })).status).toBe(
      201,
    );
    expect(
      (await adminJson(cp.admin, 'POST', '/services/up/routes', { name: 'cached', paths: ['/cached'] }))
        .status,
    ).toBe(201);
    const plugin = await adminJson(cp.admin, 'POST', '/routes/cached/plugins', {
      name: 'proxy-cache',
      config: { strategy: 'memory' },
    });
    expect(plugin.status).toBe(201);
    pluginId = plugin.json.id as string;
    for (const dp of dps)
      await waitUntil(
        `proxy-cache on ${dp.proxy}`,
        async () => (await fresh(`${dp.proxy}/cached/a`)).cache !== null,
      );
  }, 180_000);

  afterAll(async () => {
    await Promise.all([cp?.proc.stop(), ...(dps ?? []).map((d) => d.proc.stop())]);
    await new Promise<void>((r) => {
      upstream?.closeAllConnections();
      upstream?.close(() => r());
    });
  });

  /** Requests until every worker of `dp` answers from its cache (6 Hits in a row). */
  async function warm(dp: DpHandle, path: string): Promise<string> {
    let streak = 0;
    let key = '';
    for (let i = 0; i < 60 && streak < 6; i++) {
      const r = await fresh(`${dp.proxy}${path}`);
      expect(r.status).toBe(200);
      key = r.key!;
      streak = r.cache === 'Hit' ? streak + 1 : 0;
    }
    expect(streak).toBe(6);
    return key;
  }

  /** After a purge: waits for a Miss on each DP, then checks every worker missed exactly once. */
  async function expectPurgedEverywhere(path: string): Promise<void> {
    const before = upstreamHits;
    for (const dp of dps)
      await waitUntil(
        `purge reached ${dp.proxy}`,
        async () => (await fresh(`${dp.proxy}${path}`)).cache === 'Miss',
      );
    for (const dp of dps) for (let i = 0; i < 8; i++) await fresh(`${dp.proxy}${path}`);
    // Two DPs of two workers: each worker lost its entry and went upstream once to store it again.
    expect(upstreamHits - before).toBe(4);
  }

  it("keys the same request alike on both data planes and serves it from each worker's memory", async () => {
    const keys = await Promise.all(dps.map((dp) => warm(dp, '/cached/a')));
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(keys[1]).toBe(keys[0]);
    const before = upstreamHits;
    for (const dp of dps) expect((await fresh(`${dp.proxy}/cached/a`)).cache).toBe('Hit');
    expect(upstreamHits).toBe(before);
  });

  it('DELETE /proxy-cache/{key} on the CP purges that key in every worker of both data planes', async () => {
    const key = (await Promise.all(dps.map((dp) => warm(dp, '/cached/b'))))[0]!;
    await Promise.all(dps.map((dp) => warm(dp, '/cached/other')));
    expect((await adminJson(cp.admin, 'DELETE', `/proxy-cache/${key}`)).status).toBe(204);
    await expectPurgedEverywhere('/cached/b');
    // Another key was left alone.
    const before = upstreamHits;
    for (const dp of dps)
      for (let i = 0; i < 4; i++) expect((await fresh(`${dp.proxy}/cached/other`)).cache).toBe('Hit');
    expect(upstreamHits).toBe(before);
  });

  it('DELETE /proxy-cache/{plugin id}/caches/{key} and DELETE /proxy-cache purge on both data planes', async () => {
    const key = (await Promise.all(dps.map((dp) => warm(dp, '/cached/c'))))[0]!;
    expect((await adminJson(cp.admin, 'DELETE', `/proxy-cache/${pluginId}/caches/${key}`)).status).toBe(204);
    await expectPurgedEverywhere('/cached/c');

    await Promise.all(dps.map((dp) => warm(dp, '/cached/d')));
    expect((await adminJson(cp.admin, 'DELETE', '/proxy-cache')).status).toBe(204);
    await expectPurgedEverywhere('/cached/d');
  });

  it('answers GET lookups 404 on the CP, and 404 to a purge naming no proxy-cache plugin', async () => {
    const key = 'f'.repeat(64);
    expect((await adminJson(cp.admin, 'GET', `/proxy-cache/${key}`)).status).toBe(404);
    expect(
      (await adminJson(cp.admin, 'DELETE', `/proxy-cache/00000000-0000-4000-8000-000000000000/caches/${key}`))
        .status,
    ).toBe(404);
  });
});
