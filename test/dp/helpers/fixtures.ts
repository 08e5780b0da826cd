/** Configs, an upstream server and small HTTP helpers for data plane tests. */
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import { freePort } from '../../helpers/ports.js';

export { freePort };
import {
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  type GatehouseConfig,
  type Route,
  type Service,
  completeConfig,
} from '@gatehouse/shared';

/** A real upstream: answers every request with its name and the path it got. */
export async function startUpstream(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const body = JSON.stringify({ upstream: name, path: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : 0 };
}

/** One service on 127.0.0.1:upstreamPort with one route per path prefix. */
export function configFor(upstreamPort: number, paths: string[]): GatehouseConfig {
  const service: Service = {
    ...SERVICE_DEFAULTS,
    id: '11111111-1111-4111-8111-111111111111',
    name: 'upstream',
    host: '127.0.0.1',
    port: upstreamPort,
    connect_timeout: 2000,
    read_timeout: 5000,
    write_timeout: 5000,
    created_at: 1,
    updated_at: 1,
  };
  const routes: Route[] = paths.map((p) => ({
    ...ROUTE_DEFAULTS,
    protocols: ['http', 'https'],
    id: randomUUID(),
    name: `route${p.replaceAll('/', '-')}`,
    paths: [p],
    strip_path: false,
    service: { id: service.id },
    created_at: 1,
    updated_at: 1,
  }));
  return completeConfig({ services: [service], routes });
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** A GET on a fresh connection, so node:cluster's round robin spreads requests over workers. */
export function httpGet(port: number, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `n` sequential GETs, each on its own connection. */
export async function httpGetMany(port: number, path: string, n: number): Promise<HttpAnswer[]> {
  const out: HttpAnswer[] = [];
  for (let i = 0; i < n; i += 1) out.push(await httpGet(port, path));
  return out;
}

export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out waiting until ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
  );
}
