// Bench candidate for ../shared/bench/run.sh: ONE ProxyServer (from the built data-plane dist)
// on 127.0.0.1:$PORT with one service -> http://127.0.0.1:$UPSTREAM_PORT and one route /echo
// (strip_path false). Stays in the foreground; exits on SIGTERM/SIGINT.
// GATEHOUSE_PLUGIN is a comma-separated list of plugins put on the route:
//   key-auth       key_names ["x-api-key"], one consumer whose key is $API_KEY
//   jwt            header_names ["x-api-key"], one consumer with the HS256 secret of bench-jwt.mjs
//                  (run the harness with API_KEY="Bearer <that token>")
//   rate-limiting  policy local, a minute limit no run reaches (the cost of counting, never a 429)
//   proxy-cache    strategy memory, the echo response cached (every measured request is a hit)
// GATEHOUSE_DP_DIST: another build of data-plane/dist to load (a before/after comparison in one
// run: copy the old build beside it, e.g. data-plane/dist-before, so its imports still resolve).
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const dpDist = path.resolve(here, '../..', process.env.GATEHOUSE_DP_DIST ?? 'data-plane/dist');
const { ProxyServer } = await import(path.join(dpDist, 'proxy/proxy-server.js'));
const { completeConfig, createLogger, SERVICE_DEFAULTS, ROUTE_DEFAULTS } = await import(
  path.resolve(here, '../../shared/dist/index.js')
);
const { loadPluginRegistry } = await import(path.join(dpDist, 'plugins/index.js'));
const { BENCH_JWT_KEY, BENCH_JWT_SECRET } = await import(path.resolve(here, 'bench-jwt.mjs'));

const PORT = Number(process.env.PORT);
const UPSTREAM_PORT = Number(process.env.UPSTREAM_PORT);
if (!Number.isInteger(PORT) || !Number.isInteger(UPSTREAM_PORT)) {
  console.error('PORT and UPSTREAM_PORT must be set');
  process.exit(2);
}

const now = Math.floor(Date.now() / 1000);
const config = {
  services: [
    {
      ...SERVICE_DEFAULTS,
      id: 'bench-service',
      name: 'bench',
      host: '127.0.0.1',
      port: UPSTREAM_PORT,
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
};

const PLUGINS = (process.env.GATEHOUSE_PLUGIN ?? '').split(',').filter((p) => p !== '');
const API_KEY = process.env.API_KEY ?? 'bench-id:bench-secret';
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
config.plugins = [];
for (const plugin of PLUGINS) {
  if (plugin === 'key-auth') {
    config.consumers = [consumer];
    config.keyauth_credentials = [
      { id: 'bench-key', consumer: { id: consumer.id }, key: API_KEY, ttl: null, tags: null, created_at: now },
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
  } else {
    console.error(`unknown plugin ${plugin} in GATEHOUSE_PLUGIN`);
    process.exit(2);
  }
}

const logger = createLogger('gatehouse-bench', { level: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn' });
const proxy = new ProxyServer({ logger, plugins: await loadPluginRegistry() });
proxy.apply(completeConfig(config));
await proxy.listen(PORT, '127.0.0.1');
console.log(`gatehouse listening on 127.0.0.1:${PORT} -> 127.0.0.1:${UPSTREAM_PORT}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  proxy.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
