/**
 * Admin API access (issue 8 item 5): cross-origin browser writes, DNS-rebinding Host headers and
 * the admin token, against the real Admin API (POST /config included) over real sockets.
 * Requests go through node:http so Host, Origin and Sec-Fetch-* are sent exactly as written.
 */
import { request } from 'node:http';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import type { AdminAccessPolicy } from '../../control-plane/src/admin/access.js';
import { createConfigRouter } from '../../control-plane/src/declarative/index.js';
import { quietLogger } from '../helpers/db.js';
import { openStore, type StoreFixture } from '../declarative/helpers.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const UI = 'http://127.0.0.1:8002';
const KONG_401 = { message: 'Invalid credentials. Token or User credentials required' };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One request with exactly these headers (no Host added unless given). */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers, setHost: !('host' in headers), agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const form = (username: string) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: `username=${encodeURIComponent(username)}`,
});

describe('Admin API access', () => {
  let fx: StoreFixture;
  const servers: Server[] = [];
  let open: number; // loopback, no token, UI origin listed
  let locked: number; // loopback, token

  async function serve(access: AdminAccessPolicy): Promise<number> {
    const logger = quietLogger();
    const app = createAdminApp({
      store: fx.store,
      logger,
      access,
      routers: [createConfigRouter(fx.store, logger, { plugins: fx.plugins })],
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    return (server.address() as AddressInfo).port;
  }

  beforeAll(async () => {
    fx = await openStore('pglite');
    open = await serve({ origins: [UI] });
    locked = await serve({ token: TOKEN });
  });
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await fx?.db.drop();
  });
  beforeEach(async () => {
    await fx.db.db.prisma.consumer.deleteMany();
  });

  const consumers = async () =>
    (await fx.db.db.prisma.consumer.findMany({ select: { username: true } })).map((c) => c.username).sort();

  describe('cross-origin writes', () => {
    it('refuses the cross-site form POST (Origin: http://evil.example) with 403 and creates nothing', async () => {
      const f = form('mallory');
      const r = await raw(
        open,
        'POST',
        '/consumers',
        { ...f.headers, origin: 'http://evil.example' },
        f.body,
      );
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ message: expect.stringContaining('--admin-origins') });
      expect(Object.keys(r.body as object)).toEqual(['message']);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
      expect(await consumers()).toEqual([]);
    });

    it('refuses PUT, PATCH, DELETE and a text/plain POST /config from another origin', async () => {
      await raw(open, 'POST', '/consumers', { 'content-type': 'application/json' }, '{"username":"bob"}');
      const evil = { origin: 'http://evil.example' };
      const tries: [string, string, Record<string, string>, string?][] = [
        ['PUT', '/consumers/eve', { 'content-type': 'application/x-www-form-urlencoded' }, 'username=eve'],
        ['PATCH', '/consumers/bob', { 'content-type': 'application/x-www-form-urlencoded' }, 'custom_id=x'],
        ['DELETE', '/consumers/bob', {}],
        ['POST', '/config', { 'content-type': 'text/plain' }, '_format_version: "3.0"\n'],
      ];
      for (const [method, path, headers, body] of tries) {
        const r = await raw(open, method, path, { ...headers, ...evil }, body);
        expect(r.status, `${method} ${path}`).toBe(403);
      }
      expect(await consumers()).toEqual(['bob']);
    });

    it('refuses a write marked Sec-Fetch-Site: cross-site, and Origin: null', async () => {
      const f = form('mallory');
      const a = await raw(
        open,
        'POST',
        '/consumers',
        { ...f.headers, 'sec-fetch-site': 'cross-site' },
        f.body,
      );
      expect(a.status).toBe(403);
      const b = await raw(open, 'POST', '/consumers', { ...f.headers, origin: 'null' }, f.body);
      expect(b.status).toBe(403);
      // same host, another port or scheme: another origin
      for (const origin of [
        `http://127.0.0.1:${open + 1}`,
        `https://127.0.0.1:${open}`,
        'http://localhost',
      ]) {
        const r = await raw(open, 'POST', '/consumers', { ...f.headers, origin }, f.body);
        expect(r.status, origin).toBe(403);
      }
      expect(await consumers()).toEqual([]);
    });

    it('takes writes without Origin (curl, scripts), same-origin ones and listed origins', async () => {
      const plain = await raw(open, 'POST', '/consumers', form('script').headers, form('script').body);
      expect(plain.status).toBe(201);
      const same = await raw(
        open,
        'POST',
        '/consumers',
        { ...form('same').headers, origin: `http://127.0.0.1:${open}`, 'sec-fetch-site': 'same-origin' },
        form('same').body,
      );
      expect(same.status).toBe(201);
      const viaLocalhost = await raw(
        open,
        'POST',
        '/consumers',
        { ...form('local').headers, host: `localhost:${open}`, origin: `http://localhost:${open}` },
        form('local').body,
      );
      expect(viaLocalhost.status).toBe(201);
      const ui = await raw(
        open,
        'POST',
        '/consumers',
        { 'content-type': 'application/json', origin: UI, 'sec-fetch-site': 'cross-site' },
        '{"username":"ui"}',
      );
      expect(ui.status).toBe(201);
      expect(ui.headers['access-control-allow-origin']).toBe(UI);
      expect(ui.headers.vary).toMatch(/Origin/);
      expect(await consumers()).toEqual(['local', 'same', 'script', 'ui']);
    });

    it('answers a listed origin’s preflight and refuses another’s; reads from anywhere stay readable only same-origin', async () => {
      const pre = {
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      };
      const ok = await raw(open, 'OPTIONS', '/consumers', { ...pre, origin: UI });
      expect(ok.status).toBe(204);
      expect(ok.headers['access-control-allow-origin']).toBe(UI);
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      expect(ok.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS, POST');
      expect(ok.headers['access-control-allow-headers']).toBe('content-type');
      const evil = await raw(open, 'OPTIONS', '/consumers', { ...pre, origin: 'http://evil.example' });
      expect(evil.status).toBe(403);
      const read = await raw(open, 'GET', '/consumers', { origin: 'http://evil.example' });
      expect(read.status).toBe(200);
      expect(read.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('Host header (DNS rebinding)', () => {
    it('refuses a Host that is not loopback or listed, for reads and writes', async () => {
      for (const host of ['evil.example', `evil.example:${open}`, `127.0.0.1.nip.io:${open}`, 'a b', '']) {
        const get = await raw(open, 'GET', '/consumers', { host });
        expect(get.status, host).toBe(host === '' ? 403 : 403);
        const post = await raw(
          open,
          'POST',
          '/consumers',
          { ...form('rebound').headers, host },
          form('rebound').body,
        );
        expect(post.status, host).toBe(403);
      }
      const r = await raw(open, 'GET', '/', { host: `evil.example:${open}` });
      expect(r.body).toEqual({ message: expect.stringContaining('--admin-hosts') });
      expect(await consumers()).toEqual([]);
    });

    it('answers to loopback names and configured hosts', async () => {
      for (const host of [`127.0.0.1:${open}`, `localhost:${open}`, `[::1]:${open}`, 'LOCALHOST'])
        expect((await raw(open, 'GET', '/', { host })).status, host).toBe(200);
      const named = await serve({ hosts: ['admin.example'] });
      expect((await raw(named, 'GET', '/', { host: `admin.example:${named}` })).status).toBe(200);
      expect((await raw(named, 'GET', '/', { host: `other.example:${named}` })).status).toBe(403);
    });
  });

  describe('admin token', () => {
    it('answers 401 with Kong’s message without a token or with a wrong one, on every path', async () => {
      const attempts: Record<string, string>[] = [
        {},
        { 'kong-admin-token': 'wrong-token-0123456789abcdef' },
        { 'kong-admin-token': TOKEN.slice(0, -1) },
        { 'kong-admin-token': `${TOKEN}x` },
        { authorization: `Basic ${TOKEN}` },
        { authorization: 'Bearer' },
      ];
      for (const headers of attempts) {
        for (const [method, path] of [
          ['GET', '/'],
          ['GET', '/consumers'],
          ['GET', '/clustering/status'],
          ['GET', '/config'],
        ] as const) {
          const r = await raw(locked, method, path, headers);
          expect(r.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
          expect(r.body).toEqual(KONG_401);
        }
        const w = await raw(
          locked,
          'POST',
          '/consumers',
          { ...form('x').headers, ...headers },
          form('x').body,
        );
        expect(w.status).toBe(401);
      }
      expect(await consumers()).toEqual([]);
    });

    it('takes the token as Kong-Admin-Token or Authorization: Bearer', async () => {
      const a = await raw(
        locked,
        'POST',
        '/consumers',
        { ...form('a').headers, 'kong-admin-token': TOKEN },
        form('a').body,
      );
      expect(a.status).toBe(201);
      const b = await raw(
        locked,
        'POST',
        '/consumers',
        { ...form('b').headers, authorization: `Bearer ${TOKEN}` },
        form('b').body,
      );
      expect(b.status).toBe(201);
      expect((await raw(locked, 'GET', '/', { 'kong-admin-token': TOKEN })).status).toBe(200);
      expect(await consumers()).toEqual(['a', 'b']);
    });

    it('still refuses a cross-origin write that carries the token', async () => {
      const r = await raw(
        locked,
        'POST',
        '/consumers',
        { ...form('c').headers, 'kong-admin-token': TOKEN, origin: 'http://evil.example' },
        form('c').body,
      );
      expect(r.status).toBe(403);
      expect(await consumers()).toEqual([]);
    });
  });

  describe('hostile header values (fast-check)', () => {
    const headerText = fc.oneof(
      fc.constantFrom(
        '',
        'null',
        'http://evil.example',
        UI,
        'http://127.0.0.1',
        'localhost',
        '127.0.0.1',
        '[::1]',
        'cross-site',
        'same-origin',
        TOKEN,
        `Bearer ${TOKEN}`,
        `bearer  ${TOKEN} `,
        TOKEN.toUpperCase(),
        '__proto__',
        'constructor',
      ),
      fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
      fc.stringMatching(/^[a-z0-9.:[\]-]{0,40}$/),
    );
    const headerSet = fc.record(
      {
        host: headerText,
        origin: headerText,
        'sec-fetch-site': headerText,
        // Often the right token, so the accepted path is reached too.
        'kong-admin-token': fc.oneof(
          { arbitrary: fc.constant(TOKEN), weight: 2 },
          { arbitrary: headerText, weight: 1 },
        ),
        authorization: headerText,
      },
      { requiredKeys: [] },
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD');

    const RUNS = 300;
    it(`never answers 5xx and never writes without the token or from a foreign origin (${RUNS} runs per server)`, async () => {
      let created = 0;
      const accepted: number[] = [];
      for (const [port, token] of [
        [open, undefined],
        [locked, TOKEN],
      ] as const) {
        await fc.assert(
          fc.asyncProperty(headerSet, method, fc.nat(), async (headers, m, n) => {
            const name = `fc${created}-${n}`;
            const path = m === 'POST' ? '/consumers' : `/consumers/${name}`;
            const body = ['POST', 'PUT', 'PATCH'].includes(m) ? `username=${name}` : undefined;
            const sent = {
              ...headers,
              ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
            };
            const r = await raw(port, m, path, sent, body);
            expect(r.status).toBeLessThan(500);
            if (r.status !== 201 && !(m === 'PUT' && r.status === 200)) return;
            created++;
            // A write went through: the token was right (when one is set), the Host was ours, and
            // the browser headers did not say another origin.
            if (token) {
              const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '')?.[1];
              const presented =
                headers['kong-admin-token'] !== undefined ? headers['kong-admin-token'].trim() : bearer;
              expect(presented).toBe(token);
            }
            if (headers.host !== undefined)
              expect(['127.0.0.1', 'localhost', '[::1]']).toContain(
                headers.host.trim().toLowerCase().replace(/:\d+$/, '').replace(/\.$/, ''),
              );
            const listed = headers.origin === UI && port === open;
            if (!listed) {
              expect(headers['sec-fetch-site']).not.toBe('cross-site');
              if (headers.origin !== undefined)
                expect(headers.origin).toBe(`http://${headers.host?.trim() ?? `127.0.0.1:${port}`}`);
            }
          }),
          // One write that must go through on either server, so the accepted path is always
          // exercised (the random header sets reach it only a few times in 300 runs).
          { numRuns: RUNS, examples: [[{ 'kong-admin-token': TOKEN }, 'POST', 0]] },
        );
        accepted.push(created - accepted.reduce((a, b) => a + b, 0));
      }
      // The generator reaches the accepted path on both servers, not only refusals.
      expect(accepted[0]).toBeGreaterThan(0);
      expect(accepted[1]).toBeGreaterThan(0);
      // Every consumer in the database came from an accepted write.
      expect((await consumers()).length).toBeLessThanOrEqual(created);
      expect(Object.prototype).toEqual({});
    });
  });
});
