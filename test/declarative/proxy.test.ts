import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type GatehouseConfig } from '@gatehouse/shared';
import { ProxyServer } from '@gatehouse/data-plane';
import { importDeclarative } from '../../control-plane/src/declarative/index.js';
import { call, startUpstream, type Upstream } from '../proxy/helpers.js';
import { openStore, plugins, readCorpus, type StoreFixture } from './helpers.js';

/** Points every service (and upstream target) of an imported config at the test upstream. */
function aimAt(config: GatehouseConfig, port: number): GatehouseConfig {
  return {
    ...config,
    services: config.services.map((s) => ({ ...s, protocol: 'http', host: '127.0.0.1', port, path: null })),
    upstreams: [],
    targets: [],
  };
}

describe('the proxy serves imported declarative files as configured', () => {
  let fx: StoreFixture;
  let upstream: Upstream;
  let proxy: ProxyServer;
  let port: number;

  beforeAll(async () => {
    fx = await openStore('pglite');
    upstream = await startUpstream();
    proxy = new ProxyServer({
      logger: createLogger('test', { level: 'silent' }),
      plugins: await plugins(),
    });
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await fx?.db.drop();
  });

  async function serve(file: string) {
    await importDeclarative(fx.store, readCorpus(file), { plugins: fx.plugins });
    proxy.apply(aimAt((await fx.store.readConfig()).config, upstream.port));
  }

  it('01-minimal: routes /echo to the service, strips the path, 404 elsewhere', async () => {
    await serve('01-minimal.yaml');
    const ok = await call(port, '/echo/x?q=1');
    expect(ok.status).toBe(200);
    expect(ok.json().url).toBe('/x?q=1');
    expect((await call(port, '/other')).status).toBe(404);
  });

  it('15-auth-proxy: key-auth and acl guard /private, /public stays open', async () => {
    await serve('15-auth-proxy.yaml');
    expect((await call(port, '/public')).status).toBe(200);
    expect((await call(port, '/private')).status).toBe(401);
    expect((await call(port, '/private', { headers: { apikey: 'wrong' } })).status).toBe(401);
    expect((await call(port, '/private', { headers: { apikey: 'outsider-key' } })).status).toBe(403);
    const ok = await call(port, '/private', { headers: { apikey: 'reader-key' } });
    expect(ok.status).toBe(200);
    expect(ok.json().headers['x-consumer-username']).toBe('reader');
  });

  it('05-flat.json: flat references wire key-auth (custom key name) and acl onto the route', async () => {
    await serve('05-flat.json');
    expect((await call(port, '/inventory')).status).toBe(401);
    expect((await call(port, '/inventory', { headers: { 'x-api-key': 'warehouse-key-1' } })).status).toBe(
      200,
    );
    expect(
      (await call(port, '/inventory', { method: 'POST', headers: { 'x-api-key': 'warehouse-key-1' } }))
        .status,
    ).toBe(404);
  });

  it('04-flat-references: cors on a route referenced by name answers preflights; routes by id and by record work', async () => {
    await serve('04-flat-references.yaml');
    const preflight = await call(port, '/users', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.test', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.test');
    expect((await call(port, '/orders/1')).status).toBe(200);
    expect((await call(port, '/v2/orders')).status).toBe(200);
  });

  it('03-routes-all-fields: methods, hosts, headers and regex paths match as declared', async () => {
    await serve('03-routes-all-fields.yaml');
    const headers = { host: 'shop.example.test', 'x-api-version': '2', 'x-tenant': 'acme' };
    const ok = await call(port, '/items/42', { headers });
    expect(ok.status).toBe(200);
    expect(ok.json().url).toBe('/items/42');
    expect(ok.json().headers.host).toBe('shop.example.test');
    expect((await call(port, '/items/42', { headers: { ...headers, 'x-tenant': 'other' } })).status).toBe(
      404,
    );
    expect((await call(port, '/items/42', { method: 'DELETE', headers })).status).toBe(404);
  });
});
