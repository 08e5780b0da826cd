/**
 * Issue 8 items 11 and 13 against a real data plane (in-process primary, one worker process from
 * the built package) with small client limits, over raw sockets:
 *  - slowloris (a request head sent one byte at a time) gets 408 after client_header_timeout;
 *  - a body that stops, and a body that drips below client_body_min_rate, get 408; on a route with
 *    Kong's request_buffering (the default) the upstream never sees the request, on one without it
 *    the upstream sees its request aborted (its connection released);
 *  - max_connections_per_ip closes the N+1th connection and admits one again once one closes;
 *  - with the control plane down and no cache, the proxy port answers 503 JSON at once, and
 *    serves the config once the control plane comes up (/status/ready follows).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataPlane, type DataPlane } from '@gatehouse/data-plane';
import {
  createLogger,
  loadSigningKey,
  signSnapshot,
  writeSigningKeyPair,
  type SigningKey,
} from '@gatehouse/shared';
import { testClusterCerts } from '../helpers/cluster-certs.js';
import { FakeControlPlane } from './helpers/fake-cp.js';
import { configFor, freePort, httpGet, waitUntil } from './helpers/fixtures.js';

/** The DP's cluster certificate files (the fake CP speaks mutual TLS). */
const { dpFiles } = await testClusterCerts();

const logger = createLogger('dp-limits-test', { level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });

const LIMITS = {
  headerTimeoutMs: 1_000,
  bodyTimeoutMs: 1_000,
  bodyMinRate: 200,
  requestTimeoutMs: 60_000,
  maxConnectionsPerIp: 4,
};

let keysDir: string;
let key: SigningKey;
let trustedFile: string;

/** The upstream: records the requests it got and those that were cut off. */
let upstream: {
  server: Server;
  port: number;
  seen: string[];
  aborted: string[];
  onAbort: (() => void) | null;
};

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-limits-keys-'));
  const pair = await writeSigningKeyPair(join(keysDir, 'cp'));
  key = await loadSigningKey(pair.privateKeyFile);
  trustedFile = pair.publicKeysFile;
  const aborted: string[] = [];
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    req.on('close', () => {
      if (!req.complete) {
        aborted.push(req.url ?? '');
        upstream.onAbort?.();
      }
    });
    // /held reads nothing for 2.5 × client_body_timeout first: the proxy has to hold the body back.
    if (req.url === '/streamed/held') setTimeout(() => req.resume(), 2_500);
    else req.resume();
    req.on('end', () => res.end(JSON.stringify({ path: req.url })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  upstream = { server, port: typeof a === 'object' && a ? a.port : 0, seen, aborted, onAbort: null };
});

afterAll(async () => {
  upstream.server.closeAllConnections();
  await new Promise((r) => upstream.server.close(r));
  await rm(keysDir, { recursive: true, force: true });
});

interface Outcome {
  data: string;
  /** ms from the last byte the client wrote before the server's answer to the close. */
  closedBy: 'server' | 'timeout';
}

/**
 * Opens a raw connection, writes `head`, then one byte of `drip` every `everyMs` until the server
 * closes the connection (or `maxMs` passes). Resolves with what the server sent.
 */
function dripRequest(
  port: number,
  head: string,
  drip: string,
  everyMs: number,
  maxMs = 20_000,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedBy: Outcome['closedBy']): void => {
      clearInterval(timer);
      clearTimeout(bound);
      socket.destroy();
      resolve({ data, closedBy });
    };
    const bound = setTimeout(() => finish('timeout'), maxMs);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (i < drip.length && socket.writable) socket.write(drip[i++]!);
      }, everyMs);
    });
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => finish('server'));
  });
}

function parse(data: string): { status: number; json: unknown; close: boolean } {
  const end = data.indexOf('\r\n\r\n');
  const head = data.slice(0, end);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0),
    json: end < 0 ? null : JSON.parse(data.slice(end + 4)),
    close: /\r\nconnection: close/i.test(head),
  };
}

describe('a data plane with small client limits (raw sockets)', () => {
  let dataDir: string;
  let cp: FakeControlPlane;
  let dp: DataPlane;
  let port: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-limits-'));
    cp = new FakeControlPlane();
    await cp.start();
    const config = configFor(upstream.port, ['/', '/streamed']);
    // Kong's request_buffering off: the body streams upstream as it arrives.
    config.routes.find((r) => r.paths?.[0] === '/streamed')!.request_buffering = false;
    cp.publish(await signSnapshot({ config, version: 1n, cpId: 'fake-cp', key }));
    dp = await startDataPlane({
      controlPlane: cp.address,
      trustedKeyFiles: [trustedFile],
      clusterTls: dpFiles,
      dataDir,
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: 0 },
      statusListen: { host: '127.0.0.1', port: 0 },
      clientLimits: LIMITS,
      logger,
      drainTimeoutMs: 1_000,
    });
    await waitUntil(
      'the config is served',
      async () => (await httpGet((port = dp.proxyPort()!), '/ok')).status === 200,
    );
  });

  afterAll(async () => {
    await dp?.stop();
    cp?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers slowloris (a request head one byte at a time, never finished) 408 after client_header_timeout', async () => {
    const head = 'GET /slowloris HTTP/1.1\r\nHost: a\r\n';
    const out = await dripRequest(port, head, 'X-Slow: ' + 'a'.repeat(500), 100);
    expect(out.closedBy).toBe('server');
    expect(parse(out.data)).toEqual({ status: 408, json: { message: 'Request timeout' }, close: true });
  });

  it('answers a body that stops 408 after client_body_timeout; buffered (the default), the upstream never sees the request', async () => {
    const head = 'POST /stalled HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100);
    const out = await dripRequest(port, head, '', 100);
    expect(out.closedBy).toBe('server');
    expect(parse(out.data)).toEqual({ status: 408, json: { message: 'Request timeout' }, close: true });
    expect(upstream.seen).not.toContain('/stalled');
  });

  it('answers a body dripping below client_body_min_rate 408; buffered, the upstream never sees the request', async () => {
    const head = 'POST /drip HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
    // One byte every 100 ms (10 bytes/s, never idle for client_body_timeout): too slow.
    const out = await dripRequest(port, head, '1\r\nx\r\n'.repeat(200), 100);
    expect(out.closedBy).toBe('server');
    expect(parse(out.data)).toEqual({ status: 408, json: { message: 'Request timeout' }, close: true });
    expect(upstream.seen).not.toContain('/drip');
  });

  it('answers a body that stops 408 on a route without request_buffering, and the upstream sees its request aborted', async () => {
    const aborted = new Promise<void>((resolve) => (upstream.onAbort = resolve));
    const head =
      'POST /streamed/stalled HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100);
    const out = await dripRequest(port, head, '', 100);
    expect(out.closedBy).toBe('server');
    expect(parse(out.data)).toEqual({ status: 408, json: { message: 'Request timeout' }, close: true });
    await aborted;
    expect(upstream.aborted).toContain('/streamed/stalled');
  });

  it('answers a body dripping below client_body_min_rate 408 on a route without request_buffering, and the upstream sees its request aborted', async () => {
    const aborted = new Promise<void>((resolve) => (upstream.onAbort = resolve));
    const head = 'POST /streamed/drip HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
    const out = await dripRequest(port, head, '1\r\nx\r\n'.repeat(200), 100);
    expect(out.closedBy).toBe('server');
    expect(parse(out.data)).toEqual({ status: 408, json: { message: 'Request timeout' }, close: true });
    await aborted;
    expect(upstream.aborted).toContain('/streamed/drip');
  });

  it('lets a body through whose upstream holds it back (backpressure is not a slow client)', async () => {
    // A fast client, a body far larger than the socket buffers, an upstream that reads nothing for
    // a while: the proxy stops reading the client, and that wait does not count against it.
    const body = Buffer.alloc(16 * 1024 * 1024, 97);
    const r = await new Promise<number>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let data = '';
      socket.on('connect', () => {
        socket.write(
          `POST /streamed/held HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        );
        socket.write(body);
      });
      socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => resolve(parse(data).status));
    });
    expect(r).toBe(200);
  });

  it(`closes the connection over max_connections_per_ip (${LIMITS.maxConnectionsPerIp}) before reading it, and admits one again once one closes`, async () => {
    const open: net.Socket[] = [];
    const request = (socket: net.Socket): Promise<string> =>
      new Promise((resolve) => {
        let data = '';
        const onData = (c: Buffer): void => {
          data += c.toString('latin1');
          if (data.includes('\r\n\r\n')) {
            socket.off('data', onData);
            resolve(data.slice(0, 12));
          }
        };
        socket.on('data', onData);
        socket.once('close', () => resolve(data.slice(0, 12) || 'closed'));
        socket.write('GET /ok HTTP/1.1\r\nHost: a\r\n\r\n');
      });
    const connect = (): Promise<net.Socket> =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', (e) => (s.connecting ? reject(e) : undefined));
      });
    try {
      // Each of the first N answers a request, so the proxy holds all N when the next comes.
      for (let i = 0; i < LIMITS.maxConnectionsPerIp; i += 1) {
        const s = await connect();
        open.push(s);
        expect(await request(s)).toBe('HTTP/1.1 200');
      }
      const extra = await connect();
      expect(await request(extra)).toBe('closed');
      open.shift()!.destroy();
      await waitUntil('a connection is admitted again', async () => {
        const s = await connect();
        open.push(s);
        return (await request(s)) === 'HTTP/1.1 200';
      });
    } finally {
      for (const s of open) s.destroy();
    }
  });
});

describe('a data plane with no usable configuration', () => {
  it('answers 503 JSON on the proxy port while its control plane is down, then serves the config once it is up', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-noconfig-'));
    const cpPort = await freePort();
    const dp = await startDataPlane({
      controlPlane: `127.0.0.1:${cpPort}`,
      trustedKeyFiles: [trustedFile],
      clusterTls: dpFiles,
      dataDir,
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: 0 },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger,
      sync: { backoff: { baseMs: 50, maxMs: 300 } },
      drainTimeoutMs: 1_000,
    });
    const cp = new FakeControlPlane();
    try {
      const port = dp.proxyPort();
      expect(port).not.toBeNull();
      const r = await httpGet(port!, '/a/x');
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body)).toEqual({ message: 'no configuration yet' });
      const ready = await fetch(`http://127.0.0.1:${dp.statusAddress.port}/status/ready`);
      expect(ready.status).toBe(503);

      await cp.start(cpPort);
      cp.publish(
        await signSnapshot({ config: configFor(upstream.port, ['/a']), version: 1n, cpId: 'fake-cp', key }),
      );
      await waitUntil('the config is served', async () => (await httpGet(port!, '/a/x')).status === 200);
      expect((await fetch(`http://127.0.0.1:${dp.statusAddress.port}/status/ready`)).status).toBe(200);
    } finally {
      await dp.stop();
      cp.kill();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
