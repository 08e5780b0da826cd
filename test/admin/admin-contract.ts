/**
 * The Admin API contract, run against each database kind (see postgres.test.ts / pglite.test.ts).
 * Talks to a real HTTP server on an ephemeral port.
 */
import { describe, expect, it } from 'vitest';
import type { DbKind } from '../helpers/db.js';
import { useAdminServer, type Json, type Reply } from './contract-server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function adminApiContract(kind: DbKind) {
  describe(`Admin API on ${kind}`, () => {
    const admin = useAdminServer(kind, { plugins: false, bodyLimit: '64kb' });
    const { call } = admin;

    const createService = async (body: Record<string, unknown>): Promise<Json> => {
      const r = await call('POST', '/services', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    };
    const createRoute = async (body: Record<string, unknown>): Promise<Json> => {
      const r = await call('POST', '/routes', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    };

    describe('services', () => {
      it('POST /services creates a service with Kong defaults and answers 201 with its Kong shape', async () => {
        const r = await call('POST', '/services', { name: 'billing', host: 'billing.internal' });
        expect(r.status).toBe(201);
        expect(r.headers.get('content-type')).toMatch(/application\/json/);
        expect(r.body).toEqual({
          id: expect.stringMatching(UUID),
          name: 'billing',
          protocol: 'http',
          host: 'billing.internal',
          port: 80,
          path: null,
          retries: 5,
          connect_timeout: 60000,
          write_timeout: 60000,
          read_timeout: 60000,
          enabled: true,
          tags: null,
          client_certificate: null,
          tls_verify: null,
          tls_verify_depth: null,
          ca_certificates: null,
          created_at: expect.any(Number),
          updated_at: expect.any(Number),
        });
        expect(Math.abs(r.body.created_at - Date.now() / 1000)).toBeLessThan(120);
      });

      it('expands the url shorthand into protocol, host, port and path', async () => {
        const s = await createService({ name: 'api', url: 'https://api.example.com:8443/v1/users' });
        expect(s).toMatchObject({
          protocol: 'https',
          host: 'api.example.com',
          port: 8443,
          path: '/v1/users',
        });
        const d = await createService({ url: 'https://secure.example.com' });
        expect(d).toMatchObject({
          protocol: 'https',
          host: 'secure.example.com',
          port: 443,
          path: null,
          name: null,
        });
      });

      it('accepts a client-chosen id and rejects a second entity with the same id', async () => {
        const id = '5a0a7c1e-1111-4222-8333-444455556666';
        const s = await createService({ id, host: 'a.example' });
        expect(s.id).toBe(id);
        const r = await call('POST', '/services', { id, host: 'b.example' });
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          message: `primary key violation on key '{id="${id}"}'`,
          name: 'primary key violation',
          code: 3,
          fields: { id },
        });
      });

      it('GET /services/{id or name} finds the service both ways and 404s otherwise', async () => {
        const s = await createService({ name: 'orders', host: 'orders.internal' });
        expect((await call('GET', `/services/${s.id}`)).body).toEqual(s);
        expect((await call('GET', '/services/orders')).body).toEqual(s);
        const missing = await call('GET', '/services/nope');
        expect(missing.status).toBe(404);
        expect(missing.body).toEqual({ message: 'Not found' });
        const missingId = await call('GET', '/services/00000000-0000-4000-8000-000000000000');
        expect(missingId.status).toBe(404);
        expect(missingId.body).toEqual({ message: 'Not found' });
      });

      it('PATCH changes only the given fields and validates the merged entity', async () => {
        const s = await createService({ name: 'p', host: 'p.internal', retries: 2, tags: ['a'] });
        const r = await call('PATCH', '/services/p', { port: 8080, path: '/base' });
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({
          id: s.id,
          name: 'p',
          host: 'p.internal',
          port: 8080,
          path: '/base',
          retries: 2,
          tags: ['a'],
        });
        const cleared = await call('PATCH', `/services/${s.id}`, { path: null, tags: null });
        expect(cleared.body).toMatchObject({ path: null, tags: null, port: 8080 });
        const viaUrl = await call('PATCH', '/services/p', { url: 'https://q.internal:9443/x' });
        expect(viaUrl.body).toMatchObject({ protocol: 'https', host: 'q.internal', port: 9443, path: '/x' });
        const bad = await call('PATCH', '/services/p', { port: -1 });
        expect(bad.status).toBe(400);
        expect(bad.body.fields).toEqual({ port: 'value should be between 0 and 65535' });
        expect((await call('PATCH', '/services/ghost', { port: 1 })).status).toBe(404);
      });

      it('PUT by name creates (200, as Kong) then replaces the whole service (200), resetting omitted fields to defaults', async () => {
        const created = await call('PUT', '/services/inventory', { host: 'inv.internal', retries: 1 });
        expect(created.status).toBe(200);
        expect(created.body).toMatchObject({ name: 'inventory', host: 'inv.internal', retries: 1 });
        const replaced = await call('PUT', '/services/inventory', { host: 'inv2.internal' });
        expect(replaced.status).toBe(200);
        expect(replaced.body).toMatchObject({
          id: created.body.id,
          name: 'inventory',
          host: 'inv2.internal',
          retries: 5,
        });
        expect(replaced.body.created_at).toBe(created.body.created_at);
      });

      it('PUT by id creates the service with that id; a body fetched with GET can be PUT back unchanged', async () => {
        const id = '0b6f4c2a-7d7e-4f00-9a00-0000000000aa';
        const created = await call('PUT', `/services/${id}`, { name: 'by-id', host: 'id.internal' });
        expect(created.status).toBe(200);
        expect(created.body.id).toBe(id);
        const again = await call('PUT', `/services/${id}`, created.body);
        expect(again.status).toBe(200);
        expect({ ...again.body, updated_at: 0 }).toEqual({ ...created.body, updated_at: 0 });
      });

      it('DELETE answers 204, the service is gone, and deleting again is still 204', async () => {
        const s = await createService({ name: 'gone', host: 'g.internal' });
        expect((await call('DELETE', '/services/gone')).status).toBe(204);
        expect((await call('GET', `/services/${s.id}`)).status).toBe(404);
        expect((await call('DELETE', '/services/gone')).status).toBe(204);
      });

      it('a duplicate name is a 409 unique violation in Kong shape', async () => {
        await createService({ name: 'dup', host: 'a.internal' });
        const r = await call('POST', '/services', { name: 'dup', host: 'b.internal' });
        expect(r.status).toBe(409);
        expect(r.body).toEqual({
          message: `UNIQUE violation detected on '{name="dup"}'`,
          name: 'unique constraint violation',
          code: 5,
          fields: { name: 'dup' },
        });
        const other = await createService({ name: 'other', host: 'o.internal' });
        const rename = await call('PATCH', `/services/${other.id}`, { name: 'dup' });
        expect(rename.status).toBe(409);
        expect(rename.body.code).toBe(5);
      });

      it('a schema violation is a 400 naming every bad field', async () => {
        const r = await call('POST', '/services', {
          name: 'bad name!',
          protocol: 'ftp',
          port: 70000,
          retries: 'many',
          connect_timeout: 0,
          read_timeout: 2 ** 31,
          path: 'no-slash',
          enabled: 'yes',
          tags: 'not-a-set',
        });
        expect(r.status).toBe(400);
        expect(r.body.name).toBe('schema violation');
        expect(r.body.code).toBe(2);
        expect(r.body.fields).toEqual({
          name: "invalid value 'bad name!': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
          protocol: 'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss',
          host: 'required field missing',
          port: 'value should be between 0 and 65535',
          retries: 'expected an integer',
          connect_timeout: 'value should be between 1 and 2147483646',
          read_timeout: 'value should be between 1 and 2147483646',
          path: 'should start with: /',
          enabled: 'expected a boolean',
          tags: 'expected a set',
        });
        expect(r.body.message).toMatch(/^10 schema violations \(/);
        expect(r.body.message).toContain('host: required field missing');
      });

      it('an unknown field is a schema violation, and the host must not carry a port', async () => {
        const r = await call('POST', '/services', { host: 'x.internal', colour: 'blue' });
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          message: 'schema violation (colour: unknown field)',
          name: 'schema violation',
          code: 2,
          fields: { colour: 'unknown field' },
        });
        const port = await call('POST', '/services', { host: 'x.internal:80' });
        expect(port.body.fields).toEqual({ host: 'must not have a port' });
      });

      it('accepts application/x-www-form-urlencoded bodies like Kong', async () => {
        const r = await call(
          'POST',
          '/services',
          'name=form&host=form.internal&port=8081&enabled=false&tags=a&tags=b',
          {
            'content-type': 'application/x-www-form-urlencoded',
          },
        );
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        expect(r.body).toMatchObject({
          name: 'form',
          host: 'form.internal',
          port: 8081,
          enabled: false,
          tags: ['a', 'b'],
        });
        const bad = await call('POST', '/services', 'host=h.internal&port=eighty', {
          'content-type': 'application/x-www-form-urlencoded',
        });
        expect(bad.status).toBe(400);
        expect(bad.body.fields).toEqual({ port: 'expected an integer' });
      });
    });

    describe('request bodies that are not entities', () => {
      it('malformed JSON is a 400, not a 500', async () => {
        const r = await call('POST', '/services', '{"host": "x",');
        expect(r.status).toBe(400);
        expect(r.body).toEqual({ message: 'Cannot parse JSON body' });
      });

      it('an unsupported content type is a 415', async () => {
        const r = await call('POST', '/services', 'host=x', { 'content-type': 'text/plain' });
        expect(r.status).toBe(415);
        expect(r.body).toEqual({ message: 'Unsupported Content-Type' });
      });

      it('an oversized body is a 413', async () => {
        const r = await call('POST', '/services', { host: 'x.internal', tags: ['t'.repeat(100_000)] });
        expect(r.status).toBe(413);
        expect(r.body).toEqual({ message: 'Request body too large' });
      });

      it('a JSON array or an empty body is a schema violation', async () => {
        const arr = await call('POST', '/services', [{ host: 'x' }]);
        expect(arr.status).toBe(400);
        expect(arr.body).toMatchObject({
          name: 'schema violation',
          code: 2,
          fields: { '@entity': ['expected a record'] },
        });
        const empty = await call('POST', '/services');
        expect(empty.status).toBe(400);
        expect(empty.body.fields).toEqual({ host: 'required field missing' });
      });

      it('a path parameter that is not valid percent-encoding is a 400', async () => {
        const r = await call('GET', '/services/%ZZ');
        expect(r.status).toBe(400);
        expect(r.body).toEqual({ message: 'Bad request' });
      });

      it('an unknown path is a 404 and a wrong method is a 405, both JSON', async () => {
        const r = await call('GET', '/nothing-here');
        expect(r.status).toBe(404);
        expect(r.body).toEqual({ message: 'Not found' });
        const m = await call('POST', '/services/some-name');
        expect(m.status).toBe(405);
        expect(m.body).toEqual({ message: 'Method not allowed' });
      });
    });

    describe('routes', () => {
      it('POST /routes with a service by id or name stores the Kong shape with defaults', async () => {
        const s = await createService({ name: 'backend', host: 'b.internal' });
        const r = await call('POST', '/routes', { name: 'r1', paths: ['/api'], service: { id: s.id } });
        expect(r.status).toBe(201);
        expect(r.body).toEqual({
          id: expect.stringMatching(UUID),
          name: 'r1',
          protocols: ['http', 'https'],
          methods: null,
          hosts: null,
          paths: ['/api'],
          headers: null,
          snis: null,
          sources: null,
          destinations: null,
          regex_priority: 0,
          strip_path: true,
          path_handling: 'v0',
          preserve_host: false,
          https_redirect_status_code: 426,
          request_buffering: true,
          response_buffering: true,
          service: { id: s.id },
          tags: null,
          created_at: expect.any(Number),
          updated_at: expect.any(Number),
        });
        const byName = await createRoute({
          hosts: ['*.example.com'],
          headers: { 'X-Env': ['prod'] },
          service: { name: 'backend' },
        });
        expect(byName).toMatchObject({
          service: { id: s.id },
          hosts: ['*.example.com'],
          headers: { 'x-env': ['prod'] },
        });
        expect((await call('GET', '/routes/r1')).body).toEqual(r.body);
        expect((await call('GET', `/routes/${r.body.id}/service`)).body).toEqual(s);
      });

      it('a route must set one of methods, hosts, headers, paths, snis', async () => {
        const r = await call('POST', '/routes', { name: 'empty' });
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          message:
            "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
          name: 'schema violation',
          code: 2,
          fields: {
            '@entity': [
              "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'",
            ],
          },
        });
        const httpOnly = await call('POST', '/routes', { protocols: ['http'] });
        expect(httpOnly.body.fields['@entity']).toEqual([
          "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'",
        ]);
      });

      it('rejects bad paths, methods, protocols, hosts and redirect codes field by field', async () => {
        const r = await call('POST', '/routes', {
          paths: ['/ok', 'nope', '~/(unclosed'],
          methods: ['get'],
          protocols: ['http', 'gopher'],
          hosts: ['a.*.com'],
          https_redirect_status_code: 303,
          path_handling: 'v2',
        });
        expect(r.status).toBe(400);
        expect(r.body.fields).toEqual({
          paths: [
            null,
            'should start with: / (fixed path) or ~/ (regex path)',
            expect.stringMatching(/^invalid regex: '\/\(unclosed'/),
          ],
          methods: ["invalid value 'get': the only accepted characters are uppercase letters"],
          protocols: [
            null,
            'expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss',
          ],
          hosts: ['invalid wildcard: must be placed at leftmost or rightmost label'],
          https_redirect_status_code: 'expected one of: 426, 301, 302, 307, 308',
          path_handling: 'expected one of: v0, v1',
        });
        expect(r.body.message).toMatch(/^7 schema violations/);
      });

      it('a route naming a missing service is a 400 foreign key violation', async () => {
        const id = '11111111-2222-4333-8444-555555555555';
        const r = await call('POST', '/routes', { paths: ['/x'], service: { id } });
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.`,
          name: 'foreign key violation',
          code: 4,
          fields: { service: { id } },
        });
      });

      it('deleting a service that routes reference is a 400 foreign key violation; it works once the routes are gone', async () => {
        const s = await createService({ name: 'held', host: 'h.internal' });
        const route = await createRoute({ paths: ['/held'], service: { id: s.id } });
        const r = await call('DELETE', '/services/held');
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          message: "an existing 'routes' entity references this 'services' entity",
          name: 'foreign key violation',
          code: 4,
          fields: { '@referenced_by': 'routes' },
        });
        expect((await call('GET', '/services/held')).status).toBe(200);
        expect((await call('DELETE', `/routes/${route.id}`)).status).toBe(204);
        expect((await call('DELETE', '/services/held')).status).toBe(204);
      });

      it('nested /services/{service}/routes lists and creates routes of that service only', async () => {
        const a = await createService({ name: 'svc-a', host: 'a.internal' });
        const b = await createService({ name: 'svc-b', host: 'b.internal' });
        const created = await call('POST', '/services/svc-a/routes', { paths: ['/a'] });
        expect(created.status).toBe(201);
        expect(created.body.service).toEqual({ id: a.id });
        await createRoute({ paths: ['/b'], service: { id: b.id } });
        const list = await call('GET', `/services/${a.id}/routes`);
        expect(list.status).toBe(200);
        expect(list.body).toEqual({ data: [created.body], next: null });
        expect((await call('GET', '/services/nope/routes')).status).toBe(404);
        expect((await call('POST', '/services/nope/routes', { paths: ['/z'] })).status).toBe(404);
      });

      it('PATCH, PUT and DELETE on routes follow Kong semantics', async () => {
        const s = await createService({ name: 'rs', host: 'rs.internal' });
        const r = await createRoute({ name: 'rr', paths: ['/v1'], strip_path: false });
        const patched = await call('PATCH', '/routes/rr', {
          methods: ['GET', 'POST'],
          service: { name: 'rs' },
        });
        expect(patched.status).toBe(200);
        expect(patched.body).toMatchObject({
          id: r.id,
          paths: ['/v1'],
          methods: ['GET', 'POST'],
          strip_path: false,
          service: { id: s.id },
        });
        const unset = await call('PATCH', '/routes/rr', { paths: null, methods: null });
        expect(unset.status).toBe(400);
        expect(unset.body.fields['@entity']).toHaveLength(1);
        const put = await call('PUT', '/routes/rr', { hosts: ['example.com'] });
        expect(put.status).toBe(200);
        expect(put.body).toMatchObject({
          id: r.id,
          name: 'rr',
          hosts: ['example.com'],
          paths: null,
          strip_path: true,
          service: null,
        });
        const created = await call('PUT', '/routes/new-route', { paths: ['/n'] });
        expect(created.status).toBe(200);
        expect((await call('DELETE', '/routes/rr')).status).toBe(204);
        expect((await call('GET', '/routes/rr')).status).toBe(404);
        const dup = await call('POST', '/routes', { name: 'new-route', paths: ['/d'] });
        expect(dup.status).toBe(409);
        expect(dup.body).toMatchObject({
          code: 5,
          name: 'unique constraint violation',
          fields: { name: 'new-route' },
        });
      });
    });

    describe('listing', () => {
      it('pages with size and an opaque offset; next links to the following page', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++)
          ids.push((await createService({ name: `s${i}`, host: `s${i}.internal` })).id);
        ids.sort();
        const first = await call('GET', '/services?size=2');
        expect(first.status).toBe(200);
        expect(first.body.data.map((s: { id: string }) => s.id)).toEqual(ids.slice(0, 2));
        expect(typeof first.body.offset).toBe('string');
        expect(first.body.next).toBe(`/services?offset=${encodeURIComponent(first.body.offset)}&size=2`);
        const second = await call('GET', first.body.next);
        expect(second.body.data.map((s: { id: string }) => s.id)).toEqual(ids.slice(2, 4));
        const third = await call('GET', second.body.next);
        expect(third.body.data.map((s: { id: string }) => s.id)).toEqual(ids.slice(4));
        expect(third.body.next).toBeNull();
        expect(third.body.offset).toBeUndefined();
        const all = await call('GET', '/services');
        expect(all.body.data).toHaveLength(5);
        expect(all.body.next).toBeNull();
      });

      it('rejects a bad size or offset with Kong errors', async () => {
        for (const size of ['0', '1001', '-3']) {
          const r = await call('GET', `/services?size=${size}`);
          expect(r.status).toBe(400);
          expect(r.body).toEqual({
            message: 'size must be an integer between 1 and 1000',
            name: 'invalid size',
            code: 9,
          });
        }
        const nan = await call('GET', '/routes?size=ten');
        expect(nan.body).toEqual({ message: 'size must be a number', name: 'invalid size', code: 9 });
        const off = await call('GET', '/services?offset=%25%25%25');
        expect(off.status).toBe(400);
        expect(off.body).toEqual({
          message: "'%%%' is not a valid offset: bad base64 encoding",
          name: 'invalid offset',
          code: 7,
        });
      });

      it('filters by tags: a,b means all of them, a/b means any of them', async () => {
        await createService({ name: 't1', host: 't1.internal', tags: ['red', 'big'] });
        await createService({ name: 't2', host: 't2.internal', tags: ['red'] });
        await createService({ name: 't3', host: 't3.internal', tags: ['blue'] });
        const names = (r: Reply): Json => r.body.data.map((s: { name: string }) => s.name).sort();
        expect(names(await call('GET', '/services?tags=red'))).toEqual(['t1', 't2']);
        expect(names(await call('GET', '/services?tags=red,big'))).toEqual(['t1']);
        expect(names(await call('GET', '/services?tags=big/blue'))).toEqual(['t1', 't3']);
        const mixed = await call('GET', '/services?tags=a,b/c');
        expect(mixed.status).toBe(400);
        expect(mixed.body).toEqual({
          message: 'invalid option (tags: invalid filter syntax)',
          name: 'invalid options',
          code: 11,
          options: { tags: 'invalid filter syntax' },
        });
        await createRoute({ paths: ['/t'], tags: ['edge'] });
        await createRoute({ paths: ['/u'] });
        expect((await call('GET', '/routes?tags=edge')).body.data).toHaveLength(1);
      });
    });

    describe('config store', () => {
      it('each committed write bumps the config version once and fires onChange with it; failed writes do not', async () => {
        const seen: bigint[] = [];
        const off = admin.store.onChange((v) => seen.push(v));
        try {
          const before = await admin.store.currentVersion();
          await createService({ name: 'v1', host: 'v.internal' });
          expect(await admin.store.currentVersion()).toBe(before + 1n);
          expect(seen).toEqual([before + 1n]);
          await call('PATCH', '/services/v1', { port: 81 });
          await call('POST', '/services', { name: 'v1', host: 'dup.internal' }); // 409, rolled back
          await call('POST', '/services', { host: 'x', port: 'bad' }); // 400 before any write
          await call('DELETE', '/services/not-there'); // nothing to delete
          expect(await admin.store.currentVersion()).toBe(before + 2n);
          expect(seen).toEqual([before + 1n, before + 2n]);
        } finally {
          off();
        }
        await createService({ name: 'after-off', host: 'a.internal' });
        expect(seen).toHaveLength(2);
      });

      it('readConfig returns the version and every entity in Kong shape, sorted by id', async () => {
        const s1 = await createService({ name: 'c1', host: 'c1.internal', tags: ['x'] });
        const s2 = await createService({ url: 'https://c2.internal:8443/p' });
        const r1 = await createRoute({ paths: ['/c1'], service: { id: s1.id }, headers: { 'x-a': ['1'] } });
        const r2 = await createRoute({ hosts: ['c2.example'], service: { id: s2.id } });
        const { version, config } = await admin.store.readConfig();
        expect(version).toBe(await admin.store.currentVersion());
        expect(typeof version).toBe('bigint');
        expect(config.services).toEqual([s1, s2].sort((a, b) => (a.id < b.id ? -1 : 1)));
        expect(config.routes).toEqual([r1, r2].sort((a, b) => (a.id < b.id ? -1 : 1)));
      });

      it('readConfig pairs a version with exactly the entities written up to it under concurrent writes', async () => {
        const writes = Array.from({ length: 8 }, (_, i) =>
          createService({ name: `cc${i}`, host: 'cc.internal' }),
        );
        const reads: Promise<{ version: bigint; config: { services: unknown[] } }>[] = [];
        for (let i = 0; i < 8; i++) reads.push(admin.store.readConfig());
        await Promise.all(writes);
        const base = (await admin.store.readConfig()).version - 8n;
        for (const { version, config } of await Promise.all(reads)) {
          expect(config.services.length).toBe(Number(version - base));
        }
      });
    });

    it('GET / reports the node and the config version', async () => {
      const r = await call('GET', '/');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ version: expect.any(String), hostname: expect.any(String) });
      expect(r.body.configuration.config_version).toBe((await admin.store.currentVersion()).toString());
    });
  });
}
