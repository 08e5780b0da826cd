/**
 * RBAC (issue 13) against a real control plane in this process with `enforceRbac` on, on the
 * given database kind: the `/rbac` API in Kong Enterprise's shapes, tokens (shown once, hashed,
 * rotated, expired, disabled), the 401/403 answers in Kong's words, the actor, login throttling,
 * and the matrix: every bundled role × every Admin API route (read from the app's router) ×
 * every method, against what each role is documented to allow.
 */
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { databaseDir } from '../../control-plane/src/data-folder.js';
import { createPostgresDatabase, quietLogger, type DbKind } from '../helpers/db.js';
import { seedPglite } from '../helpers/pglite-template.js';
import { matrixAnswerRight, matrixCases, ROLES, type Role } from './rbac-matrix.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON, checked by assertions
type Json = any;

const ADMIN_TOKEN = 'seed-admin-token-0123456789abcdef';
const KONG_401 = { message: 'Invalid credentials. Token or User credentials required' };
const MAX_FAILURES = 20;
interface Reply {
  status: number;
  body: Json;
  headers: Headers;
}

export function rbacContract(kind: DbKind): void {
  describe(`RBAC (${kind})`, () => {
    let cp: ControlPlane;
    let dataDir: string;
    let drop: (() => Promise<void>) | undefined;
    const tokens: Partial<Record<Role | 'none', string>> = {};

    async function call(
      method: string,
      path: string,
      token: string | undefined,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Reply> {
      const h: Record<string, string> = { ...headers };
      if (token !== undefined) h['kong-admin-token'] = token;
      const init: RequestInit = { method, headers: h };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        h['content-type'] ??= 'application/json';
      }
      const res = await fetch(cp.adminUrl + path, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed, headers: res.headers };
    }
    const su = (method: string, path: string, body?: unknown) => call(method, path, ADMIN_TOKEN, body);

    /** A GET from another loopback address (login throttling counts per client address). */
    function getFrom(
      localAddress: string,
      token: string,
    ): Promise<{ status: number; body: Json; retryAfter?: string }> {
      const url = new URL(cp.adminUrl);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: '/services',
            localAddress,
            headers: { 'kong-admin-token': token },
            agent: false,
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => (text += d));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: text ? JSON.parse(text) : undefined,
                retryAfter: res.headers['retry-after'],
              }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    }

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-rbac-'));
      const pg = kind === 'postgres' ? await createPostgresDatabase() : undefined;
      // PGlite from the migrated template, as the other integration tests start it.
      if (!pg) await seedPglite(databaseDir(dataDir));
      drop = pg ? () => pg.drop() : undefined;
      cp = await startControlPlane({
        adminListen: { host: '127.0.0.1', port: 0 },
        clusterListen: { host: '127.0.0.1', port: 0 },
        dataDir,
        databaseUrl: pg?.url,
        dev: true,
        adminToken: ADMIN_TOKEN,
        enforceRbac: true,
        loginThrottle: { maxFailures: MAX_FAILURES, windowMs: 3_600_000 },
        logger: quietLogger('cp'),
      });
      for (const role of ROLES) {
        const u = await su('POST', '/rbac/users', { name: `matrix-${role}` });
        expect(u.status, JSON.stringify(u.body)).toBe(201);
        tokens[role] = u.body.user_token as string;
        const r = await su('POST', `/rbac/users/matrix-${role}/roles`, { roles: role });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
      const none = await su('POST', '/rbac/users', { name: 'matrix-none' });
      tokens.none = none.body.user_token as string;
    }, 180_000);

    afterAll(async () => {
      await cp?.stop();
      await drop?.();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('seeds kong_admin as super-admin from the admin token, and the four bundled roles', async () => {
      const me = await su('GET', '/rbac/users/kong_admin/roles');
      expect(me.status).toBe(200);
      expect(me.body.roles.map((r: Json) => r.name as string)).toEqual(['super-admin']);
      expect(me.body.user).not.toHaveProperty('user_token');
      const roles = await su('GET', '/rbac/roles');
      expect(
        roles.body.data.filter((r: Json) => r.is_bundled === true).map((r: Json) => r.name as string),
      ).toEqual(['admin', 'operator', 'read-only', 'super-admin']);
      const ro = await su('GET', '/rbac/roles/read-only/endpoints');
      expect(ro.body.data).toEqual([
        expect.objectContaining({ endpoint: '*', actions: ['read'], negative: false, workspace: '*' }),
      ]);
    });

    it('answers a missing or unknown token with 401 and Kong’s message', async () => {
      for (const token of [undefined, 'not-a-token-of-anyone-0000000', '']) {
        const r = await call('GET', '/', token);
        expect(r.status, String(token)).toBe(401);
        expect(r.body).toEqual(KONG_401);
      }
    });

    it('shows a token once, stores it hashed, and rotates it with PATCH', async () => {
      const created = await su('POST', '/rbac/users', {
        name: 'rotate-me',
        user_token: 'first-token-abcdefghijklmnop',
        comment: 'ci',
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'rotate-me',
        user_token: 'first-token-abcdefghijklmnop',
        enabled: true,
        comment: 'ci',
        user_token_expires_at: null,
      });
      expect(created.body.user_token_ident).toMatch(/^[0-9a-f]{8}$/);
      const read = await su('GET', `/rbac/users/${created.body.id}`);
      expect(read.status).toBe(200);
      expect(read.body).not.toHaveProperty('user_token');
      expect(JSON.stringify((await su('GET', '/rbac/users')).body)).not.toContain('first-token');
      await su('POST', '/rbac/users/rotate-me/roles', { roles: 'read-only' });
      expect((await call('GET', '/services', 'first-token-abcdefghijklmnop')).status).toBe(200);
      // The use is noted off the request path (rbac-store.ts `authenticate`): read until it lands.
      let used = await su('GET', '/rbac/users/rotate-me');
      for (let i = 0; i < 100 && typeof used.body.last_used_at !== 'number'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        used = await su('GET', '/rbac/users/rotate-me');
      }
      expect(typeof used.body.last_used_at).toBe('number');

      const rotated = await su('PATCH', '/rbac/users/rotate-me', {
        user_token: 'second-token-abcdefghijklmnop',
      });
      expect(rotated.status).toBe(200);
      expect(rotated.body).not.toHaveProperty('user_token');
      expect(rotated.body.user_token_ident).not.toBe(created.body.user_token_ident);
      expect((await call('GET', '/services', 'first-token-abcdefghijklmnop')).status).toBe(401);
      expect((await call('GET', '/services', 'second-token-abcdefghijklmnop')).status).toBe(200);
    });

    it('refuses an expired or disabled user’s token with 401, and takes it again once renewed', async () => {
      const nowS = Math.floor(Date.now() / 1000);
      const u = await su('POST', '/rbac/users', { name: 'expiring', user_token_expires_at: nowS - 1 });
      expect(u.status).toBe(201);
      await su('POST', '/rbac/users/expiring/roles', { roles: 'read-only' });
      expect(await call('GET', '/services', u.body.user_token)).toMatchObject({
        status: 401,
        body: KONG_401,
      });
      await su('PATCH', '/rbac/users/expiring', { user_token_expires_at: nowS + 3600 });
      expect((await call('GET', '/services', u.body.user_token)).status).toBe(200);
      await su('PATCH', '/rbac/users/expiring', { user_token_expires_at: null, enabled: false });
      expect((await call('GET', '/services', u.body.user_token)).status).toBe(401);
      await su('PATCH', '/rbac/users/expiring', { enabled: true });
      expect((await call('GET', '/services', u.body.user_token)).status).toBe(200);
    });

    it('answers what a role does not allow with 403 and Kong’s message naming the user and action', async () => {
      const r = await call('POST', '/services', tokens['read-only'], { name: 's', url: 'http://x.test' });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({
        message: 'matrix-read-only, you do not have permissions to create this resource',
      });
      const d = await call('DELETE', '/rbac/users/kong_admin', tokens.admin);
      expect(d.body).toEqual({
        message: 'matrix-admin, you do not have permissions to delete this resource',
      });
      // Nothing was written.
      expect((await su('GET', '/services/s')).status).toBe(404);
      expect((await su('GET', '/rbac/users/kong_admin')).status).toBe(200);
    });

    it('denies by default: paths no role names, and users without roles', async () => {
      const custom = await su('POST', '/rbac/roles', { name: 'services-reader', comment: 'reads services' });
      expect(custom.status).toBe(201);
      expect(custom.body).toMatchObject({ name: 'services-reader', is_bundled: false });
      for (const endpoint of ['/services', '/services/*'])
        expect(
          (await su('POST', '/rbac/roles/services-reader/endpoints', { endpoint, actions: 'read,create' }))
            .status,
        ).toBe(201);
      const u = await su('POST', '/rbac/users', { name: 'svc-reader' });
      await su('POST', '/rbac/users/svc-reader/roles', { roles: ['services-reader'] });
      const t = u.body.user_token as string;
      expect((await call('GET', '/services', t)).status).toBe(200);
      expect((await call('POST', '/services', t, { name: 'by-reader', url: 'http://a.test' })).status).toBe(
        201,
      );
      expect((await call('GET', '/services/by-reader', t)).status).toBe(200);
      expect((await call('DELETE', '/services/by-reader', t)).status).toBe(403);
      expect((await call('GET', '/routes', t)).status).toBe(403);
      expect((await call('GET', '/services/by-reader/routes', t)).status).toBe(403);
      expect((await call('GET', '/no-such-path', t)).status).toBe(403);
      expect((await call('GET', '/no-such-path', tokens['super-admin'])).status).toBe(404);
      expect((await call('GET', '/', tokens.none)).status).toBe(403);

      // A negative permission narrows a broader one.
      await su('POST', '/rbac/roles/services-reader/endpoints', {
        endpoint: '/services/by-reader',
        actions: ['read'],
        negative: true,
      });
      expect((await call('GET', '/services/by-reader', t)).status).toBe(403);
      const perms = await su('GET', '/rbac/users/svc-reader/permissions');
      expect(perms.body.endpoints.default['/services/by-reader']).toEqual({
        actions: ['read'],
        negative: true,
      });
      const ep = await su('GET', '/rbac/roles/services-reader/endpoints/default/services/by-reader');
      expect(ep.body).toMatchObject({
        endpoint: '/services/by-reader',
        negative: true,
        role: { id: custom.body.id },
      });
      expect(
        (
          await su('PATCH', '/rbac/roles/services-reader/endpoints/default/services/by-reader', {
            negative: false,
          })
        ).status,
      ).toBe(200);
      expect((await call('GET', '/services/by-reader', t)).status).toBe(200);
      expect(
        (await su('DELETE', '/rbac/roles/services-reader/endpoints/default/services/by-reader')).status,
      ).toBe(204);
      expect((await su('DELETE', '/rbac/users/svc-reader/roles', { roles: 'services-reader' })).status).toBe(
        204,
      );
      expect((await call('GET', '/services', t)).status).toBe(403);
    });

    it('keeps bundled roles and the last super admin', async () => {
      for (const [m, p, b] of [
        ['DELETE', '/rbac/roles/admin', undefined],
        ['PATCH', '/rbac/roles/read-only', { comment: 'x' }],
        ['POST', '/rbac/roles/operator/endpoints', { endpoint: '/rbac/*', actions: 'read' }],
        ['DELETE', '/rbac/roles/super-admin/endpoints/*/*', undefined],
      ] as const) {
        const r = await su(m, p, b);
        expect(r.status, `${m} ${p}`).toBe(400);
        expect(r.body.message).toMatch(/bundled role/);
      }
      // matrix-super-admin is the other super admin: while it is disabled, kong_admin is the last.
      expect((await su('PATCH', '/rbac/users/matrix-super-admin', { enabled: false })).status).toBe(200);
      try {
        const del = await su('DELETE', '/rbac/users/kong_admin');
        expect(del.status).toBe(400);
        expect(del.body.message).toMatch(/last enabled super-admin/);
        expect((await su('PATCH', '/rbac/users/kong_admin', { enabled: false })).status).toBe(400);
        expect((await su('DELETE', '/rbac/users/kong_admin/roles', { roles: 'super-admin' })).status).toBe(
          400,
        );
        expect((await su('DELETE', '/rbac/users/kong_admin/roles?roles=super-admin')).status).toBe(400);
        expect((await su('GET', '/rbac/users/kong_admin/roles')).body.roles).toHaveLength(1);
      } finally {
        expect((await su('PATCH', '/rbac/users/matrix-super-admin', { enabled: true })).status).toBe(200);
      }
    });

    it('answers the /rbac API’s mistakes with Kong-shaped 4xx', async () => {
      const missing = await su('POST', '/rbac/users', {});
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({
        name: 'schema violation',
        fields: { name: 'required field missing' },
      });
      const dup = await su('POST', '/rbac/users', { name: 'kong_admin' });
      expect(dup.status).toBe(409);
      expect(dup.body).toMatchObject({ name: 'unique constraint violation', fields: { name: 'kong_admin' } });
      const weak = await su('POST', '/rbac/users', { name: 'weak', user_token: 'short' });
      expect(weak.body.fields.user_token).toMatch(/at least 16/);
      const sameToken = await su('POST', '/rbac/users', { name: 'copycat', user_token: ADMIN_TOKEN });
      expect(sameToken.status).toBe(400);
      const noRole = await su('POST', '/rbac/users/kong_admin/roles', { roles: 'no-such-role' });
      expect(noRole).toMatchObject({
        status: 400,
        body: { message: "role not found with name 'no-such-role'" },
      });
      expect((await su('GET', '/rbac/users/nobody')).status).toBe(404);
      const ws = await su('POST', '/rbac/roles', { name: 'ws-test' });
      expect(ws.status).toBe(201);
      const badWs = await su('POST', '/rbac/roles/ws-test/endpoints', {
        endpoint: '/services',
        actions: 'read',
        workspace: 'team-a',
      });
      expect(badWs.status).toBe(400);
      expect(badWs.body.fields.workspace).toMatch(/only "default"/);
      const badAction = await su('POST', '/rbac/roles/ws-test/endpoints', {
        endpoint: '/services',
        actions: 'write',
      });
      expect(badAction.body.fields.actions).toMatch(/read, create, update, delete/);
      const form = await call('POST', '/rbac/users', ADMIN_TOKEN, 'name=form-user&enabled=false', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(form.status).toBe(201);
      expect(form.body).toMatchObject({ name: 'form-user', enabled: false });
    });

    it('walks every role × every route × its methods: allowed ones pass the check, others get 403', async () => {
      const routes = cp.adminRoutes();
      expect(routes.length).toBeGreaterThan(40);
      expect(routes.map((r) => r.path)).toEqual(
        expect.arrayContaining(['/rbac/users', '/services', '/config']),
      );
      const cases = matrixCases(routes);
      const failures: string[] = [];
      const queue = [...cases];
      const worker = async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          const r = await call(c.method, c.path, tokens[c.role]);
          if (!matrixAnswerRight(c, r.status, r.body?.message))
            failures.push(`${c.role} ${c.method} ${c.path}: ${r.status} ${JSON.stringify(r.body)}`);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      expect(failures).toEqual([]);
      expect(cases.length).toBeGreaterThan(routes.length * 5);
    }, 600_000);

    it('answers GET /userinfo to every signed-in user with itself: its roles, their endpoints, their union', async () => {
      const ro = await call('GET', '/userinfo', tokens['read-only']);
      expect(ro.status).toBe(200);
      expect(ro.body).toMatchObject({
        actor: { name: 'matrix-read-only', kind: 'rbac-user' },
        rbac_enforced: true,
        rbac_user: { name: 'matrix-read-only', enabled: true },
        roles: [
          {
            name: 'read-only',
            is_bundled: true,
            endpoints: [expect.objectContaining({ endpoint: '*', actions: ['read'], negative: false })],
          },
        ],
        permissions: { endpoints: { '*': { '*': { actions: ['read'], negative: false } } } },
      });
      expect(JSON.stringify(ro.body)).not.toContain(tokens['read-only']!);
      const none = await call('GET', '/userinfo', tokens.none);
      expect(none.status).toBe(200);
      expect(none.body).toMatchObject({
        rbac_user: { name: 'matrix-none' },
        roles: [],
        permissions: { endpoints: {} },
      });
      // Only reading it is exempt from the roles' check.
      expect((await call('POST', '/userinfo', tokens.none)).status).toBe(403);
      expect((await call('GET', '/userinfo/x', tokens.none)).status).toBe(403);
      expect(await call('GET', '/userinfo', undefined)).toMatchObject({ status: 401, body: KONG_401 });
    });

    it('answers hostile /userinfo requests (query, method, path spelling, headers) without a 5xx or another user', async () => {
      const users = ['read-only', 'none'] as const;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...users),
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
          fc.constantFrom(
            '/userinfo',
            '/userinfo/',
            '/USERINFO',
            '//userinfo',
            '/x/../userinfo',
            '/%75serinfo',
          ),
          fc.string({ maxLength: 30 }).map((q) => encodeURIComponent(q)),
          fc.dictionary(
            fc.constantFrom('x-forwarded-user', 'x-consumer-username', 'kong-admin-user'),
            fc.string({ maxLength: 12 }).filter((v) => /^[\x21-\x7e]*$/.test(v)),
          ),
          async (who, method, path, query, headers) => {
            const r = await call(method, `${path}?${query}`, tokens[who], undefined, headers);
            expect(r.status).toBeLessThan(500);
            if (r.status === 200 && method === 'GET') expect(r.body.actor.name).toBe(`matrix-${who}`);
            if (method !== 'GET') expect([403, 405]).toContain(r.status);
          },
        ),
        { numRuns: Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 40) },
      );
    });

    it('throttles a client address after too many failed tokens, whatever it sends then (429, Retry-After)', async () => {
      const address = '127.0.0.9';
      for (let i = 0; i < MAX_FAILURES; i++)
        expect((await getFrom(address, `wrong-token-${i}-xxxxxxxxxxxx`)).status).toBe(401);
      const blocked = await getFrom(address, ADMIN_TOKEN);
      expect(blocked.status).toBe(429);
      expect(blocked.body).toEqual({ message: 'Too many failed authentication attempts, try again later' });
      expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
      // Other addresses are not held back.
      expect((await getFrom('127.0.0.1', ADMIN_TOKEN)).status).toBe(200);
    });
  });
}
