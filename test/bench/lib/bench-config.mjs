// The configuration of the in-process bench candidates (gatehouse-candidate.mjs,
// plugin-cost-loop.mjs): one service -> 127.0.0.1:<upstreamPort>, one route /echo (strip_path
// false), and the listed plugins on the route (comma-separated):
//   key-auth       key_names ["x-api-key"], one consumer whose key is `apiKey`
//   jwt            header_names ["x-api-key"], one consumer with the HS256 secret of bench-jwt.mjs
//   rate-limiting  policy local, a minute limit no run reaches (the cost of counting, never a 429)
//   proxy-cache    strategy memory, the echo response cached (every measured request is a hit)
//   waf            the waf plugin's defaults (block, paranoia level 1)
//   waf-pl4        the waf plugin at paranoia level 4 in detect mode (every rule runs)
// Returns the Kong-shaped config to pass through shared's completeConfig.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_JWT_KEY, BENCH_JWT_SECRET } from '../bench-jwt.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { SERVICE_DEFAULTS, ROUTE_DEFAULTS } = await import(
  join(resolve(here, '../../..'), 'shared/dist/index.js')
);

export const BENCH_PLUGINS = ['key-auth', 'jwt', 'rate-limiting', 'proxy-cache', 'waf', 'waf-pl4'];

export function benchConfig({ upstreamPort, plugins, apiKey }) {
  const now = Math.floor(Date.now() / 1000);
  const config = {
    services: [
      {
        ...SERVICE_DEFAULTS,
        id: 'bench-service',
        name: 'bench',
        host: '127.0.0.1',
        port: upstreamPort,
        created_at: now,
        updated_at: now,
      },
    ],
    routes: [
      {
        ...ROUTE_DEFAULTS,
        id: 'bench-route',
        name: 'echo',
        paths: ['/echo'],
        strip_path: false,
        service: { id: 'bench-service' },
        created_at: now,
        updated_at: now,
      },
    ],
    plugins: [],
  };
  const pluginEntity = (name, pluginConfig) => ({
    id: `bench-${name}`,
    name,
    instance_name: null,
    config: pluginConfig,
    protocols: ['http', 'https'],
    enabled: true,
    service: null,
    route: { id: 'bench-route' },
    consumer: null,
    consumer_group: null,
    tags: null,
    created_at: now,
    updated_at: now,
  });
  const consumer = {
    id: 'bench-consumer',
    username: 'bench',
    custom_id: null,
    tags: null,
    created_at: now,
    updated_at: now,
  };
  for (const plugin of plugins.split(',').filter((p) => p !== '')) {
    if (plugin === 'key-auth') {
      config.consumers = [consumer];
      config.keyauth_credentials = [
        {
          id: 'bench-key',
          consumer: { id: consumer.id },
          key: apiKey,
          ttl: null,
          tags: null,
          created_at: now,
        },
      ];
      config.plugins.push(pluginEntity('key-auth', { key_names: ['x-api-key'] }));
    } else if (plugin === 'jwt') {
      config.consumers = [consumer];
      config.jwt_secrets = [
        {
          id: 'bench-jwt',
          consumer: { id: consumer.id },
          key: BENCH_JWT_KEY,
          secret: BENCH_JWT_SECRET,
          rsa_public_key: null,
          algorithm: 'HS256',
          tags: null,
          created_at: now,
        },
      ];
      config.plugins.push(pluginEntity('jwt', { header_names: ['x-api-key'] }));
    } else if (plugin === 'rate-limiting') {
      config.plugins.push(pluginEntity('rate-limiting', { minute: 1_000_000_000, policy: 'local' }));
    } else if (plugin === 'proxy-cache') {
      config.plugins.push(pluginEntity('proxy-cache', { strategy: 'memory' }));
    } else if (plugin === 'waf') {
      config.plugins.push(pluginEntity('waf', {}));
    } else if (plugin === 'waf-pl4') {
      config.plugins.push({
        ...pluginEntity('waf', { paranoia_level: 4, mode: 'detect' }),
        id: 'bench-waf-pl4',
      });
    } else {
      throw new Error(`unknown bench plugin ${plugin} (known: ${BENCH_PLUGINS.join(', ')})`);
    }
  }
  return config;
}
