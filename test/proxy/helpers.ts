import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import {
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  type GatehouseConfig,
  type Route,
  type Service,
  completeConfig,
} from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  bodyLength: number;
}

export interface Upstream {
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** A real node:http upstream on 127.0.0.1:0. The default handler echoes the request as JSON. */
export async function startUpstream(
  handler?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Upstream> {
  const server = http.createServer(handler ?? echo);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function echo(req: IncomingMessage, res: ServerResponse): void {
  let bodyLength = 0;
  req.on('data', (c: Buffer) => (bodyLength += c.length));
  req.on('end', () => {
    const seen: SeenRequest = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyLength,
    };
    const body = JSON.stringify(seen);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

let seq = 0;
export function service(id: string, port: number, fields: Partial<Service> = {}): Service {
  seq++;
  return {
    ...SERVICE_DEFAULTS,
    id,
    name: id,
    host: '127.0.0.1',
    port,
    created_at: seq,
    updated_at: seq,
    ...fields,
  };
}

export function route(id: string, serviceId: string, fields: Partial<Route>): Route {
  seq++;
  return {
    ...ROUTE_DEFAULTS,
    protocols: ['http', 'https'],
    id,
    name: id,
    service: { id: serviceId },
    created_at: seq,
    updated_at: seq,
    ...fields,
  };
}

export function config(services: Service[], routes: Route[]): GatehouseConfig {
  return completeConfig({ services, routes });
}

export async function startProxy(initial?: GatehouseConfig): Promise<{ proxy: ProxyServer; port: number }> {
  const proxy = new ProxyServer({ logger: createLogger('test-proxy', { level: 'silent' }) });
  if (initial) proxy.apply(initial);
  await proxy.listen(0, '127.0.0.1');
  return { proxy, port: (proxy.server.address() as AddressInfo).port };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json<T = SeenRequest>(): T;
}

/** One request through node's http client (no keep-alive agent). */
export function call(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body.toString()) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Writes `request` on a raw socket and resolves with everything the server sent until it closed or `until` matched. */
export function rawExchange(
  port: number,
  request: string | Buffer,
  until?: RegExp,
  timeoutMs = 5_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (until?.test(data)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      if (data) resolve(data);
      else reject(e);
    });
  });
}

/** A port on 127.0.0.1 with nothing listening. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
