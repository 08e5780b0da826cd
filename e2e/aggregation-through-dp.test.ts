/**
 * response-aggregation through a real data plane process (`gatehouse dp --config`, DB-less, two
 * workers) with key-auth in front: two real backends (orders, users), a chained call and a
 * failing one under the partial policy.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tempDir, type Proc, startDblessDp } from './helpers/processes.js';

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('response-aggregation through a real data plane process, behind key-auth', () => {
  let orders: Server;
  let users: Server;
  let dp: Proc;
  let proxy: string;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    const o = await listen((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url === '/orders/42')
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: 42, user_id: 'u-7', total: 99, internal: 'x' }));
      else res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"boom"}');
    });
    const u = await listen((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: req.url?.split('/').pop(), name: 'Ann', email: 'ann@example.com' }));
    });
    orders = o.server;
    users = u.server;
    const dir = tempDir('aggregation');
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      stringify({
        _format_version: '3.0',
        services: [
          { name: 'orders', url: o.url },
          { name: 'users', url: `${u.url}/v1` },
          {
            name: 'composite',
            url: o.url,
            routes: [
              {
                name: 'order-view',
                paths: ['/order-view'],
                plugins: [
                  { name: 'key-auth', config: { hide_credentials: true } },
                  {
                    name: 'response-aggregation',
                    config: {
                      on_failure: 'partial',
                      calls: [
                        {
                          name: 'order',
                          service: 'orders',
                          path: '/orders/{request.query.id}',
                          fields: ['id', 'total'],
                        },
                        {
                          name: 'customer',
                          service: 'users',
                          path: '/users/{resp.order.user_id}',
                          fields: ['name'],
                          rename: { name: 'display_name' },
                        },
                        { name: 'invoice', service: 'orders', path: '/invoices/{request.query.id}' },
                      ],
                    },
                  },
                ],
              },
            ],
          },
        ],
        consumers: [{ username: 'alice', keyauth_credentials: [{ key: 'alice-key' }] }],
      }),
    );
    ({ proc: dp, proxy } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 2 }));
  });

  afterAll(async () => {
    await dp?.stop();
    for (const s of [orders, users]) {
      s?.closeAllConnections();
      await new Promise((r) => s?.close(r));
    }
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${proxy}${path}`, { headers, signal: AbortSignal.timeout(10_000) });

  it('answers 401 without a key and calls no backend', async () => {
    seen.length = 0;
    const r = await get('/order-view?id=42');
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ message: 'No API key found in request' });
    expect(seen).toHaveLength(0);
  });

  it('answers the composed response with a key: chained call, failed call null and named in the marker header', async () => {
    seen.length = 0;
    const r = await get('/order-view?id=42', { apikey: 'alice-key' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-gatehouse-aggregation-partial')).toBe('invoice');
    expect(await r.json()).toEqual({
      order: { id: 42, total: 99 },
      customer: { display_name: 'Ann' },
      invoice: null,
    });
    expect(seen.map((s) => s.url).sort()).toEqual(['/invoices/42', '/orders/42', '/v1/users/u-7']);
    for (const s of seen) expect(s.headers.apikey).toBeUndefined();
  });
});
