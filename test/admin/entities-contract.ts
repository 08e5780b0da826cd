/**
 * Admin API contract for the entities beyond services and routes, run against each database
 * kind (entities-postgres.test.ts / entities-pglite.test.ts) with the real plugin registry.
 */
import { describe, expect, it } from 'vitest';
import { verifyBasicAuthPassword } from '../../shared/src/entities/index.js';
import {
  CA_CERT,
  EC_CERT,
  EC_KEY,
  LEAF_CERT,
  RSA_CERT,
  RSA_KEY,
  RSA_PUBLIC_KEY,
} from '../../shared/src/entities/test-fixtures.js';
import type { DbKind } from '../helpers/db.js';
import { useAdminServer } from './contract-server.js';

export function entitiesContract(kind: DbKind) {
  describe(`Admin API entities on ${kind}`, () => {
    const admin = useAdminServer(kind);
    const { call, ok } = admin;

    describe('upstreams and targets', () => {
      it('creates an upstream with Kong defaults; name is unique (409); PUT by name upserts', async () => {
        const u = await ok('POST', '/upstreams', { name: 'backend.internal', tags: ['t1'] });
        expect(u).toMatchObject({
          name: 'backend.internal',
          algorithm: 'round-robin',
          slots: 10000,
          client_certificate: null,
        });
        expect(u.healthchecks.active.healthy).toEqual({
          interval: 0,
          http_statuses: [200, 302],
          successes: 0,
        });
        const dup = await call('POST', '/upstreams', { name: 'backend.internal' });
        expect(dup.status).toBe(409);
        expect(dup.body).toEqual({
          message: `UNIQUE violation detected on '{name="backend.internal"}'`,
          name: 'unique constraint violation',
          code: 5,
          fields: { name: 'backend.internal' },
        });
        const put = await call('PUT', '/upstreams/backend.internal', { slots: 100 });
        expect(put.status).toBe(200);
        expect(put.body).toMatchObject({ id: u.id, slots: 100, tags: null });
        expect((await call('PUT', '/upstreams/other.internal', {})).status).toBe(200);
      });

      it('PATCH merges a partial healthchecks record over the stored one', async () => {
        await ok('POST', '/upstreams', { name: 'u1' });
        const p = await ok(
          'PATCH',
          '/upstreams/u1',
          { healthchecks: { active: { healthy: { interval: 5 } } } },
          200,
        );
        expect(p.healthchecks.active.healthy).toEqual({
          interval: 5,
          http_statuses: [200, 302],
          successes: 0,
        });
        expect(p.healthchecks.active.timeout).toBe(1);
        const bad = await call('PATCH', '/upstreams/u1', { healthchecks: { active: { type: 'ftp' } } });
        expect(bad.status).toBe(400);
        expect(bad.body.fields).toEqual({
          healthchecks: { active: { type: 'expected one of: tcp, http, https, grpc, grpcs' } },
        });
      });

      it('manages targets under an upstream: default port, lookup by target, unique per upstream, cascade', async () => {
        const u = await ok('POST', '/upstreams', { name: 'pool' });
        const t = await ok('POST', '/upstreams/pool/targets', { target: '10.0.0.1' });
        expect(t).toMatchObject({ target: '10.0.0.1:8000', weight: 100, upstream: { id: u.id } });
        expect(typeof t.created_at).toBe('number');
        expect((await ok('GET', '/upstreams/pool/targets/10.0.0.1:8000', undefined, 200)).id).toBe(t.id);
        const dup = await call('POST', `/upstreams/${u.id}/targets`, { target: '10.0.0.1:8000' });
        expect(dup.status).toBe(409);
        expect(dup.body.message).toBe(
          `UNIQUE violation detected on '{target="10.0.0.1:8000",upstream={id="${u.id}"}}'`,
        );
        expect((await call('GET', '/upstreams/nope/targets')).status).toBe(404);
        const w = await ok('PATCH', `/upstreams/pool/targets/${t.id}`, { weight: 0 }, 200);
        expect(w.weight).toBe(0);
        expect((await ok('GET', '/upstreams/pool/targets', undefined, 200)).data).toHaveLength(1);
        expect((await call('DELETE', '/upstreams/pool')).status).toBe(204);
        expect(await admin.tdb.db.prisma.target.count()).toBe(0);
      });
    });

    describe('consumers and credentials', () => {
      it('needs username or custom_id and finds consumers by either', async () => {
        const bad = await call('POST', '/consumers', {});
        expect(bad.status).toBe(400);
        expect(bad.body).toEqual({
          message:
            "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
          name: 'schema violation',
          code: 2,
          fields: { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] },
        });
        const c = await ok('POST', '/consumers', { username: 'alice', custom_id: 'A-1' });
        expect((await ok('GET', '/consumers/alice', undefined, 200)).id).toBe(c.id);
        expect((await ok('GET', '/consumers/A-1', undefined, 200)).id).toBe(c.id);
        expect((await call('POST', '/consumers', { custom_id: 'A-1' })).status).toBe(409);
        expect((await call('GET', '/consumers/bob')).body).toEqual({ message: 'Not found' });
      });

      it('key-auth: generated keys, unique keys (409), nested and top-level collections', async () => {
        const c = await ok('POST', '/consumers', { username: 'alice' });
        const k = await ok('POST', '/consumers/alice/key-auth', {});
        expect(k).toMatchObject({
          consumer: { id: c.id },
          key: expect.stringMatching(/^[0-9a-f]{32}$/),
          ttl: null,
        });
        await ok('POST', '/consumers/alice/key-auth', { key: 'secret-key', tags: ['x'] });
        expect((await call('POST', '/key-auths', { key: 'secret-key', consumer: { id: c.id } })).status).toBe(
          409,
        );
        expect((await ok('GET', '/key-auths/secret-key', undefined, 200)).consumer.id).toBe(c.id);
        expect((await ok('GET', '/consumers/alice/key-auth', undefined, 200)).data).toHaveLength(2);
        expect((await call('POST', '/consumers/ghost/key-auth', {})).status).toBe(404);
        const missing = await call('POST', '/key-auths', {
          consumer: { id: '00000000-0000-4000-8000-000000000000' },
        });
        expect(missing.status).toBe(400);
        expect(missing.body).toMatchObject({ name: 'foreign key violation', code: 4 });
      });

      it('basic-auth stores a scrypt hash, never the password', async () => {
        await ok('POST', '/consumers', { username: 'bob' });
        const b = await ok('POST', '/consumers/bob/basic-auth', { username: 'bob', password: 'pw' });
        expect(b.password).not.toBe('pw');
        expect(verifyBasicAuthPassword('pw', b.password)).toBe(true);
        expect(
          (await call('POST', '/basic-auths', { username: 'bob', password: 'x', consumer: { name: 'bob' } }))
            .status,
        ).toBe(409);
      });

      it('jwt, hmac-auth and acls, and all of them cascade with the consumer', async () => {
        await ok('POST', '/consumers', { username: 'carol' });
        const j = await ok('POST', '/consumers/carol/jwt', {});
        expect(j).toMatchObject({ algorithm: 'HS256', rsa_public_key: null });
        expect(j.secret).toMatch(/^[0-9a-f]{32}$/);
        await ok('POST', '/consumers/carol/jwt', { algorithm: 'RS256', rsa_public_key: RSA_PUBLIC_KEY });
        const bad = await call('POST', '/consumers/carol/jwt', { algorithm: 'RS256' });
        expect(bad.body.fields).toEqual({
          rsa_public_key: 'required field missing',
          '@entity': ["failed conditional validation given value of field 'algorithm'"],
        });
        const h = await ok('POST', '/consumers/carol/hmac-auth', { username: 'carol-h' });
        expect(h.secret).toMatch(/^[0-9a-f]{32}$/);
        await ok('POST', '/consumers/carol/acls', { group: 'admins' });
        expect((await call('POST', '/consumers/carol/acls', { group: 'admins' })).status).toBe(409);
        expect((await ok('GET', '/consumers/carol/acls/admins', undefined, 200)).group).toBe('admins');
        await ok('POST', '/consumers/carol/key-auth', {});
        await ok('POST', '/consumers/carol/oauth2', { name: 'carol-app' });
        await ok('POST', '/consumers/carol/plugins', { name: 'request-termination' });
        expect((await call('DELETE', '/consumers/carol')).status).toBe(204);
        const { config } = await admin.store.readConfig();
        for (const key of [
          'jwt_secrets',
          'hmacauth_credentials',
          'acls',
          'keyauth_credentials',
          'oauth2_credentials',
          'plugins',
        ] as const)
          expect(config[key]).toEqual([]);
      });
    });

    describe('consumer groups', () => {
      it('adds and removes members in Kong shape; memberships cascade', async () => {
        const g = await ok('POST', '/consumer_groups', { name: 'gold' });
        const a = await ok('POST', '/consumers', { username: 'a' });
        await ok('POST', '/consumers', { username: 'b' });
        const added = await ok('POST', '/consumer_groups/gold/consumers', { consumer: ['a', 'b'] });
        expect(added.consumer_group.id).toBe(g.id);
        expect(added.consumers.map((c: { username: string }) => c.username)).toEqual(['a', 'b']);
        expect((await call('POST', '/consumer_groups/gold/consumers', { consumer: 'a' })).status).toBe(409);
        expect((await ok('GET', '/consumer_groups/gold/consumers', undefined, 200)).data).toHaveLength(2);
        expect((await ok('GET', '/consumers/a/consumer_groups', undefined, 200)).data[0].name).toBe('gold');
        expect((await call('DELETE', '/consumer_groups/gold/consumers/a')).status).toBe(204);
        expect((await ok('GET', '/consumer_groups/gold/consumers', undefined, 200)).data).toHaveLength(1);
        await ok('POST', '/consumers/a/consumer_groups', { group: 'gold' });
        const { config } = await admin.store.readConfig();
        expect(config.consumer_group_consumers.map((m) => m.consumer.id)).toContain(a.id);
        expect((await call('DELETE', '/consumer_groups/gold')).status).toBe(204);
        expect((await admin.store.readConfig()).config.consumer_group_consumers).toEqual([]);
      });
    });

    describe('plugins', () => {
      it('validates config through the registry with defaults; unknown names are a 400', async () => {
        const p = await ok('POST', '/plugins', { name: 'key-auth' });
        expect(p).toMatchObject({
          name: 'key-auth',
          enabled: true,
          protocols: ['grpc', 'grpcs', 'http', 'https'],
        });
        expect(p.config.key_names).toEqual(['apikey']);
        const unknown = await call('POST', '/plugins', { name: 'nope' });
        expect(unknown.status).toBe(400);
        expect(unknown.body.fields).toEqual({
          name: "plugin 'nope' not enabled; add it to the 'plugins' configuration property",
        });
        const badConfig = await call('POST', '/plugins', {
          name: 'request-termination',
          config: { status_code: 'x' },
        });
        expect(badConfig.status).toBe(400);
        expect(badConfig.body.fields.config.status_code).toBeDefined();
      });

      it('refuses the same plugin twice on one scope (409) and scopes nested plugins', async () => {
        const s = await ok('POST', '/services', { name: 'svc', host: 'svc.internal' });
        await ok('POST', '/routes', { name: 'r', paths: ['/r'], service: { id: s.id } });
        const sp = await ok('POST', '/services/svc/plugins', { name: 'key-auth' });
        expect(sp.service).toEqual({ id: s.id });
        const dup = await call('POST', '/plugins', { name: 'key-auth', service: { id: s.id } });
        expect(dup.status).toBe(409);
        expect(dup.body.name).toBe('unique constraint violation');
        await ok('POST', '/routes/r/plugins', { name: 'key-auth' });
        await ok('POST', '/plugins', { name: 'key-auth', instance_name: 'global-ka' });
        expect((await ok('GET', '/plugins/global-ka', undefined, 200)).name).toBe('key-auth');
        expect((await ok('GET', '/services/svc/plugins', undefined, 200)).data).toHaveLength(1);
        expect((await ok('GET', '/plugins/enabled', undefined, 200)).enabled_plugins).toContain('key-auth');
        expect((await call('DELETE', '/routes/r')).status).toBe(204);
        expect((await call('DELETE', '/services/svc')).status).toBe(204);
        expect(await admin.tdb.db.prisma.plugin.count()).toBe(1);
      });

      it('PATCH merges config and keeps defaults', async () => {
        const p = await ok('POST', '/plugins', { name: 'key-auth', config: { key_names: ['x-key'] } });
        const q = await ok('PATCH', `/plugins/${p.id}`, { config: { hide_credentials: true } }, 200);
        expect(q.config).toMatchObject({ key_names: ['x-key'], hide_credentials: true });
      });
    });

    describe('certificates, SNIs and CA certificates', () => {
      it('hides keys in lists, creates transient snis, finds by SNI name, cascades SNIs', async () => {
        const c = await ok('POST', '/certificates', {
          cert: RSA_CERT,
          key: RSA_KEY,
          snis: ['a.example', '*.b.example'],
        });
        expect(c.snis).toEqual(['*.b.example', 'a.example']);
        expect(c.key).toBe(RSA_KEY);
        const list = await ok('GET', '/certificates', undefined, 200);
        expect(list.data[0].key).toBeUndefined();
        expect(list.data[0].cert).toBe(RSA_CERT);
        expect((await ok('GET', '/certificates/a.example', undefined, 200)).id).toBe(c.id);
        expect((await ok('GET', `/certificates/${c.id}/snis`, undefined, 200)).data).toHaveLength(2);
        const dup = await call('POST', '/snis', { name: 'a.example', certificate: { id: c.id } });
        expect(dup.status).toBe(409);
        const mismatch = await call('POST', '/certificates', { cert: RSA_CERT, key: EC_KEY });
        expect(mismatch.body.fields).toEqual({ '@entity': ['certificate does not match key'] });
        expect((await call('DELETE', `/certificates/${c.id}`)).status).toBe(204);
        expect(await admin.tdb.db.prisma.sni.count()).toBe(0);
      });

      it('refuses to delete a certificate a service uses as client certificate', async () => {
        const c = await ok('POST', '/certificates', { cert: EC_CERT, key: EC_KEY });
        await ok('POST', '/services', { host: 'x.internal', client_certificate: { id: c.id } });
        const r = await call('DELETE', `/certificates/${c.id}`);
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          message: "an existing 'services' entity references this 'certificates' entity",
          name: 'foreign key violation',
          code: 4,
          fields: { '@referenced_by': 'services' },
        });
        const dangling = await call('POST', '/services', {
          host: 'y.internal',
          client_certificate: { id: '00000000-0000-4000-8000-000000000000' },
        });
        expect(dangling.status).toBe(400);
        expect(dangling.body.name).toBe('foreign key violation');
      });

      it('computes the CA digest and refuses the same CA twice', async () => {
        const ca = await ok('POST', '/ca_certificates', { cert: CA_CERT });
        expect(ca.cert_digest).toMatch(/^[0-9a-f]{64}$/);
        expect((await call('POST', '/ca_certificates', { cert: CA_CERT })).status).toBe(409);
        expect((await call('POST', '/ca_certificates', { cert: LEAF_CERT })).status).toBe(400);
      });
    });

    describe('tags, pagination, schemas, node info', () => {
      it('lists tags across entities and filters collections with AND and OR', async () => {
        await ok('POST', '/consumers', { username: 'u1', tags: ['a', 'b'] });
        await ok('POST', '/consumers', { username: 'u2', tags: ['b'] });
        await ok('POST', '/upstreams', { name: 'up', tags: ['a'] });
        expect((await ok('GET', '/consumers?tags=a,b', undefined, 200)).data).toHaveLength(1);
        expect((await ok('GET', '/consumers?tags=a/b', undefined, 200)).data).toHaveLength(2);
        const tags = await ok('GET', '/tags', undefined, 200);
        expect(tags.data).toHaveLength(4);
        expect(tags.data[0]).toEqual({ tag: 'a', entity_name: 'consumers', entity_id: expect.any(String) });
        const a = await ok('GET', '/tags/a', undefined, 200);
        expect(a.data.map((t: { entity_name: string }) => t.entity_name).sort()).toEqual([
          'consumers',
          'upstreams',
        ]);
        const page = await ok('GET', '/tags?size=3', undefined, 200);
        expect(page.data).toHaveLength(3);
        expect((await ok('GET', page.next, undefined, 200)).data).toHaveLength(1);
        expect((await call('GET', '/consumers?tags=a,b/c')).status).toBe(400);
      });

      it('paginates every collection by id', async () => {
        for (let i = 0; i < 3; i++) await ok('POST', '/consumers', { username: `p${i}` });
        const first = await ok('GET', '/consumers?size=2', undefined, 200);
        expect(first.data).toHaveLength(2);
        const second = await ok('GET', first.next, undefined, 200);
        expect(second).toMatchObject({ next: null });
        expect(second.data).toHaveLength(1);
      });

      it('serves entity and plugin schemas and validates bodies without saving', async () => {
        const s = await ok('GET', '/schemas/upstreams', undefined, 200);
        const name = (s.fields as Record<string, unknown>[]).find((f) => 'name' in f)?.name;
        // Kong's shape; len_max is our addition (docs/admin-api.md, input rules).
        expect(name).toMatchObject({ type: 'string', required: true, len_max: 253 });
        expect((await call('GET', '/schemas/nope')).status).toBe(404);
        const ps = await ok('GET', '/schemas/plugins/key-auth', undefined, 200);
        expect(JSON.stringify(ps)).toContain('key_names');
        expect((await call('GET', '/schemas/plugins/nope')).status).toBe(404);
        expect((await ok('POST', '/schemas/consumers/validate', { username: 'x' }, 200)).message).toBe(
          'schema validation successful',
        );
        expect((await call('POST', '/schemas/consumers/validate', {})).status).toBe(400);
        expect(
          (await call('POST', '/schemas/plugins/validate', { name: 'key-auth', config: { key_names: 'x' } }))
            .status,
        ).toBe(400);
        expect(await admin.tdb.db.prisma.consumer.count()).toBe(0);
      });

      it('GET / lists the plugins available on the server', async () => {
        const info = await ok('GET', '/', undefined, 200);
        expect(Object.keys(info.plugins.available_on_server)).toContain('key-auth');
      });
    });

    describe('store.replaceAll', () => {
      it('makes the database match a config in one transaction, with a dry run that writes nothing', async () => {
        await ok('POST', '/consumers', { username: 'old' });
        const c = await ok('POST', '/consumers', { username: 'keep' });
        const { config, version } = await admin.store.readConfig();
        const next = { ...config, consumers: [{ ...c, tags: ['new'] }] };
        const dry = await admin.store.replaceAll(next, { dryRun: true });
        expect(dry.version).toBeNull();
        expect(dry.changes.consumers.updated).toHaveLength(1);
        expect(dry.changes.consumers.deleted.map((d) => d.username)).toEqual(['old']);
        expect((await admin.store.readConfig()).version).toBe(version);
        const done = await admin.store.replaceAll(next);
        expect(done.version).toBe(version + 1n);
        const after = await admin.store.readConfig();
        expect(after.config.consumers.map((x) => [x.username, x.tags])).toEqual([['keep', ['new']]]);
        expect((await admin.store.replaceAll(next)).changed).toBe(false);
        const dangling = {
          ...next,
          keyauth_credentials: [
            {
              id: '00000000-0000-4000-8000-0000000000b1',
              consumer: { id: '00000000-0000-4000-8000-000000000000' },
              key: 'k',
              ttl: null,
              tags: null,
              created_at: 1,
            },
          ],
        };
        await expect(admin.store.replaceAll(dangling)).rejects.toMatchObject({
          code: 'GH_ERR_ENTITY_FOREIGN_KEY_VIOLATION',
        });
      });
    });
  });
}
