/**
 * Kong's proxy-cache purge endpoints on the CP Admin API (real store on PGlite): what they
 * answer and what they relay to the data planes (the cluster server's broadcastPurge; the e2e
 * test e2e/proxy-cache.test.ts follows a purge into two real DPs).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import { proxyCacheEndpoints } from '../../control-plane/src/admin/proxy-cache-endpoints.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/index.js';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.js';

type Order = { pluginId: string | null; key: string | null };

const KEY = 'ab'.repeat(32);

describe('proxy-cache purge endpoints', () => {
  let tdb: TestDatabase;
  let server: Server;
  let base: string;
  let pluginId: string;
  let otherPluginId: string;
  const relayed: Order[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase('pglite');
    const logger = quietLogger('admin');
    const store = new ConfigStore(tdb.db, { logger, plugins: await loadPluginRegistry() });
    const relay = {
      broadcastPurge(order: Order) {
        relayed.push(order);
        return 2;
      },
    };
    server = createServer(createAdminApp({ store, logger, routers: [proxyCacheEndpoints(store, relay)] }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pc = await call('POST', '/plugins', { name: 'proxy-cache', config: { strategy: 'memory' } });
    expect(pc.status).toBe(201);
    pluginId = (pc.body as { id: string }).id;
    const other = await call('POST', '/plugins', { name: 'cors' });
    otherPluginId = (other.body as { id: string }).id;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server?.close(() => resolve());
      server?.closeAllConnections();
    });
    await tdb?.drop();
  });
  beforeEach(() => {
    relayed.length = 0;
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
  }

  it('DELETE /proxy-cache purges everything on every DP: 204', async () => {
    expect(await call('DELETE', '/proxy-cache')).toEqual({ status: 204, body: null });
    expect(relayed).toEqual([{ pluginId: null, key: null }]);
  });

  it('DELETE /proxy-cache/{key} purges that key (lower-cased) on every DP: 204', async () => {
    expect((await call('DELETE', `/proxy-cache/${KEY.toUpperCase()}`)).status).toBe(204);
    expect(relayed).toEqual([{ pluginId: null, key: KEY }]);
  });

  it("DELETE /proxy-cache/{plugin}/caches/{key} purges that plugin's key: 204", async () => {
    expect((await call('DELETE', `/proxy-cache/${pluginId}/caches/${KEY}`)).status).toBe(204);
    expect(relayed).toEqual([{ pluginId, key: KEY }]);
  });

  it('answers 404 and relays nothing for an unknown plugin, a plugin that is not proxy-cache, or a key that cannot be one', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const path of [
      `/proxy-cache/${unknown}/caches/${KEY}`,
      `/proxy-cache/${otherPluginId}/caches/${KEY}`,
      `/proxy-cache/${pluginId}/caches/not-a-key`,
      '/proxy-cache/not-a-key',
    ]) {
      const r = await call('DELETE', path);
      expect(r, path).toEqual({ status: 404, body: { message: 'Not found' } });
    }
    expect(relayed).toEqual([]);
  });

  it('answers a GET lookup 404: the entries live in the data planes, not on the CP', async () => {
    const r = await call('GET', `/proxy-cache/${KEY}`);
    expect(r.status).toBe(404);
    expect((r.body as { message: string }).message).toMatch(/data planes/);
    expect((await call('GET', `/proxy-cache/${pluginId}/caches/${KEY}`)).status).toBe(404);
    expect((await call('GET', `/proxy-cache/${otherPluginId}/caches/${KEY}`)).body).toEqual({
      message: 'Not found',
    });
  });

  it('answers 405 to a method the endpoint lacks', async () => {
    expect((await call('POST', '/proxy-cache')).status).toBe(405);
    expect((await call('PUT', `/proxy-cache/${KEY}`)).status).toBe(405);
  });

  it('answers any hostile purge path with a 4xx or 204, never a 500, relaying only real keys', async () => {
    const segment = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', '%00', '%zz', '%2F', KEY, 'caches', ''),
      fc.string({ maxLength: 70 }).map(encodeURIComponent),
      fc.uuid(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'DELETE', 'PATCH'),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        async (method, segments) => {
          // A dot segment is resolved by the URL parser before it is sent: another endpoint.
          fc.pre(!segments.some((x) => /^(\.|%2e){1,2}$/i.test(x)));
          relayed.length = 0;
          const r = await call(method, `/proxy-cache/${segments.join('/')}`);
          expect(r.status === 204 || (r.status >= 400 && r.status < 500), `${r.status}`).toBe(true);
          for (const o of relayed) expect(o.key === null || /^[0-9a-f]{64}$/.test(o.key)).toBe(true);
        },
      ),
      { numRuns: 120 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
