import path from 'node:path';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
} from '../../../shared/dist/index.js';
import { loadPluginRegistry, type PluginRegistry } from '../../../data-plane/src/plugins/index.js';
import { ProxyServer } from '../../../data-plane/src/proxy/proxy-server.js';
import stamp from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('example plugin: stamp', () => {
  let registry: PluginRegistry;
  let upstream: http.Server;
  let proxy: ProxyServer;
  let port: number;

  beforeAll(async () => {
    registry = await loadPluginRegistry({ customDirs: [path.dirname(here)] });
    upstream = http.createServer((req, res) => res.end(JSON.stringify(req.headers)));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    proxy = new ProxyServer({ logger: createLogger('stamp-test', { level: 'silent' }), plugins: registry });
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    upstream.close();
  });

  it('is loaded from its directory with its version and phases', () => {
    expect(registry.list().find((p) => p.name === 'stamp')).toEqual({
      name: 'stamp',
      version: '1.0.0',
      priority: 800,
      phases: ['access', 'response'],
    });
  });

  it('fills defaults and refuses a config without a value', () => {
    expect(registry.validateConfig('stamp', { value: 'v' })).toEqual({
      header_name: 'X-Stamp',
      value: 'v',
      on_response: true,
      with_consumer: false,
    });
    expect(() => registry.validateConfig('stamp', {})).toThrow(/config.value: required field missing/);
  });

  it('initialises state once from the config', () => {
    expect(
      stamp.init!({ header_name: 'X-A', value: 'v', on_response: false, with_consumer: true }, {} as never),
    ).toEqual({
      header: 'x-a',
      value: 'v',
      onResponse: false,
      withConsumer: true,
    });
  });

  it('stamps the upstream request and the response through a real proxy', async () => {
    const now = 1;
    proxy.apply(
      completeConfig({
        services: [
          {
            ...SERVICE_DEFAULTS,
            id: 's',
            name: 's',
            host: '127.0.0.1',
            port: (upstream.address() as AddressInfo).port,
            created_at: now,
            updated_at: now,
          },
        ],
        routes: [
          {
            ...ROUTE_DEFAULTS,
            id: 'r',
            name: 'r',
            paths: ['/'],
            service: { id: 's' },
            created_at: now,
            updated_at: now,
          },
        ],
        plugins: [
          {
            id: 'p',
            name: 'stamp',
            instance_name: null,
            config: { value: 'blue' },
            protocols: ['http', 'https'],
            enabled: true,
            service: null,
            route: null,
            consumer: null,
            consumer_group: null,
            tags: null,
            created_at: now,
            updated_at: now,
          },
        ],
      }),
    );
    const res = await fetch(`http://127.0.0.1:${port}/x`);
    expect(res.headers.get('x-stamp')).toBe('blue');
    expect(((await res.json()) as Record<string, string>)['x-stamp']).toBe('blue');
  });
});
