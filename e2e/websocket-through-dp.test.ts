/**
 * WebSocket through a real data plane process (DB-less, one worker): a `ws` echo upstream behind
 * a `ws`/`wss` route with key-auth. Without a key the handshake gets 401; with one, messages go
 * both ways; a message over --websocket-max-message-size closes with 1009; an idle tunnel closes
 * after the service's read_timeout; an upstream that is down gets the error table's 502; the
 * upgrade is counted in /metrics with status 101.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { freePort, startDblessDp, tempDir, waitUntil, type Proc } from './helpers/processes.js';

const MAX = 4096;

type Opened = { ws: WebSocket; messages: string[] };
type Refused = { status: number; body: string; headers: http.IncomingHttpHeaders };

function connect(url: string, headers: Record<string, string> = {}): Promise<Opened | Refused> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
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

function opened(r: Opened | Refused): Opened {
  if ('ws' in r) return r;
  throw new Error(`handshake refused: ${r.status} ${r.body}`);
}

const closeCode = (ws: WebSocket): Promise<number> => new Promise((r) => ws.once('close', (code) => r(code)));

async function messagesReach(messages: string[], count: number): Promise<void> {
  await waitUntil(`${count} messages`, async () => messages.length >= count, 10_000);
}

describe('WebSocket through a data plane process, key-auth in front', () => {
  let upstream: http.Server;
  let dp: { proc: Proc; proxy: string; status: string };
  let ws: string;

  beforeAll(async () => {
    upstream = http.createServer();
    const wss = new WebSocketServer({ server: upstream });
    wss.on('connection', (socket) => {
      socket.send('hello from upstream');
      socket.on('message', (data, binary) => socket.send(data, { binary }));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    const downPort = await freePort();
    const dir = tempDir('dp-websocket');
    const file = join(dir, 'kong.json');
    const route = (name: string, path: string) => ({
      name,
      protocols: ['ws', 'wss'],
      paths: [path],
      plugins: [{ name: 'key-auth', config: {} }],
    });
    await writeFile(
      file,
      JSON.stringify({
        _format_version: '3.0',
        services: [
          { name: 'echo', url: `ws://127.0.0.1:${port}`, routes: [route('ws', '/ws')] },
          {
            name: 'idle',
            url: `ws://127.0.0.1:${port}`,
            read_timeout: 500,
            routes: [route('idle', '/idle')],
          },
          { name: 'down', url: `ws://127.0.0.1:${downPort}`, routes: [route('down', '/down')] },
        ],
        consumers: [{ username: 'alice', keyauth_credentials: [{ key: 'alice-key' }] }],
        plugins: [{ name: 'prometheus', config: { status_code_metrics: true } }],
      }),
    );
    dp = await startDblessDp({
      file,
      dataDir: dir,
      args: ['--websocket-max-message-size', String(MAX)],
    });
    ws = dp.proxy.replace('http://', 'ws://');
  }, 90_000);

  afterAll(async () => {
    await dp?.proc.stop();
    upstream?.closeAllConnections();
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  it("refuses the handshake without a key with key-auth's 401", async () => {
    const r = await connect(`${ws}/ws`);
    expect('status' in r && r.status).toBe(401);
    if ('status' in r) expect(JSON.parse(r.body)).toEqual({ message: 'No API key found in request' });
  });

  it('echoes messages both ways with a key', async () => {
    const { ws: client, messages } = opened(await connect(`${ws}/ws`, { apikey: 'alice-key' }));
    await messagesReach(messages, 1);
    client.send('one');
    client.send(Buffer.from('two'));
    await messagesReach(messages, 3);
    expect(messages).toEqual(['hello from upstream', 'one', 'two']);
    const code = closeCode(client);
    client.close(1000);
    expect(await code).toBe(1000);
  });

  it('closes with 1009 a message over --websocket-max-message-size', async () => {
    const { ws: client, messages } = opened(await connect(`${ws}/ws`, { apikey: 'alice-key' }));
    await messagesReach(messages, 1);
    const code = closeCode(client);
    client.send(Buffer.alloc(MAX + 1));
    expect(await code).toBe(1009);
  });

  it("closes an idle connection after the service's read_timeout", async () => {
    const { ws: client } = opened(await connect(`${ws}/idle`, { apikey: 'alice-key' }));
    expect(await closeCode(client)).toBe(1001);
  });

  it("answers the error table's 502 when the upstream is down", async () => {
    const r = await connect(`${ws}/down`, { apikey: 'alice-key' });
    expect('status' in r && r.status).toBe(502);
    if ('status' in r) {
      expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_UPSTREAM_UNAVAILABLE');
      expect(JSON.parse(r.body)).toEqual({
        message: 'An invalid response was received from the upstream server',
      });
    }
  });

  it('counts the upgrades with status 101 in /metrics, as any request', async () => {
    await waitUntil(
      'upgrades counted',
      async () =>
        /gatehouse_http_requests_total\{[^}]*route="ws"[^}]*code="101"[^}]*\} [1-9]/.test(
          await (await fetch(`${dp.status}/metrics`)).text(),
        ),
      15_000,
    );
  });

  it('keeps the worker serving after all of it', async () => {
    const r = await connect(`${ws}/ws`, { apikey: 'alice-key' });
    opened(r).ws.terminate();
    expect(dp.proc.alive).toBe(true);
  });
});
