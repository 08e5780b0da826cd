import type { AddressInfo } from 'node:net';
import {
  completeConfig,
  createLogger,
  type Consumer,
  type GatehouseConfig,
  type Plugin,
  type PluginProtocol,
} from '@gatehouse/shared';
import { ProxyServer, type ProxyServerOptions } from '../../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../../data-plane/src/plugins/registry.js';
import { route, service, startUpstream, type Upstream } from '../../proxy/helpers.js';

export { call, startUpstream, route, service, type Upstream, type SeenRequest } from '../../proxy/helpers.js';

let n = 0;
const now = Math.floor(Date.now() / 1000);

export function consumer(id: string, fields: Partial<Consumer> = {}): Consumer {
  return { id, username: id, custom_id: null, tags: null, created_at: now, updated_at: now, ...fields };
}

export function plugin(name: string, config: Record<string, unknown>, scope: Partial<Plugin> = {}): Plugin {
  n++;
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    name,
    instance_name: null,
    config,
    protocols: ['grpc', 'grpcs', 'http', 'https'] as PluginProtocol[],
    enabled: true,
    service: null,
    route: null,
    consumer: null,
    consumer_group: null,
    tags: null,
    created_at: now,
    updated_at: now,
    ...scope,
  };
}

/** Everything the proxy logged, as one string (to check that secrets never appear). */
export class LogCapture {
  text = '';
}

export interface Gateway {
  proxy: ProxyServer;
  port: number;
  upstream: Upstream;
  logs: LogCapture;
  apply(partial: Partial<GatehouseConfig>): void;
  /** `apply` after reading the configuration's vault references (as a worker does: prime, compile). */
  applyResolved(partial: Partial<GatehouseConfig>): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real ProxyServer (with the bundled plugin registry) on a real socket in front of an echo
 * upstream. `apply` takes the entities besides the one service `svc` and route `r` (paths ['/']).
 */
export async function startGateway(
  options: {
    customDirs?: string[];
    requestPolicy?: ProxyServerOptions['requestPolicy'];
    vaults?: ProxyServerOptions['vaults'];
  } = {},
): Promise<Gateway> {
  const upstream = await startUpstream();
  const logs = new LogCapture();
  // The gateway's own logger factory (with its redaction), every line captured instead of printed.
  const logger = createLogger('test-gateway', {
    level: 'trace',
    hooks: {
      streamWrite: (line: string) => {
        logs.text += line;
        return '';
      },
    },
  });
  const registry = await loadPluginRegistry(
    options.customDirs === undefined ? {} : { customDirs: options.customDirs },
  );
  const proxy = new ProxyServer({
    logger,
    plugins: registry,
    ...(options.requestPolicy === undefined ? {} : { requestPolicy: options.requestPolicy }),
    ...(options.vaults === undefined ? {} : { vaults: options.vaults }),
  });
  await proxy.listen(0, '127.0.0.1');
  const port = (proxy.server.address() as AddressInfo).port;
  const withDefaults = (partial: Partial<GatehouseConfig>): GatehouseConfig =>
    completeConfig({
      services: [service('svc', upstream.port)],
      routes: [route('r', 'svc', { paths: ['/'] })],
      ...partial,
    });
  return {
    proxy,
    port,
    upstream,
    logs,
    apply(partial) {
      proxy.apply(withDefaults(partial));
    },
    async applyResolved(partial) {
      const config = withDefaults(partial);
      await proxy.prime(config);
      proxy.apply(config);
    },
    async close() {
      await proxy.close();
      await upstream.close();
    },
  };
}
