// Bench candidate for ../shared/bench/run.sh: ONE ProxyServer (from the built data-plane dist)
// on 127.0.0.1:$PORT with one service -> http://127.0.0.1:$UPSTREAM_PORT and one route /echo
// (strip_path false). Stays in the foreground; exits on SIGTERM/SIGINT.
// GATEHOUSE_PLUGIN: a comma-separated list of plugins put on the route (lib/bench-config.mjs says
// what each is: key-auth, jwt, rate-limiting, proxy-cache); key-auth's key is $API_KEY, jwt's is a
// token of bench-jwt.mjs (run the harness with API_KEY="Bearer <that token>").
// GATEHOUSE_DP_DIST: another build of data-plane/dist to load (a before/after comparison in one
// run: copy the old build beside it, e.g. data-plane/dist-before, so its imports still resolve).
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const dpDist = path.resolve(here, '../..', process.env.GATEHOUSE_DP_DIST ?? 'data-plane/dist');
const { ProxyServer } = await import(path.join(dpDist, 'proxy/proxy-server.js'));
const { completeConfig, createLogger } = await import(path.resolve(here, '../../shared/dist/index.js'));
const { loadPluginRegistry } = await import(path.join(dpDist, 'plugins/index.js'));
const { benchConfig } = await import(path.resolve(here, 'lib/bench-config.mjs'));

const PORT = Number(process.env.PORT);
const UPSTREAM_PORT = Number(process.env.UPSTREAM_PORT);
if (!Number.isInteger(PORT) || !Number.isInteger(UPSTREAM_PORT)) {
  console.error('PORT and UPSTREAM_PORT must be set');
  process.exit(2);
}

let config;
try {
  config = benchConfig({
    upstreamPort: UPSTREAM_PORT,
    plugins: process.env.GATEHOUSE_PLUGIN ?? '',
    apiKey: process.env.API_KEY ?? 'bench-id:bench-secret',
  });
} catch (e) {
  console.error(e.message);
  process.exit(2);
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
