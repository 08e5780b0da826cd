import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { completeConfig, createLogger, type GatehouseConfig } from '@gatehouse/shared';
import { ProxyServer } from '../../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../../data-plane/src/plugins/registry.js';
import { echo, route, service } from '../../proxy/helpers.js';

export { call, type SeenRequest } from '../../proxy/helpers.js';
export { consumer, plugin } from '../auth/helpers.js';

export interface TrafficGateway {
  proxy: ProxyServer;
  port: number;
  /** The upstream's port (for targets of a balanced upstream). */
  upstreamPort: number;
  /** Requests the upstream received. */
  upstreamHits(): number;
  /** Replaces the upstream's handler (default: echo the request as JSON). */
  setUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  apply(partial: Partial<GatehouseConfig>): void;
  close(): Promise<void>;
}

/**
 * A real ProxyServer with the bundled plugins on `host` (127.0.0.1, or '::' for a dual-stack
 * listener) in front of a counting upstream; one service `svc` and one route `r` on '/'.
 */
export async function startTrafficGateway(host = '127.0.0.1'): Promise<TrafficGateway> {
  let hits = 0;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = echo;
  const upstream = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const proxy = new ProxyServer({
    logger: createLogger('traffic-test', { level: 'silent' }),
    plugins: await loadPluginRegistry(),
  });
  await proxy.listen(0, host);
  const port = (proxy.server.address() as AddressInfo).port;
  return {
    proxy,
    port,
    upstreamPort,
    upstreamHits: () => hits,
    setUpstream(h) {
      handler = h;
    },
    apply(partial) {
      proxy.apply(
        completeConfig({
          services: [service('svc', upstreamPort)],
          routes: [route('r', 'svc', { paths: ['/'] })],
          ...partial,
        }),
      );
    },
    async close() {
      await proxy.close();
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    },
  };
}

export interface RawReply {
  status: number;
  head: string;
  body: string;
}

/** Parses the first response in `data` (head and, with Content-Length, body). */
export function parseRaw(data: string): RawReply {
  // Skip interim 1xx responses (100 Continue).
  let rest = data;
  while (/^HTTP\/1\.1 1\d\d /.test(rest)) rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
  const end = rest.indexOf('\r\n\r\n');
  const head = end < 0 ? rest : rest.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const len = /\r\ncontent-length: *(\d+)/i.exec(head);
  const bodyStart = end < 0 ? rest.length : end + 4;
  const body = len === null ? rest.slice(bodyStart) : rest.slice(bodyStart, bodyStart + Number(len[1]));
  return { status, head, body };
}

/**
 * Opens a raw connection, writes `head`, then calls `feed(write)` to send body pieces; resolves
 * with everything received once the server closed the connection or `timeoutMs` passed.
 */
export function rawRequest(
  port: number,
  head: string,
  feed: (socket: net.Socket) => void,
  timeoutMs = 5_000,
): Promise<{ data: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    const done = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data, closedByServer });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => {
      socket.write(head);
      feed(socket);
    });
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    socket.on('error', (e) => {
      if (data !== '') done(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}
