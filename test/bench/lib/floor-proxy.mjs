// The floor of the proxy benchmarks (dp-cpu.mjs, proxy-ab.mjs): a bare node:http → undici
// reverse proxy, what node:http and undici cost by themselves. One undici Pool, `dispatch` with a
// core handler, the client's headers and the upstream's passed on as they are: no routing, no
// header rules, no checks, no metrics. Run as a process (PORT, UPSTREAM_PORT from the environment,
// foreground until SIGTERM) or imported (`startFloor`).
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { Pool } = createRequire(join(ROOT, 'data-plane', 'package.json'))('undici');

export function startFloor(port, upstreamPort) {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 1024, pipelining: 1 });
  const server = http.createServer((req, res) => {
    pool.dispatch(
      { path: req.url, method: req.method, headers: req.rawHeaders, body: null },
      {
        onConnect() {},
        onHeaders(status, raw) {
          const out = [];
          for (let i = 0; i < raw.length; i += 2)
            out.push(raw[i].toString('latin1'), raw[i + 1].toString('latin1'));
          res.writeHead(status, out);
          return true;
        },
        onData: (chunk) => res.write(chunk),
        onComplete: () => res.end(),
        onError: () => {
          res.statusCode = 502;
          res.end();
        },
      },
    );
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((ok) =>
    server.listen(port, '127.0.0.1', () =>
      ok({
        port: server.address().port,
        close: async () => {
          server.closeAllConnections();
          server.close();
          await pool.close();
        },
      }),
    ),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await startFloor(Number(process.env.PORT), Number(process.env.UPSTREAM_PORT));
  process.once('SIGTERM', () => process.exit(0));
}
