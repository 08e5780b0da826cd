/**
 * Hostile WebSocket handshakes and frames against a real ProxyServer in front of a real `ws`
 * server: bad or missing Sec-WebSocket-Key / -Version, missing or odd Upgrade and Connection,
 * bodies on upgrades, other methods, and garbage after the head. Property: the proxy never
 * crashes, answers every request or closes it, and holds no socket (client or upstream) once the
 * clients are gone.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { completeConfig, createLogger } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { call, route, service } from './helpers.js';

const connections = (server: net.Server): Promise<number> =>
  new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

async function settle(check: () => Promise<boolean>, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** Writes `bytes`, half-closes, and waits for the proxy to close (at most `ms`). */
function exchange(port: number, bytes: Buffer, ms = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.end(bytes);
  });
}

const header = (name: string, value: fc.Arbitrary<string>) =>
  fc.option(
    value.map((v) => `${name}: ${v}\r\n`),
    { nil: '' },
  );
const token = fc.stringMatching(/^[!-~]{0,30}$/);

const hostileRequest = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'HEAD'),
    path: fc.constantFrom('/ws', '/ws/x', '/other', '/'),
    upgrade: header(
      'Upgrade',
      fc.oneof(fc.constantFrom('websocket', 'WebSocket', 'h2c', 'websocket, h2c'), token),
    ),
    connection: header(
      'Connection',
      fc.constantFrom('Upgrade', 'upgrade, keep-alive', 'keep-alive', 'close'),
    ),
    key: header(
      'Sec-WebSocket-Key',
      fc.oneof(fc.constant('dGhlIHNhbXBsZSBub25jZQ=='), fc.base64String({ maxLength: 40 }), token),
    ),
    version: header('Sec-WebSocket-Version', fc.oneof(fc.constantFrom('13', '8'), token)),
    body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: null }),
    trailing: fc.uint8Array({ maxLength: 300 }),
  })
  .map((r) => {
    const length = r.body === null ? '' : `Content-Length: ${r.body.length}\r\n`;
    const head = `${r.method} ${r.path} HTTP/1.1\r\nHost: ws.test\r\n${r.upgrade}${r.connection}${r.key}${r.version}${length}\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(r.body ?? []), Buffer.from(r.trailing)]);
  });

describe('hostile WebSocket handshakes and frames (property)', () => {
  let upstream: http.Server;
  let wss: WebSocketServer;
  let proxy: ProxyServer;
  let port: number;

  beforeAll(async () => {
    upstream = http.createServer((_req, res) => res.end('plain'));
    wss = new WebSocketServer({ server: upstream, maxPayload: 1 << 20 });
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined);
      ws.on('message', (data) => ws.send(data));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    proxy = new ProxyServer({
      logger: createLogger('ws-hostile', { level: 'silent' }),
      clientLimits: { websocketMaxMessageSize: 64 },
    });
    const upstreamPort = (upstream.address() as AddressInfo).port;
    proxy.apply(
      completeConfig({
        services: [service('svc', upstreamPort, { read_timeout: 2_000 })],
        routes: [
          route('ws', 'svc', { protocols: ['ws', 'wss'], paths: ['/ws'] }),
          route('http', 'svc', { protocols: ['http', 'https'], paths: ['/'] }),
        ],
      }),
    );
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy.close();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  it('never crashes the proxy nor leaks a socket, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (bytes) => {
        await exchange(port, bytes);
      }),
      { numRuns: 80 },
    );
    expect(await settle(async () => (await connections(proxy.server)) === 0)).toBe(true);
    // Tunnels: none left open at the upstream (its pooled keep-alive connections are not tunnels).
    expect(await settle(async () => wss.clients.size === 0)).toBe(true);
    const r = await call(port, '/plain-still-works');
    expect(r.status).toBe(200);
  }, 120_000);

  it('answers a well-formed handshake with garbage frames after it, then closes', async () => {
    const head =
      'GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const got = await exchange(port, Buffer.concat([Buffer.from(head), Buffer.alloc(200, 0xff)]));
    expect(got.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
    expect(got).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it("answers 400 to an upgrade request with a body, and a bad key with the upstream's 400", async () => {
    const withBody = await exchange(
      port,
      Buffer.from(
        'GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 3\r\n\r\nabc',
      ),
    );
    expect(withBody).toMatch(/^HTTP\/1\.1 400 /);
    expect(withBody).toContain('GH_ERR_PROXY_BAD_REQUEST');
    const badKey = await exchange(
      port,
      Buffer.from(
        'GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    expect(badKey).toMatch(/^HTTP\/1\.1 400 /);
  });
});
