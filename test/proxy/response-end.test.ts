import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net, { type AddressInfo } from 'node:net';
import { createLogger } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import type { ProxyRequest } from '../../data-plane/src/proxy/request.js';
import { call, config, route, service, startUpstream, type Upstream } from './helpers.js';

// How the proxy ends a response: a body that comes whole in the upstream's first chunk ends the
// response in one call (proxy/exchange.ts); every other shape is written and then ended. Each
// must reach the client whole, keep the connection reusable, and be observed once.
const ONE = 'x'.repeat(100);
const BIG = Buffer.alloc(40_000, 'b');

/** GETs `paths` one after the other on one keep-alive connection; each response as received (latin1). */
function oneConnection(port: number, paths: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const out: string[] = [];
    let data = '';
    const next = (): void => {
      const path = paths[out.length];
      if (path === undefined) {
        socket.destroy();
        resolve(out);
        return;
      }
      socket.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
    };
    socket.on('connect', next);
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(data);
      if (end < 0 || length === null || data.length < end + 4 + Number(length[1])) return;
      out.push(data);
      data = '';
      next();
    });
    socket.on('error', reject);
  });
}

describe('proxy response endings (real sockets)', () => {
  let upstream: Upstream;
  let proxy: ProxyServer;
  let port: number;
  const observed: { path: string; status: number; bytesOut: number }[] = [];

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      const url = req.url ?? '';
      if (url === '/one') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': ONE.length });
        res.end(ONE);
      } else if (url === '/split') {
        res.writeHead(200, { 'content-length': 20 });
        res.write('0123456789');
        setTimeout(() => res.end('abcdefghij'), 30);
      } else if (url === '/head') {
        res.writeHead(200, { 'content-length': 50 });
        res.end();
      } else if (url === '/none') {
        res.writeHead(204);
        res.end();
      } else if (url === '/big') {
        res.writeHead(200, { 'content-length': BIG.length });
        res.end(BIG);
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }); // chunked
        res.end('chunked-body');
      }
    });
    proxy = new ProxyServer({
      logger: createLogger('test-proxy', { level: 'silent' }),
      observers: [
        {
          requestEnded: (r: ProxyRequest) =>
            observed.push({ path: r.path, status: r.res.statusCode, bytesOut: r.bytesOut }),
        },
      ],
    });
    proxy.apply(config([service('s', upstream.port)], [route('r', 's', { paths: ['/'] })]));
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('a body whole in one chunk, one split over two, a large one, chunked, HEAD and 204 all arrive as sent', async () => {
    const one = await call(port, '/one');
    expect([one.status, one.body.toString(), one.headers['content-length']]).toEqual([200, ONE, '100']);
    const split = await call(port, '/split');
    expect(split.body.toString()).toBe('0123456789abcdefghij');
    const big = await call(port, '/big');
    expect(big.body.equals(BIG)).toBe(true);
    const chunked = await call(port, '/chunked');
    expect([chunked.body.toString(), chunked.headers['transfer-encoding']]).toEqual([
      'chunked-body',
      'chunked',
    ]);
    const head = await call(port, '/head', { method: 'HEAD' });
    expect([head.status, head.body.length, head.headers['content-length']]).toEqual([200, 0, '50']);
    const none = await call(port, '/none');
    expect([none.status, none.body.length]).toEqual([204, 0]);
  });

  it('keeps the connection for the next request and observes each request once, with the bytes it wrote', async () => {
    observed.length = 0;
    const responses = await oneConnection(port, ['/one', '/split', '/one']);
    expect(responses.map((r) => r.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(responses[0]).toMatch(new RegExp(`\r\n\r\n${ONE}$`));
    expect(responses[1]).toMatch(/\r\n\r\n0123456789abcdefghij$/);
    await expect.poll(() => observed.length).toBe(3);
    expect(observed.map((o) => o.path)).toEqual(['/one', '/split', '/one']);
    expect(observed.map((o) => o.bytesOut)).toEqual(responses.map((r) => Buffer.byteLength(r, 'latin1')));
  });
});
