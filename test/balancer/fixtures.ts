import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Target, Upstream } from '@gatehouse/shared';

let seq = 1000;

/** An upstream entity with Kong's defaults. */
export function upstream(id: string, name: string, fields: Partial<Upstream> = {}): Upstream {
  seq++;
  return {
    id,
    name,
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
        http_path: '/',
        https_verify_certificate: true,
        https_sni: null,
        headers: null,
        healthy: { interval: 0, http_statuses: [200, 302], successes: 0 },
        unhealthy: {
          interval: 0,
          http_statuses: [429, 404, 500, 501, 502, 503, 504, 505],
          tcp_failures: 0,
          timeouts: 0,
          http_failures: 0,
        },
      },
      passive: {
        type: 'http',
        healthy: {
          http_statuses: [
            200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
          ],
          successes: 0,
        },
        unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
      },
      threshold: 0,
    },
    host_header: null,
    client_certificate: null,
    use_srv_name: false,
    tags: null,
    created_at: seq,
    updated_at: seq,
    ...fields,
  };
}

export function target(id: string, upstreamId: string, address: string, weight = 100): Target {
  seq++;
  return {
    id,
    upstream: { id: upstreamId },
    target: address,
    weight,
    tags: null,
    created_at: seq,
    updated_at: seq,
  };
}

export interface NamedServer {
  name: string;
  port: number;
  server: http.Server;
  /** Requests seen (method url). */
  seen: string[];
  connections: number;
  close(): Promise<void>;
}

export interface Answer {
  server: string;
  url: string;
  host: string | undefined;
  body: string;
  xfp: string | undefined;
}

/**
 * A real node:http upstream answering JSON `{ server, url, host, body }`. `handler` may answer
 * first (return true when it did).
 */
export async function namedServer(
  name: string,
  handler?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<NamedServer> {
  const seen: string[] = [];
  const state = { connections: 0 };
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (handler?.(req, res) === true) return;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const answer: Answer = {
        server: name,
        url: req.url!,
        host: req.headers.host,
        body,
        xfp: req.headers['x-forwarded-proto'] as string | undefined,
      };
      const text = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.on('connection', () => state.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    seen,
    get connections() {
      return state.connections;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` until it returns true (or fails after `ms`). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
