import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, route, service } from '../../proxy/helpers.js';
import { target, upstream } from '../../balancer/fixtures.js';
import {
  call,
  parseRaw,
  plugin,
  rawRequest,
  startTrafficGateway,
  type SeenRequest,
  type TrafficGateway,
} from './helpers.js';

const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;
const CHUNKED_HEAD = 'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
const CHUNKED_CLOSE_HEAD =
  'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n';

/** An upstream handler that counts the body bytes it receives, then echoes. */
function countingUpstream(): {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  received: () => number;
  firstChunk: Promise<void>;
} {
  let received = 0;
  let seen!: () => void;
  const firstChunk = new Promise<void>((resolve) => (seen = resolve));
  return {
    handler(req, res) {
      req.on('data', (c: Buffer) => {
        received += c.length;
        seen();
      });
      req.on('error', () => {});
      echo(req, res);
    },
    received: () => received,
    firstChunk,
  };
}

/** Sends chunks of 64 KiB without end (up to `total` bytes), with backpressure; counts what was sent. */
function flood(total: number): { feed: (socket: net.Socket) => void; sent: () => number } {
  const piece = chunk('x'.repeat(64 * 1024));
  let sent = 0;
  return {
    feed(socket) {
      const pump = (): void => {
        while (sent < total && !socket.destroyed) {
          sent += 64 * 1024;
          if (!socket.write(piece)) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    },
    sent: () => sent,
  };
}

describe('Plugin: request-size-limiting (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const withConfig = (config: Record<string, unknown>) =>
    gw.apply({ plugins: [plugin('request-size-limiting', config, { route: { id: 'r' } })] });

  it('returns 413 when Content-Length is over the limit, without calling the upstream', async () => {
    withConfig({ allowed_payload_size: 1, size_unit: 'kilobytes' });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x', { method: 'POST', body: Buffer.alloc(1025, 97) });
    expect(r.status).toBe(413);
    expect(r.json()).toEqual({ message: 'Request size limit exceeded' });
    expect(gw.upstreamHits()).toBe(before);
  });

  it('proxies a body of exactly the limit', async () => {
    withConfig({ allowed_payload_size: 1, size_unit: 'kilobytes' });
    const r = await call(gw.port, '/x', { method: 'POST', body: Buffer.alloc(1024, 97) });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().bodyLength).toBe(1024);
  });

  it('cuts off a chunked upload over the limit with 413 before the client finished sending', async () => {
    withConfig({ allowed_payload_size: 100, size_unit: 'bytes' });
    const up = countingUpstream();
    gw.setUpstream(up.handler);
    try {
      const { data, closedByServer } = await rawRequest(
        gw.port,
        CHUNKED_HEAD,
        // 120 bytes, and the body is never terminated: the answer cannot wait for its end.
        (socket) => socket.write(chunk('a'.repeat(60)) + chunk('b'.repeat(60))),
      );
      const r = parseRaw(data);
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toEqual({ message: 'Request size limit exceeded' });
      expect(closedByServer).toBe(true);
      expect(up.received()).toBeLessThanOrEqual(100);
    } finally {
      gw.setUpstream(echo);
    }
  });

  it('streams a chunked upload to the upstream as it arrives on a route without request_buffering', async () => {
    gw.apply({
      routes: [route('r', 'svc', { paths: ['/'], request_buffering: false })],
      plugins: [
        plugin(
          'request-size-limiting',
          { allowed_payload_size: 1, size_unit: 'megabytes' },
          { route: { id: 'r' } },
        ),
      ],
    });
    const up = countingUpstream();
    gw.setUpstream(up.handler);
    try {
      const { data } = await rawRequest(gw.port, CHUNKED_CLOSE_HEAD, (socket) => {
        socket.write(chunk('a'.repeat(100)));
        // The rest is sent only once the upstream got the first chunk: a buffering gateway,
        // waiting for the end of the body, would never get it.
        void up.firstChunk.then(() => socket.write(chunk('b'.repeat(100)) + '0\r\n\r\n'));
      });
      const r = parseRaw(data);
      expect(r.status).toBe(200);
      expect((JSON.parse(r.body) as SeenRequest).bodyLength).toBe(200);
    } finally {
      gw.setUpstream(echo);
    }
  });

  it('refuses a chunked upload far over the limit with 413, the upstream getting at most the limit', async () => {
    const limit = 64 * 1024;
    withConfig({ allowed_payload_size: 64, size_unit: 'kilobytes' });
    const up = countingUpstream();
    gw.setUpstream(up.handler);
    const total = 256 * 1024 * 1024;
    const client = flood(total);
    try {
      const { data, closedByServer } = await rawRequest(gw.port, CHUNKED_HEAD, client.feed, 10_000);
      const r = parseRaw(data);
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toEqual({ message: 'Request size limit exceeded' });
      expect(closedByServer).toBe(true);
      expect(up.received()).toBeLessThanOrEqual(limit);
      expect(client.sent()).toBeLessThan(total);
    } finally {
      gw.setUpstream(echo);
    }
  });

  it('streams (request_buffering off) and caps a chunked upload to a service balanced over an upstream', async () => {
    const pool = upstream('u-rsl', 'rsl.pool');
    gw.apply({
      services: [service('svc', 80, { host: 'rsl.pool' })],
      routes: [route('r', 'svc', { paths: ['/'], request_buffering: false })],
      upstreams: [pool],
      targets: [target('t-rsl', 'u-rsl', `127.0.0.1:${gw.upstreamPort}`)],
      plugins: [
        plugin(
          'request-size-limiting',
          { allowed_payload_size: 300, size_unit: 'bytes' },
          { route: { id: 'r' } },
        ),
      ],
    });
    const up = countingUpstream();
    gw.setUpstream(up.handler);
    try {
      const { data } = await rawRequest(gw.port, CHUNKED_CLOSE_HEAD, (socket) => {
        socket.write(chunk('a'.repeat(100)));
        void up.firstChunk.then(() => socket.write(chunk('b'.repeat(100)) + '0\r\n\r\n'));
      });
      const ok = parseRaw(data);
      expect(ok.status).toBe(200);
      expect((JSON.parse(ok.body) as SeenRequest).bodyLength).toBe(200);

      const over = countingUpstream();
      gw.setUpstream(over.handler);
      const refused = await rawRequest(gw.port, CHUNKED_HEAD, (socket) =>
        socket.write(chunk('a'.repeat(200)) + chunk('b'.repeat(200))),
      );
      expect(parseRaw(refused.data).status).toBe(413);
      expect(refused.closedByServer).toBe(true);
      expect(over.received()).toBeLessThanOrEqual(300);
    } finally {
      gw.setUpstream(echo);
    }
  });

  it('proxies a chunked upload under the limit in full', async () => {
    withConfig({ allowed_payload_size: 100, size_unit: 'bytes' });
    const { data } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      (socket) => socket.write(chunk('a'.repeat(50)) + chunk('b'.repeat(50)) + '0\r\n\r\n'),
    );
    const r = parseRaw(data);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as SeenRequest).bodyLength).toBe(100);
  });

  it('returns 417 to a client that expects 100-continue for a body over the limit', async () => {
    withConfig({ allowed_payload_size: 10, size_unit: 'bytes' });
    const { data } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n',
      () => {},
    );
    expect(parseRaw(data).status).toBe(417);
  });

  it('answers Expect: 100-continue over the limit with 417 and no 100 Continue, so no body is sent', async () => {
    withConfig({ allowed_payload_size: 10, size_unit: 'bytes' });
    const { data, closedByServer } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n',
      () => {},
    );
    expect(data.startsWith('HTTP/1.1 417 ')).toBe(true);
    expect(closedByServer).toBe(true);
  });

  it('sends 100 Continue once the access phase let the request through, then proxies the body', async () => {
    withConfig({ allowed_payload_size: 10, size_unit: 'bytes' });
    const { data } = await rawRequest(
      gw.port,
      'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      (socket) => {
        socket.once('data', (c: Buffer) => {
          if (c.toString('latin1').startsWith('HTTP/1.1 100 ')) socket.write('hello');
        });
      },
    );
    expect(data.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true);
    const r = parseRaw(data);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as SeenRequest).bodyLength).toBe(5);
  });

  it('returns 411 without a valid Content-Length when require_content_length is on', async () => {
    withConfig({ require_content_length: true });
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(411);
    expect(r.json()).toEqual({ message: 'A valid Content-Length header is required' });
    expect((await call(gw.port, '/x', { method: 'POST', body: 'abc' })).status).toBe(200);
  });
});
