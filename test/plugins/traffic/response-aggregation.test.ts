import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { service } from '../../proxy/helpers.js';
import { until } from '../../helpers/until.js';
import { call, plugin, startTrafficGateway, type TrafficGateway } from './helpers.js';

/** What the backends saw: raw request target and headers, by path prefix. */
interface Seen {
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
}

describe('Plugin: response-aggregation (access, real ProxyServer and backends)', () => {
  let gw: TrafficGateway;
  let backend: http.Server;
  let backendPort: number;
  const seen: Seen[] = [];
  let releaseSlow: () => void = () => undefined;
  /** Slow requests whose connection the gateway closed before they were answered. */
  let slowCancelled = 0;

  beforeAll(async () => {
    gw = await startTrafficGateway();
    backend = http.createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '/';
      seen.push({ url, headers: req.headers });
      if (url.startsWith('/orders/')) {
        json(res, 200, { id: url.slice(8), user_id: 'u 7/..?x', total: 10, secret: 'internal' });
      } else if (url.startsWith('/users/')) {
        json(res, 200, {
          id: decodeURIComponent(url.slice(7).split('?')[0]!),
          name: 'Ann',
          email: 'ann@example.com',
        });
      } else if (url === '/stock') {
        json(res, 200, { items: [{ sku: 'a', qty: 1 }], warehouse: { city: 'Lyon', code: 'LY' } });
      } else if (url === '/slow') {
        // Answers only once the test releases it (after the call timed out).
        const timer = setTimeout(() => json(res, 200, { late: true }), 30_000);
        res.on('close', () => {
          if (!res.writableEnded) slowCancelled++;
        });
        releaseSlow = () => {
          clearTimeout(timer);
          res.destroy();
        };
      } else if (url === '/fail') {
        json(res, 500, { message: 'boom' });
      } else if (url === '/big') {
        json(res, 200, { blob: 'x'.repeat(4096) });
      } else if (url === '/proto') {
        json(res, 200, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"p":1}},"a":1}');
      } else if (url === '/deep') {
        json(res, 200, '['.repeat(5000) + ']'.repeat(5000));
      } else if (url === '/text') {
        res.end('not json');
      } else {
        json(res, 404, { message: 'not found' });
      }
    });
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    backendPort = (backend.address() as AddressInfo).port;
  });
  afterAll(async () => {
    releaseSlow();
    await gw.close();
    backend.closeAllConnections();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });

  const apply = (config: Record<string, unknown>) =>
    gw.apply({
      services: [
        service('svc', gw.upstreamPort),
        service('shop', backendPort),
        service('people', backendPort, { path: '/users' }),
      ],
      plugins: [plugin('response-aggregation', config, { route: { id: 'r' } })],
    });

  it('composes two parallel calls under their names, each filtered and renamed, without calling the route upstream', async () => {
    apply({
      calls: [
        { name: 'order', service: 'shop', path: '/orders/{request.query.id}', fields: ['id', 'total'] },
        {
          name: 'stock',
          service: 'shop',
          path: '/stock',
          fields: ['warehouse.city'],
          rename: { 'warehouse.city': 'city' },
        },
      ],
    });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/agg?id=42');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.json()).toEqual({ order: { id: '42', total: 10 }, stock: { city: 'Lyon', warehouse: {} } });
    expect(r.headers['x-gatehouse-aggregation-partial']).toBeUndefined();
    expect(gw.upstreamHits()).toBe(before);
  });

  it("chains a call on an earlier response's field, percent-encoded into the path after the service's path", async () => {
    apply({
      calls: [
        { name: 'order', service: 'shop', path: '/orders/7' },
        { name: 'user', service: 'people', path: '/{resp.order.user_id}?via=agg', fields: ['name', 'id'] },
      ],
    });
    seen.length = 0;
    const r = await call(gw.port, '/agg');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      order: { id: '7', user_id: 'u 7/..?x', total: 10, secret: 'internal' },
      user: { name: 'Ann', id: 'u 7/..?x' },
    });
    expect(seen.map((s) => s.url)).toEqual(['/orders/7', '/users/u%207%2F..%3Fx?via=agg']);
  });

  it('merges results at the top level with merge', async () => {
    apply({
      merge: true,
      calls: [
        { name: 'order', service: 'shop', path: '/orders/1', fields: ['total'] },
        { name: 'stock', service: 'shop', path: '/stock', fields: ['warehouse.code'] },
      ],
    });
    const r = await call(gw.port, '/agg');
    expect(r.json()).toEqual({ total: 10, warehouse: { code: 'LY' } });
  });

  it('sends only the named client headers and the request id, never the rest (credentials)', async () => {
    apply({
      forward_headers: ['X-Tenant'],
      calls: [{ name: 'order', service: 'shop', path: '/orders/1' }],
    });
    seen.length = 0;
    await call(gw.port, '/agg', {
      headers: { 'x-tenant': 't1', authorization: 'Bearer secret', 'x-request-id': 'rid-1', cookie: 'a=b' },
    });
    expect(seen).toHaveLength(1);
    const h = seen[0]!.headers;
    expect(h['x-tenant']).toBe('t1');
    expect(h['x-request-id']).toBe('rid-1');
    expect(h.authorization).toBeUndefined();
    expect(h.cookie).toBeUndefined();
    expect(h.host).toBe(`127.0.0.1:${backendPort}`);
  });

  it('answers 502 naming the call that hit its timeout under on_failure fail', async () => {
    apply({
      calls: [
        { name: 'order', service: 'shop', path: '/orders/1' },
        { name: 'slow', service: 'shop', path: '/slow', timeout: 100 },
      ],
    });
    const r = await call(gw.port, '/agg');
    releaseSlow();
    expect(r.status).toBe(502);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PLUGIN_AGGREGATION_FAILED');
    expect(r.json()).toEqual({ message: "aggregation call 'slow' failed: timed out after 100 ms" });
  });

  it('answers 200 with the timed-out call null and named in the marker header under partial', async () => {
    apply({
      on_failure: 'partial',
      calls: [
        { name: 'order', service: 'shop', path: '/orders/1', fields: ['id'] },
        { name: 'slow', service: 'shop', path: '/slow', timeout: 100 },
      ],
    });
    const r = await call(gw.port, '/agg');
    releaseSlow();
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ order: { id: '1' }, slow: null });
    expect(r.headers['x-gatehouse-aggregation-partial']).toBe('slow');
  });

  it('fails a backend error status under fail, and under partial also fails what depends on it', async () => {
    const calls = [
      { name: 'broken', service: 'shop', path: '/fail' },
      { name: 'after', service: 'shop', path: '/stock', depends_on: ['broken'] },
      { name: 'order', service: 'shop', path: '/orders/3', fields: ['id'] },
    ];
    apply({ calls });
    const failed = await call(gw.port, '/agg');
    expect(failed.status).toBe(502);
    expect(failed.json()).toEqual({ message: "aggregation call 'broken' failed: status 500" });

    apply({ calls, on_failure: 'partial' });
    seen.length = 0;
    const partial = await call(gw.port, '/agg');
    expect(partial.status).toBe(200);
    expect(partial.json()).toEqual({ broken: null, after: null, order: { id: '3' } });
    expect(partial.headers['x-gatehouse-aggregation-partial']).toBe('broken, after');
    expect(seen.map((s) => s.url).sort()).toEqual(['/fail', '/orders/3']);
  });

  it('answers 502 as soon as a call fails under fail, cancelling the calls still running', async () => {
    apply({
      timeout: 60_000,
      calls: [
        { name: 'slow', service: 'shop', path: '/slow', timeout: 60_000 },
        { name: 'broken', service: 'shop', path: '/fail' },
      ],
    });
    const before = slowCancelled;
    const r = await call(gw.port, '/agg');
    expect(r.status).toBe(502);
    expect(r.json()).toEqual({ message: "aggregation call 'broken' failed: status 500" });
    await until(async () => slowCancelled > before, 'the slow call to be cancelled');
  });

  it('fails a call whose body is over max_body_size, or not JSON, or nested too deeply', async () => {
    apply({
      on_failure: 'partial',
      max_body_size: 1024,
      calls: [
        { name: 'big', service: 'shop', path: '/big' },
        { name: 'text', service: 'shop', path: '/text' },
        { name: 'deep', service: 'shop', path: '/deep' },
        { name: 'ok', service: 'shop', path: '/stock', fields: ['warehouse.code'] },
      ],
    });
    const r = await call(gw.port, '/agg');
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ big: null, text: null, deep: null, ok: { warehouse: { code: 'LY' } } });
    expect(r.headers['x-gatehouse-aggregation-partial']).toBe('big, text, deep');
    apply({ max_body_size: 1024, calls: [{ name: 'big', service: 'shop', path: '/big' }] });
    expect((await call(gw.port, '/agg')).json()).toEqual({
      message: "aggregation call 'big' failed: body over 1024 bytes",
    });
  });

  it('keeps backend __proto__ keys as data, never as a prototype', async () => {
    apply({ calls: [{ name: 'p', service: 'shop', path: '/proto' }] });
    const r = await call(gw.port, '/agg');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(
      '{"p":{"__proto__":{"polluted":true},"constructor":{"prototype":{"p":1}},"a":1}}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('fails a call whose substituted value is missing or a dot segment, without sending it', async () => {
    apply({
      on_failure: 'partial',
      calls: [
        { name: 'missing', service: 'shop', path: '/orders/{request.query.id}' },
        { name: 'dots', service: 'shop', path: '/orders/{request.header.x-id}' },
      ],
    });
    seen.length = 0;
    const r = await call(gw.port, '/agg', { headers: { 'x-id': '..' } });
    expect(r.json()).toEqual({ missing: null, dots: null });
    expect(seen).toHaveLength(0);
  });

  it('fails a call to a service the snapshot does not have', async () => {
    apply({ calls: [{ name: 'ghost', service: 'nowhere', path: '/x' }] });
    const r = await call(gw.port, '/agg');
    expect(r.status).toBe(502);
    expect(r.json()).toEqual({ message: "aggregation call 'ghost' failed: service 'nowhere' not found" });
  });
});
