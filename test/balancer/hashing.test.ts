import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, type GatehouseConfig, type Upstream } from '@gatehouse/shared';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { call, route, service, startProxy } from '../proxy/helpers.js';
import { namedServer, target, upstream, type Answer, type NamedServer } from './fixtures.js';

describe('consistent hashing over real sockets', () => {
  const servers: NamedServer[] = [];
  let proxy: ProxyServer | null = null;
  let port = 0;

  beforeAll(async () => {
    for (const n of ['a', 'b', 'c', 'd']) servers.push(await namedServer(n));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
  });

  function cfg(fields: Partial<Upstream>, routePaths = ['/']): GatehouseConfig {
    const up = upstream('u1', 'pool.hash', { algorithm: 'consistent-hashing', ...fields });
    return completeConfig({
      services: [service('svc', 80, { host: up.name })],
      routes: [route('r', 'svc', { paths: routePaths })],
      upstreams: [up],
      targets: servers.map((s, i) => target(`t${i}`, 'u1', `127.0.0.1:${s.port}`)),
    });
  }

  async function start(config: GatehouseConfig): Promise<void> {
    const started = await startProxy(config);
    proxy = started.proxy;
    port = started.port;
  }

  async function server(path: string, headers?: Record<string, string>): Promise<string> {
    const reply = await call(port, path, { headers });
    expect(reply.status).toBe(200);
    return reply.json<Answer>().server;
  }

  it('hash_on header: the same value always reaches the same target; values spread over targets', async () => {
    await start(cfg({ hash_on: 'header', hash_on_header: 'X-User' }));
    const chosen = new Set<string>();
    for (let u = 0; u < 24; u++) {
      const first = await server('/x', { 'x-user': `user-${u}` });
      for (let k = 0; k < 3; k++) expect(await server('/x', { 'x-user': `user-${u}` })).toBe(first);
      chosen.add(first);
    }
    expect(chosen.size).toBeGreaterThan(1);
  });

  it('keeps keys on their target when the ring is rebuilt by a swap that changes nothing for them', async () => {
    const config = cfg({ hash_on: 'header', hash_on_header: 'x-user' });
    await start(config);
    const before = [];
    for (let u = 0; u < 10; u++) before.push(await server('/x', { 'x-user': `u${u}` }));
    proxy!.apply(cfg({ hash_on: 'header', hash_on_header: 'x-user', host_header: 'rebuilt.internal' }));
    for (let u = 0; u < 10; u++) expect(await server('/x', { 'x-user': `u${u}` })).toBe(before[u]);
  });

  it('hash_on cookie: a missing cookie is created (Kong’s Set-Cookie) and then sticks', async () => {
    await start(cfg({ hash_on: 'cookie', hash_on_cookie: 'gh-sticky', hash_on_cookie_path: '/app' }));
    const first = await call(port, '/x');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(/^gh-sticky=[0-9a-f-]{36}; Path=\/app; Same-Site=Lax; HttpOnly$/);
    const value = setCookie.split(';')[0]!;
    const target = first.json<Answer>().server;
    for (let k = 0; k < 5; k++) {
      const reply = await call(port, '/x', { headers: { cookie: `other=1; ${value}` } });
      expect(reply.json<Answer>().server).toBe(target);
      expect(reply.headers['set-cookie']).toBeUndefined();
    }
  });

  it('hash_on query_arg, falling back to a header when the argument is missing', async () => {
    await start(
      cfg({
        hash_on: 'query_arg',
        hash_on_query_arg: 'tenant',
        hash_fallback: 'header',
        hash_fallback_header: 'x-tenant',
      }),
    );
    const chosen = new Set<string>();
    for (let t = 0; t < 16; t++) {
      const byArg = await server(`/x?tenant=t${t}`);
      expect(await server(`/y?a=1&tenant=t${t}`)).toBe(byArg);
      chosen.add(byArg);
      const byHeader = await server('/x', { 'x-tenant': `h${t}` });
      expect(await server('/z', { 'x-tenant': `h${t}` })).toBe(byHeader);
    }
    expect(chosen.size).toBeGreaterThan(1);
  });

  it('hash_on uri_capture uses the route’s named regex capture', async () => {
    await start(
      cfg({ hash_on: 'uri_capture', hash_on_uri_capture: 'account' }, ['~/accounts/(?<account>\\w+)']),
    );
    const chosen = new Set<string>();
    for (let n = 0; n < 16; n++) {
      const first = await server(`/accounts/acc${n}/orders`);
      expect(await server(`/accounts/acc${n}/profile`)).toBe(first);
      chosen.add(first);
    }
    expect(chosen.size).toBeGreaterThan(1);
  });

  it('hash_on ip and path are sticky', async () => {
    await start(cfg({ hash_on: 'ip' }));
    const byIp = await server('/a');
    for (let k = 0; k < 5; k++) expect(await server(`/p${k}`)).toBe(byIp);
    proxy!.apply(cfg({ hash_on: 'path' }));
    for (let k = 0; k < 8; k++) {
      const first = await server(`/path-${k}`);
      expect(await server(`/path-${k}`)).toBe(first);
    }
  });

  it('a target marked down only moves its own keys', async () => {
    await start(cfg({ hash_on: 'header', hash_on_header: 'x-user' }));
    const before: string[] = [];
    for (let u = 0; u < 30; u++) before.push(await server('/x', { 'x-user': `u${u}` }));
    const down = before[0]!;
    const downServer = servers.find((s) => s.name === down)!;
    expect(proxy!.balancers.setTargetHealth('pool.hash', `127.0.0.1:${downServer.port}`, false)).toBe(true);
    for (let u = 0; u < 30; u++) {
      const now = await server('/x', { 'x-user': `u${u}` });
      if (before[u] === down) expect(now).not.toBe(down);
      else expect(now).toBe(before[u]);
    }
  });
});
