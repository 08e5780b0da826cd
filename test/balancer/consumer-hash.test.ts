import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { completeConfig, createLogger, type KeyAuthCredential } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/registry.js';
import { call, route, service } from '../proxy/helpers.js';
import { consumer, plugin } from '../plugins/auth/helpers.js';
import { namedServer, target, upstream, type Answer, type NamedServer } from './fixtures.js';

const now = Math.floor(Date.now() / 1000);
const credential = (n: number): KeyAuthCredential => ({
  id: `k${n}`,
  consumer: { id: `user${n}` },
  key: `key-${n}`,
  ttl: null,
  tags: null,
  created_at: now,
});

describe('consistent hashing on the authenticated consumer (key-auth in front of a balanced service)', () => {
  const servers: NamedServer[] = [];
  let proxy: ProxyServer;
  let port: number;

  beforeAll(async () => {
    for (const n of ['a', 'b', 'c']) servers.push(await namedServer(n));
    proxy = new ProxyServer({
      logger: createLogger('test-consumer-hash', { level: 'silent' }),
      plugins: await loadPluginRegistry(),
    });
    const up = upstream('u1', 'pool.consumers', {
      algorithm: 'consistent-hashing',
      hash_on: 'consumer',
      hash_fallback: 'header',
      hash_fallback_header: 'x-fallback',
    });
    proxy.apply(
      completeConfig({
        services: [service('svc', 80, { host: up.name })],
        routes: [route('r', 'svc', { paths: ['/'] })],
        upstreams: [up],
        targets: servers.map((s, i) => target(`t${i}`, 'u1', `127.0.0.1:${s.port}`)),
        consumers: Array.from({ length: 24 }, (_, n) => consumer(`user${n}`)),
        keyauth_credentials: Array.from({ length: 24 }, (_, n) => credential(n)),
        plugins: [plugin('key-auth', {}, { route: { id: 'r' } })],
      }),
    );
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('sends each consumer to one target whatever else varies, and spreads consumers', async () => {
    const chosen = new Set<string>();
    for (let n = 0; n < 24; n++) {
      const first = await call(port, '/x', { headers: { apikey: `key-${n}`, 'x-fallback': 'one' } });
      expect(first.status).toBe(200);
      const server = first.json<Answer>().server;
      for (let k = 0; k < 3; k++) {
        const again = await call(port, `/other-${k}`, {
          headers: { apikey: `key-${n}`, 'x-fallback': `v${k}` },
        });
        expect(again.json<Answer>().server).toBe(server);
      }
      chosen.add(server);
    }
    expect(chosen.size).toBeGreaterThan(1);
  });

  it('does not reach any target when the plugin refuses the request', async () => {
    const before = servers.reduce((s, x) => s + x.seen.length, 0);
    expect((await call(port, '/x')).status).toBe(401);
    expect(servers.reduce((s, x) => s + x.seen.length, 0)).toBe(before);
  });
});
