/**
 * WebSocket upgrades through a real ProxyServer (with the bundled plugins) to a real `ws` echo
 * server, with `ws` clients: routing of ws/wss routes, key-auth on the handshake, the tunnel both
 * ways, the message size limit (1009), the idle timeout (service read_timeout), gateway errors
 * as HTTP answers before the switch, and the upgrade observed with status 101.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { completeConfig, createLogger, type GatehouseConfig } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/registry.js';
import type { ProxyRequest } from '../../data-plane/src/proxy/request.js';
import { consumer, plugin } from '../plugins/auth/helpers.js';
import { call, route, service } from './helpers.js';

const MAX = 1024;
const now = Math.floor(Date.now() / 1000);

interface EchoServer {
  port: number;
  wss: WebSocketServer;
  /** Headers of the last handshake the upstream received. */
  lastHeaders: http.IncomingHttpHeaders | null;
  close(): Promise<void>;
}

/**
 * A `ws` echo server: echoes every message and says "hello" first; a path ending in `/big` also
 * sends a message over MAX, one ending in `/refuse` answers the handshake 403.
 */
async function startEcho(): Promise<EchoServer> {
  const server = http.createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('plain HTTP refused');
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => (p.has('chat') ? 'chat' : false),
  });
  const echo: EchoServer = {
    port: 0,
    wss,
    lastHeaders: null,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('upgrade', (req, socket, head) => {
    echo.lastHeaders = req.headers;
    if (req.url!.endsWith('/refuse')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send('hello');
      if (req.url!.endsWith('/big')) ws.send(Buffer.alloc(MAX + 1));
      ws.on('message', (data, binary) => ws.send(data, { binary }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  echo.port = (server.address() as AddressInfo).port;
  return echo;
}

/** Opens a client; resolves with it once open, or with the handshake's HTTP answer. */
function connect(
  url: string,
  headers: Record<string, string> = {},
  protocols?: string[],
): Promise<
  { ws: WebSocket; messages: string[] } | { status: number; body: string; headers: http.IncomingHttpHeaders }
> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const messages: string[] = [];
    ws.on('message', (data: Buffer) => messages.push(data.toString()));
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

async function nextMessage(messages: string[], count: number): Promise<void> {
  for (let i = 0; i < 200 && messages.length < count; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('WebSocket through the proxy (ws/wss routes, real ws echo)', () => {
  let echo: EchoServer;
  let proxy: ProxyServer;
  let port: number;
  const ended: ProxyRequest[] = [];

  beforeAll(async () => {
    echo = await startEcho();
    proxy = new ProxyServer({
      logger: createLogger('ws-test', { level: 'silent' }),
      plugins: await loadPluginRegistry({}),
      clientLimits: { websocketMaxMessageSize: MAX },
      observers: [{ requestEnded: (r) => ended.push(r) }],
    });
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy.close();
    await echo.close();
  });
  afterEach(() => {
    ended.length = 0;
  });

  const apply = (partial: Partial<GatehouseConfig> = {}, readTimeout = 60_000, upstreamPort = echo.port) =>
    proxy.apply(
      completeConfig({
        services: [service('svc', upstreamPort, { read_timeout: readTimeout })],
        routes: [
          route('ws', 'svc', { protocols: ['ws', 'wss'], paths: ['/ws'], strip_path: false }),
          route('wss-only', 'svc', { protocols: ['wss'], paths: ['/secure'], strip_path: false }),
          route('http', 'svc', { protocols: ['http'], paths: ['/plain'], strip_path: false }),
        ],
        ...partial,
      }),
    );

  it('proxies the upgrade and echoes messages both ways, sub-protocol and X-Forwarded-For passed', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/ws/chat`, {}, ['chat']);
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    expect(r.ws.protocol).toBe('chat');
    await nextMessage(r.messages, 1);
    expect(r.messages[0]).toBe('hello');
    r.ws.send('ping-1');
    r.ws.send('x'.repeat(MAX));
    await nextMessage(r.messages, 3);
    expect(r.messages.slice(1)).toEqual(['ping-1', 'x'.repeat(MAX)]);
    expect(echo.lastHeaders!['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.lastHeaders!.upgrade).toBe('websocket');
    const code = closed(r.ws);
    r.ws.close(1000, 'bye');
    expect(await code).toBe(1000);
  });

  it('counts and observes the upgrade with status 101 once the tunnel closes', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/ws`);
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    const code = closed(r.ws);
    r.ws.close();
    await code;
    for (let i = 0; i < 100 && ended.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(ended).toHaveLength(1);
    expect(ended[0]!.res.statusCode).toBe(101);
    expect(ended[0]!.upstreamHeadersAt).toBeGreaterThan(0);
  });

  it('runs key-auth on the handshake: 401 without a key, the tunnel with one', async () => {
    apply({
      consumers: [consumer('alice')],
      keyauth_credentials: [
        { id: 'k1', consumer: { id: 'alice' }, key: 'alice-key', ttl: null, tags: null, created_at: now },
      ],
      plugins: [plugin('key-auth', {}, { route: { id: 'ws' } })],
    });
    const refused = await connect(`ws://127.0.0.1:${port}/ws`);
    expect('status' in refused && refused.status).toBe(401);
    if ('status' in refused)
      expect(JSON.parse(refused.body)).toEqual({ message: 'No API key found in request' });
    const r = await connect(`ws://127.0.0.1:${port}/ws`, { apikey: 'alice-key' });
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    r.ws.send('authenticated');
    await nextMessage(r.messages, 2);
    expect(r.messages).toEqual(['hello', 'authenticated']);
    expect(echo.lastHeaders!['x-consumer-username']).toBe('alice');
    r.ws.terminate();
  });

  it('closes with 1009 a client message over the limit', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/ws`);
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    const code = closed(r.ws);
    r.ws.send(Buffer.alloc(MAX + 1));
    expect(await code).toBe(1009);
  });

  it('closes with 1009 a fragmented client message whose fragments add up over the limit', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/ws`);
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    const code = closed(r.ws);
    r.ws.send(Buffer.alloc(MAX / 2), { fin: false });
    r.ws.send(Buffer.alloc(MAX / 2), { fin: false });
    r.ws.send(Buffer.alloc(1), { fin: true });
    expect(await code).toBe(1009);
  });

  it('closes with 1009 an upstream message over the limit', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/ws/big`);
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    expect(await closed(r.ws)).toBe(1009);
  });

  it("closes an idle tunnel after the service's read_timeout (1001)", async () => {
    apply({}, 300);
    const r = await connect(`ws://127.0.0.1:${port}/ws`);
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    expect(await closed(r.ws)).toBe(1001);
  });

  it('answers 502 from the error table when the upstream refuses the connection', async () => {
    const dead = net.createServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    apply({}, 60_000, deadPort);
    const r = await connect(`ws://127.0.0.1:${port}/ws`);
    expect('status' in r && r.status).toBe(502);
    if ('status' in r) {
      expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_UPSTREAM_UNAVAILABLE');
      expect(JSON.parse(r.body)).toEqual({
        message: 'An invalid response was received from the upstream server',
      });
    }
  });

  it("passes the upstream's own refusal of the upgrade (not 101) to the client", async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/ws/refuse`);
    expect('status' in r && r.status).toBe(403);
    if ('status' in r) expect(r.body).toBe('nope');
  });

  it('answers 404 when no route matches the upgrade, and ws routes never match plain requests', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/nowhere`);
    expect('status' in r && r.status).toBe(404);
    const plain = await call(port, '/ws');
    expect(plain.status).toBe(404);
    expect(plain.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_ROUTE');
  });

  it('answers 426 to an upgrade on the plain listener for a wss-only route', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/secure`);
    expect('status' in r && r.status).toBe(426);
    if ('status' in r) expect(JSON.parse(r.body)).toEqual({ message: 'Please use HTTPS protocol' });
  });

  it('proxies an upgrade on an http route (Kong raw mode), and plain requests there stay plain', async () => {
    apply();
    const r = await connect(`ws://127.0.0.1:${port}/plain`);
    if (!('ws' in r)) throw new Error(`no upgrade: ${r.status}`);
    r.ws.terminate();
    const plain = await call(port, '/plain');
    expect(plain.status).toBe(403);
  });
});
