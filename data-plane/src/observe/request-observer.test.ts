/** The request-end hook: every proxied request reaches each observer once, after its response. */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, createLogger, ROUTE_DEFAULTS, SERVICE_DEFAULTS } from '@gatehouse/shared';
import { ProxyServer } from '../proxy/proxy-server.js';
import type { ProxyRequest } from '../proxy/request.js';
import type { RequestObserver } from './request-observer.js';

interface Seen {
  path: string;
  route: string | null;
  status: number;
  finished: boolean;
  /** The timings were in order: started <= upstream start <= upstream head <= ended (or -1). */
  ordered: boolean;
  wentUpstream: boolean;
  bytesIn: number;
  bytesOut: number;
}

const seen: Seen[] = [];
const recorder: RequestObserver = {
  requestEnded(request: ProxyRequest) {
    seen.push({
      path: request.path,
      route: request.entry === null ? null : request.entry.route.id,
      status: request.res.statusCode,
      finished: request.res.writableEnded,
      ordered:
        request.endedAt >= request.startedAt &&
        (request.upstreamStartedAt < 0 ||
          (request.upstreamStartedAt >= request.startedAt &&
            request.upstreamHeadersAt >= request.upstreamStartedAt &&
            request.endedAt >= request.upstreamHeadersAt)),
      wentUpstream: request.upstreamHeadersAt >= 0,
      bytesIn: request.bytesIn,
      bytesOut: request.bytesOut,
    });
  },
};
const thrower: RequestObserver = {
  requestEnded() {
    throw new Error('observer bug');
  },
};

let upstream: http.Server;
let proxy: ProxyServer;
let base: string;

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('ok'));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  proxy = new ProxyServer({
    logger: createLogger('observer-test', { level: 'silent' }),
    observers: [thrower, recorder],
  });
  await proxy.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  proxy.apply(
    completeConfig({
      services: [
        {
          ...SERVICE_DEFAULTS,
          id: 's',
          name: 's',
          host: '127.0.0.1',
          port: (upstream.address() as AddressInfo).port,
          created_at: 0,
          updated_at: 0,
        },
      ],
      routes: [
        {
          ...ROUTE_DEFAULTS,
          id: 'r',
          name: 'r',
          paths: ['/api'],
          service: { id: 's' },
          created_at: 0,
          updated_at: 0,
        },
      ],
    }),
  );
});

afterAll(async () => {
  await proxy.close();
  upstream.close();
});

async function settle(n: number): Promise<void> {
  for (let i = 0; i < 100 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
}

describe('request observers', () => {
  it('count the bytes of each request on a keep-alive connection, not the connection so far', async () => {
    seen.length = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<void>((resolve) =>
        http.get(`${base}/api/k`, { agent }, (r) => r.resume().on('end', resolve)),
      );
    await get();
    await settle(1);
    await get();
    await settle(2);
    agent.destroy();
    expect(seen[1]!.bytesIn).toBe(seen[0]!.bytesIn);
    expect(seen[1]!.bytesOut).toBe(seen[0]!.bytesOut);
  });

  it('see a proxied request once, after its response, with its route and status', async () => {
    seen.length = 0;
    const res = await fetch(`${base}/api/x`);
    expect(await res.text()).toBe('ok');
    await settle(1);
    expect(seen).toEqual([
      {
        path: '/api/x',
        route: 'r',
        status: 200,
        finished: true,
        ordered: true,
        wentUpstream: true,
        bytesIn: expect.any(Number),
        bytesOut: expect.any(Number),
      },
    ]);
    // The request line alone, and at least the 2-byte body with a status line.
    expect(seen[0]!.bytesIn).toBeGreaterThan('GET /api/x HTTP/1.1\r\n'.length);
    expect(seen[0]!.bytesOut).toBeGreaterThan('HTTP/1.1 200 OK\r\n'.length + 2);
  });

  it('see a request no route matched (404), and a throwing observer does not stop the others', async () => {
    seen.length = 0;
    const res = await fetch(`${base}/nowhere`);
    expect(res.status).toBe(404);
    await settle(1);
    expect(seen).toEqual([
      {
        path: '/nowhere',
        route: null,
        status: 404,
        finished: true,
        ordered: true,
        wentUpstream: false,
        bytesIn: expect.any(Number),
        bytesOut: expect.any(Number),
      },
    ]);
  });

  it('see every one of several concurrent requests exactly once', async () => {
    seen.length = 0;
    await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${base}/api/${i}`).then((r) => r.text())));
    await settle(20);
    expect(seen.map((s) => s.path).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `/api/${i}`).sort());
  });
});
