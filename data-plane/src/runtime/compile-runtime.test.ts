import { describe, expect, it } from 'vitest';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  type GatehouseConfig,
  type Upstream,
} from '@gatehouse/shared';
import { loadPluginRegistry } from '../plugins/registry.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import { NO_SERVICE_TARGET } from '../proxy/service-targets.js';
import { compileRuntime } from './compile-runtime.js';

const logger = createLogger('compile-runtime-test', { level: 'silent' });

/** An upstream whose active checks would probe every 10 ms, were they started. */
function checkedUpstream(): Upstream {
  const interval = 0.01;
  return {
    id: 'u1',
    name: 'pool.checked',
    algorithm: 'round-robin',
    hash_on: 'none',
    hash_fallback: 'none',
    hash_on_header: null,
    hash_fallback_header: null,
    hash_on_cookie: null,
    hash_on_cookie_path: '/',
    hash_on_query_arg: null,
    hash_fallback_query_arg: null,
    hash_on_uri_capture: null,
    hash_fallback_uri_capture: null,
    slots: 10000,
    healthchecks: {
      active: {
        type: 'http',
        timeout: 1,
        concurrency: 10,
        http_path: '/health',
        https_verify_certificate: true,
        https_sni: null,
        headers: null,
        healthy: { interval, http_statuses: [200], successes: 1 },
        unhealthy: { interval, http_statuses: [500], tcp_failures: 1, timeouts: 1, http_failures: 1 },
      },
      passive: {
        type: 'http',
        healthy: { http_statuses: [200], successes: 0 },
        unhealthy: { http_statuses: [500], tcp_failures: 0, timeouts: 0, http_failures: 0 },
      },
      threshold: 0,
    },
    host_header: null,
    client_certificate: null,
    use_srv_name: false,
    tags: null,
    created_at: 1,
    updated_at: 1,
  };
}

function config(): GatehouseConfig {
  const service = (id: string, host: string) => ({
    ...SERVICE_DEFAULTS,
    id,
    name: id,
    host,
    port: 9,
    created_at: 1,
    updated_at: 1,
  });
  const route = (id: string, serviceId: string, path: string) => ({
    ...ROUTE_DEFAULTS,
    id,
    name: id,
    paths: [path],
    service: { id: serviceId },
    created_at: 1,
    updated_at: 1,
  });
  return completeConfig({
    services: [service('direct', '127.0.0.1'), service('balanced', 'pool.checked')],
    routes: [route('r1', 'direct', '/direct'), route('r2', 'balanced', '/balanced')],
    upstreams: [checkedUpstream()],
    targets: ['127.0.0.1:9', '127.0.0.2:9'].map((address, i) => ({
      id: `t${i}`,
      upstream: { id: 'u1' },
      target: address,
      weight: 100,
      tags: null,
      created_at: 1,
      updated_at: 1,
    })),
    plugins: [
      {
        id: 'p1',
        name: 'request-termination',
        instance_name: null,
        config: { status_code: 503 },
        enabled: true,
        protocols: ['http', 'https'],
        route: { id: 'r1' },
        service: null,
        consumer: null,
        consumer_group: null,
        tags: null,
        created_at: 1,
        updated_at: 1,
      },
    ],
  });
}

/** Handles and requests that keep the event loop busy (timers, sockets, ...). */
const activeResources = () => process.getActiveResourcesInfo().sort();

describe('compileRuntime', () => {
  it('opens no pool, starts no timer or socket, and compiles the same config to equal runtimes', async () => {
    const registry = await loadPluginRegistry();
    const before = activeResources();
    const first = compileRuntime(config(), registry, { logger });
    const second = compileRuntime(config(), registry, { logger });
    // Let anything a compile might have scheduled show up.
    await new Promise((r) => setImmediate(r));
    expect(activeResources()).toEqual(before);

    expect(first.router.size).toBe(2);
    expect(first.plugins?.chains.size).toBe(1);
    expect([...first.pools.keys()]).toEqual(['http://127.0.0.1:9|60000|', 'http://127.0.0.2:9|60000|']);
    // Targets name their pools; none is open.
    for (const t of first.targets) {
      expect(t.pool).toBeNull();
      if (t.balanced !== null) expect(t.balanced.pools).toEqual([]);
    }
    expect(first.upstreams.byName.get('pool.checked')?.targets).toHaveLength(2);
    expect(second.router).toEqual(first.router);
    expect(second.pools).toEqual(first.pools);
    expect(second.targets).toEqual(first.targets);
    expect(second.upstreams).toEqual(first.upstreams);
    expect(second.warnings).toEqual(first.warnings);
  });

  it('reuses the balancer of an unchanged upstream from the runtime served', async () => {
    const served = compileRuntime({ ...config(), plugins: [] }, null, { logger, serving: null });
    const changed = config();
    changed.routes = changed.routes.slice(1);
    const next = compileRuntime({ ...changed, plugins: [] }, null, {
      logger,
      serving: { upstreams: served.upstreams },
    });
    expect(next.upstreams.byId.get('u1')).toBe(served.upstreams.byId.get('u1'));
  });

  // Kong matches a route without a service (and answers 503 once its plugins ran).
  it('routes a route without a service to the no-service target, with its plugin chain', async () => {
    const c = config();
    c.routes.push({ ...c.routes[0]!, id: 'r3', name: 'r3', paths: ['/none'], service: null });
    c.plugins = [{ ...c.plugins[0]!, id: 'p3', route: { id: 'r3' } }];
    const runtime = compileRuntime(c, await loadPluginRegistry(), { logger });
    expect(runtime.router.size).toBe(3);
    const match = runtime.router.match({ method: 'GET', path: '/none', host: undefined, rawHeaders: [] });
    expect(match?.entry.service).toBeNull();
    expect(match?.entry.target).toBe(NO_SERVICE_TARGET);
    expect(match?.entry.chain).not.toBeNull();
    // It names no pool.
    expect(runtime.pools.size).toBe(2);
  });

  it('says what it left out instead of logging it', () => {
    const c = config();
    c.services[0] = { ...c.services[0]!, protocol: 'tcp' };
    const runtime = compileRuntime({ ...c, plugins: [] }, null, { logger });
    expect(runtime.warnings).toEqual([
      {
        message: 'service protocol not proxied; its routes are left out',
        fields: { service: 'direct', protocol: 'tcp' },
      },
    ]);
  });

  it('is swapped in by a ProxyServer: pools open then, and active checks start there', async () => {
    const proxy = new ProxyServer({ logger, plugins: await loadPluginRegistry() });
    try {
      const runtime = proxy.compile(config());
      expect(runtime.targets.every((t) => t.pool === null)).toBe(true);
      proxy.swap(runtime);
      const direct = runtime.targets.find((t) => t.balanced === null)!;
      const balanced = runtime.targets.find((t) => t.balanced !== null)!;
      expect(direct.pool).not.toBeNull();
      expect(balanced.balanced!.pools).toHaveLength(2);
      expect(activeResources()).toContain('Timeout');
    } finally {
      await proxy.close();
    }
  });
});
