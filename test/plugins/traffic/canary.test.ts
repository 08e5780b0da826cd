/**
 * The canary plugin through a real ProxyServer in front of real upstream servers: the request
 * target switched to a host/port, to an upstream entity (balanced), or only the path; the
 * fallback to the primary service when the canary upstream has no healthy target.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, createLogger, type Plugin } from '@gatehouse/shared';
import { ProxyServer } from '../../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../../data-plane/src/plugins/registry.js';
import { namedServer, target, upstream, type Answer, type NamedServer } from '../../balancer/fixtures.js';
import { call, closedPort, route, service } from '../../proxy/helpers.js';
import { plugin } from '../auth/helpers.js';

describe('plugin canary (through the proxy)', () => {
  let primary: NamedServer;
  let canary: NamedServer;
  let canaryB: NamedServer;
  let proxy: ProxyServer;
  let port: number;

  const onRoute = (id: string, config: Record<string, unknown>): Plugin =>
    plugin('canary', config, { route: { id } });

  beforeAll(async () => {
    primary = await namedServer('primary');
    canary = await namedServer('canary');
    canaryB = await namedServer('canary-b');
    const dead = await closedPort();
    const passive = upstream('u-dead', 'dead.pool');
    passive.healthchecks.passive.unhealthy.tcp_failures = 1;
    proxy = new ProxyServer({
      logger: createLogger('canary-test', { level: 'silent' }),
      plugins: await loadPluginRegistry(),
    });
    const routes = ['host', 'split', 'uri', 'up', 'fb', 'nofb', 'dead-fb', 'preserve', 'svc-scoped'];
    proxy.apply(
      completeConfig({
        services: [
          service('svc', primary.port, { retries: 0 }),
          service('svc2', primary.port, { path: '/base' }),
        ],
        routes: routes.map((r) =>
          route(r, r === 'svc-scoped' ? 'svc2' : 'svc', {
            paths: [`/${r}`],
            preserve_host: r === 'preserve',
          }),
        ),
        upstreams: [upstream('u-canary', 'canary.pool'), upstream('u-empty', 'empty.pool'), passive],
        targets: [
          target('t1', 'u-canary', `127.0.0.1:${canary.port}`),
          target('t2', 'u-canary', `127.0.0.1:${canaryB.port}`),
          target('t3', 'u-dead', `127.0.0.1:${dead}`),
        ],
        plugins: [
          onRoute('host', {
            hash: 'none',
            percentage: 100,
            upstream_host: '127.0.0.1',
            upstream_port: canary.port,
          }),
          onRoute('split', {
            hash: 'header',
            hash_header: 'x-user',
            percentage: 30,
            upstream_port: canary.port,
            canary_by_header_name: 'x-canary',
          }),
          onRoute('uri', { hash: 'none', percentage: 100, upstream_uri: '/v2/items' }),
          onRoute('up', {
            hash: 'none',
            percentage: 100,
            upstream_host: 'canary.pool',
            upstream_uri: '/pool',
          }),
          onRoute('fb', {
            hash: 'none',
            percentage: 100,
            upstream_host: 'empty.pool',
            upstream_fallback: true,
          }),
          onRoute('nofb', { hash: 'none', percentage: 100, upstream_host: 'empty.pool' }),
          onRoute('dead-fb', {
            hash: 'none',
            percentage: 100,
            upstream_host: 'dead.pool',
            upstream_fallback: true,
          }),
          onRoute('preserve', { hash: 'none', percentage: 100, upstream_port: canary.port }),
          plugin(
            'canary',
            { hash: 'none', percentage: 100, upstream_port: canary.port },
            { service: { id: 'svc2' } },
          ),
        ],
      }),
    );
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([primary, canary, canaryB].map((s) => s?.close()));
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const reply = await call(port, path, { headers });
    return { status: reply.status, answer: reply.status === 200 ? reply.json<Answer>() : null, reply };
  };

  it('sends the request to upstream_host:upstream_port, with its Host header and the same (stripped) path', async () => {
    const { status, answer } = await get('/host/x?q=1');
    expect(status).toBe(200);
    expect(answer).toMatchObject({ server: 'canary', url: '/x?q=1', host: `127.0.0.1:${canary.port}` });
  });

  it('keeps the client Host header on a route that preserves it', async () => {
    const { answer } = await get('/preserve', { host: 'client.example' });
    expect(answer).toMatchObject({ server: 'canary', host: 'client.example' });
  });

  it('compiles a service-scoped instance for the service, whose path still applies', async () => {
    const { answer } = await get('/svc-scoped/x');
    expect(answer).toMatchObject({ server: 'canary', url: '/base/x' });
  });

  it('replaces only the path with upstream_uri (same service target, query string kept)', async () => {
    const { answer } = await get('/uri/anything?a=1');
    expect(answer).toMatchObject({ server: 'primary', url: '/v2/items?a=1' });
  });

  it('balances over the targets of an upstream entity named by upstream_host', async () => {
    const seen = new Set<string>();
    for (let n = 0; n < 6; n++) {
      const { answer } = await get('/up/x');
      expect(answer?.url).toBe('/pool');
      seen.add(answer!.server);
    }
    expect(seen).toEqual(new Set(['canary', 'canary-b']));
  });

  // 400 distinct users, 30 % of 1000 buckets open: Binomial(400, 0.3), mean 120, σ ≈ 9.2; the
  // values are fixed so the count is too, and ±6σ (±55) is the bound a uniform hash meets.
  it('splits distinct users within 6σ of the percentage and keeps each user on one side', async () => {
    const side = new Map<string, string>();
    for (let n = 0; n < 400; n++) {
      const { answer } = await get('/split', { 'x-user': `user-${n}` });
      side.set(`user-${n}`, answer!.server);
    }
    const onCanary = [...side.values()].filter((s) => s === 'canary').length;
    expect(Math.abs(onCanary - 120)).toBeLessThanOrEqual(55);
    for (let n = 0; n < 40; n++) {
      const { answer } = await get('/split', { 'x-user': `user-${n}` });
      expect(answer!.server).toBe(side.get(`user-${n}`));
    }
  });

  it('routes by canary_by_header_name: always to the canary, never to the primary', async () => {
    const users = [...Array(50).keys()].map((n) => `user-${n}`);
    for (const u of users.slice(0, 10)) {
      expect((await get('/split', { 'x-user': u, 'x-canary': 'always' })).answer!.server).toBe('canary');
      expect((await get('/split', { 'x-user': u, 'x-canary': 'never' })).answer!.server).toBe('primary');
    }
  });

  it('upstream_fallback: sends to the primary service when the canary upstream has no healthy target', async () => {
    const { answer } = await get('/fb/x');
    expect(answer).toMatchObject({ server: 'primary', url: '/x' });
  });

  it('without upstream_fallback, a canary upstream with no healthy target answers 503', async () => {
    const { status, reply } = await get('/nofb/x');
    expect(status).toBe(503);
    expect(JSON.parse(reply.body.toString())).toEqual({
      message: 'failure to get a peer from the ring-balancer',
    });
  });

  it('upstream_fallback: once passive checks mark the canary target down, traffic returns to the primary', async () => {
    const before = primary.seen.length;
    const first = await get('/dead-fb/x');
    expect([502, 503]).toContain(first.status);
    const { answer } = await get('/dead-fb/x');
    expect(answer).toMatchObject({ server: 'primary' });
    expect(primary.seen.length).toBe(before + 1);
  });
});
