// Bench candidate for ../shared/bench/run.sh: ONE ProxyServer (from the built data-plane dist)
// on 127.0.0.1:$PORT with one service -> http://127.0.0.1:$UPSTREAM_PORT and one route /echo
// (strip_path false). Stays in the foreground; exits on SIGTERM/SIGINT.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../../data-plane/dist/proxy/proxy-server.js');
const { ProxyServer } = await import(dist);
const { createLogger, SERVICE_DEFAULTS, ROUTE_DEFAULTS } = await import(
  path.resolve(here, '../../shared/dist/index.js')
);

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

const logger = createLogger('gatehouse-bench', { level: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn' });
const proxy = new ProxyServer({ logger });
proxy.apply(config);
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
