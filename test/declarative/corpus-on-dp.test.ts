/**
 * Every corpus file, loaded the way a DB-less data plane loads it, compiles on a data plane as it
 * is (router, plugin chains, upstream balancers, certificates); and an upstream file balances
 * real traffic with its host_header when its targets point at a real server.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, loadDeclarativeFile } from '@gatehouse/shared';
import { ProxyServer } from '@gatehouse/data-plane';
import { call, startUpstream } from '../proxy/helpers.js';
import { CORPUS_DIR, corpusFiles, plugins } from './helpers.js';

const logger = createLogger('test', { level: 'silent' });

describe('the corpus on a data plane', () => {
  const proxies: ProxyServer[] = [];
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
  });

  it.each(corpusFiles())('%s compiles on a data plane as it is', async (file) => {
    const registry = await plugins();
    const config = await loadDeclarativeFile(join(CORPUS_DIR, file), { plugins: registry });
    const proxy = new ProxyServer({ logger, plugins: registry });
    proxies.push(proxy);
    expect(() => proxy.apply(config)).not.toThrow();
  });

  it('08-upstreams-targets: balances a service over its upstream and sends its host_header', async () => {
    const registry = await plugins();
    const config = await loadDeclarativeFile(join(CORPUS_DIR, '08-upstreams-targets.yaml'), {
      plugins: registry,
    });
    const upstream = await startUpstream();
    try {
      const aimed = {
        ...config,
        // Every target at the real server; weights (incl. the disabled one) and algorithms stay.
        targets: config.targets.map((t) => ({ ...t, target: `127.0.0.1:${upstream.port}` })),
        upstreams: config.upstreams.map((u) => ({
          ...u,
          healthchecks: {
            ...u.healthchecks,
            active: {
              ...u.healthchecks.active,
              healthy: { ...u.healthchecks.active.healthy, interval: 0 },
              unhealthy: { ...u.healthchecks.active.unhealthy, interval: 0 },
            },
          },
        })),
      };
      const proxy = new ProxyServer({ logger, plugins: registry });
      proxies.push(proxy);
      proxy.apply(aimed);
      await proxy.listen(0, '127.0.0.1');
      const port = (proxy.server.address() as AddressInfo).port;
      const r = await call(port, '/api/items', { headers: { 'x-user-id': 'u-1' } });
      expect(r.status).toBe(200);
      const seen = r.json();
      expect(seen.url).toBe('/items');
      expect(seen.headers.host).toMatch(/^api\.internal(:\d+)?$/);
    } finally {
      await upstream.close();
    }
  });
});
