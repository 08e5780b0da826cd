/**
 * Admin API endpoints and their shapes as Kong's (issue 9, "admin-endpoints"): PUT statuses, the
 * `/{entity}/{key}/{foreign field}` endpoints, nested entity paths, consumer-group views, target
 * PUT, nested deletes. Run against each database kind (admin-endpoints-pglite.test.ts /
 * admin-endpoints-postgres.test.ts) with the real plugin registry. Each case cites the Kong spec
 * (spec/02-integration/04-admin_api/, spec/03-plugins/) or source it comes from.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ENTITIES, ENTITY_RECORDS } from '@gatehouse/shared';
import { RSA_CERT, RSA_KEY } from '../../shared/src/entities/test-fixtures.js';
import type { DbKind } from '../helpers/db.js';
import { useAdminServer, type Reply } from './contract-server.js';

export function adminEndpointsContract(kind: DbKind) {
  describe(`Admin API endpoints (Kong's paths and statuses) on ${kind}`, () => {
    const { call, ok } = useAdminServer(kind);
    const statusAndBody = (r: Reply) => ({ status: r.status, body: r.body });

    describe('PUT answers 200 whether it creates or replaces', () => {
      // spec/02-integration/04-admin_api/10-services_routes_spec.lua "PUT creates if not found" (200);
      // kong/api/endpoints.lua put_entity_endpoint answers ok() in both cases.
      it('PUT by name and by id creates with 200, and replaces with 200', async () => {
        expect((await call('PUT', '/services/inventory', { host: 'inv.internal' })).status).toBe(200);
        expect((await call('PUT', '/services/inventory', { host: 'inv2.internal' })).status).toBe(200);
        const id = randomUUID();
        const byId = await ok('PUT', `/consumers/${id}`, { username: 'alice' }, 200);
        expect(byId.id).toBe(id);
      });

      // spec/03-plugins/09-key-auth/01-api_spec.lua "PUT creates a key-auth credential with key" (200)
      it('a nested PUT that creates answers 200', async () => {
        await ok('POST', '/consumers', { username: 'bob' });
        const k = await ok('PUT', '/consumers/bob/key-auth/1234', {}, 200);
        expect(k.key).toBe('1234');
      });
    });

    describe('/{entity}/{key}/{foreign field}', () => {
      // spec/02-integration/04-admin_api/09-routes_routes_spec.lua "/routes/{route}/service"
      it('GET retrieves the service of a route by route id and by name; 404 otherwise', async () => {
        const s = await ok('POST', '/services', { name: 's1', host: 'example.com', path: '/' });
        const r = await ok('POST', '/routes', { name: 'my-get-route', paths: ['/r'], service: { id: s.id } });
        expect(await ok('GET', `/routes/${r.id}/service`, undefined, 200)).toEqual(s);
        expect(await ok('GET', '/routes/my-get-route/service', undefined, 200)).toEqual(s);
        expect((await call('GET', `/routes/${randomUUID()}/service`)).status).toBe(404);
        expect((await call('GET', '/routes/my-in-existent-route/service')).status).toBe(404);
        await ok('POST', '/routes', { name: 'alone', paths: ['/alone'] });
        expect(statusAndBody(await call('GET', '/routes/alone/service'))).toEqual({
          status: 404,
          body: { message: 'Not found' },
        });
      });

      it('PATCH updates the service of a route (by id and by name); 404 when the route has none', async () => {
        const s = await ok('POST', '/services', { name: 'named', host: 'example.com', path: '/' });
        const r = await ok('POST', '/routes', { name: 'rp', paths: ['/r'], service: { id: s.id } });
        const patched = await ok(
          'PATCH',
          `/routes/${r.id}/service`,
          { name: 'name-named', host: 'edited-example.com', path: null },
          200,
        );
        expect(patched).toMatchObject({
          id: s.id,
          name: 'name-named',
          host: 'edited-example.com',
          path: null,
        });
        expect(await ok('GET', `/services/${s.id}`, undefined, 200)).toEqual(patched);
        const url = await ok('PATCH', '/routes/rp/service', { url: 'http://edited2.test:1234/foo' }, 200);
        expect(url).toMatchObject({ host: 'edited2.test', port: 1234, path: '/foo' });
        expect((await call('PATCH', `/routes/${randomUUID()}/service`, { name: 'x' })).status).toBe(404);
        await ok('POST', '/routes', { name: 'alone', paths: ['/alone'] });
        expect((await call('PATCH', '/routes/alone/service', { name: 'x' })).status).toBe(404);
        const bad = await call('PATCH', `/routes/${r.id}/service`, { connect_timeout: 'foobar' });
        expect(bad.status).toBe(400);
        expect(bad.body.fields).toEqual({ connect_timeout: 'expected an integer' });
      });

      it('PUT replaces the service of a route, or creates one and points the route at it', async () => {
        const lonely = await ok('POST', '/routes', { name: 'lonely', paths: ['/l'] });
        const created = await ok('PUT', `/routes/${lonely.id}/service`, { url: 'http://konghq.test' }, 200);
        expect(created.host).toBe('konghq.test');
        expect((await ok('GET', '/routes/lonely', undefined, 200)).service).toEqual({ id: created.id });
        const replaced = await ok(
          'PUT',
          '/routes/lonely/service',
          { name: 'renamed', host: 'edited.test' },
          200,
        );
        expect(replaced).toMatchObject({ id: created.id, name: 'renamed', host: 'edited.test', port: 80 });
        expect((await call('PUT', `/routes/${randomUUID()}/service`, { host: 'x.test' })).status).toBe(404);
        const invalid = await call('PUT', '/routes/lonely/service', { connect_timeout: 'foobar' });
        expect(invalid.status).toBe(400);
        expect(invalid.body.fields).toMatchObject({ connect_timeout: 'expected an integer' });
      });

      it('DELETE is 405 while the key is set, 404 when the route does not exist or has none', async () => {
        const s = await ok('POST', '/services', { name: 's1', host: 'example.com' });
        await ok('POST', '/routes', { name: 'r1', paths: ['/r'], service: { id: s.id } });
        expect(statusAndBody(await call('DELETE', '/routes/r1/service'))).toEqual({
          status: 405,
          body: { message: 'Method not allowed' },
        });
        expect((await call('GET', '/services/s1')).status).toBe(200);
        expect((await call('DELETE', `/routes/${randomUUID()}/service`)).status).toBe(404);
        expect((await call('DELETE', '/routes/in-existent-route/service')).status).toBe(404);
        await ok('POST', '/routes', { name: 'alone', paths: ['/alone'] });
        expect((await call('DELETE', '/routes/alone/service')).status).toBe(404);
      });

      // spec/03-plugins/09-key-auth/01-api_spec.lua "/key-auths/:credential_key_or_id/consumer";
      // spec/03-plugins/18-acl/01-api_spec.lua "/acls/:acl_id/consumer"
      it("a credential's consumer by the credential's id or key; 404 for an unknown one", async () => {
        const c = await ok('POST', '/consumers', { username: 'bob' });
        const k = await ok('POST', '/consumers/bob/key-auth', { key: 'bob-key' });
        expect(await ok('GET', `/key-auths/${k.id}/consumer`, undefined, 200)).toEqual(c);
        expect(await ok('GET', '/key-auths/bob-key/consumer', undefined, 200)).toEqual(c);
        expect((await call('GET', `/key-auths/${randomUUID()}/consumer`)).status).toBe(404);
        expect((await call('GET', '/key-auths/no-such-key/consumer')).status).toBe(404);
        const acl = await ok('POST', '/consumers/bob/acls', { group: 'admins' });
        expect(await ok('GET', `/acls/${acl.id}/consumer`, undefined, 200)).toEqual(c);
      });

      // kong/api/endpoints.lua generates them for every foreign field of a plugin
      it("a plugin's service, route and consumer; 404 for a scope the plugin does not have", async () => {
        const s = await ok('POST', '/services', { name: 'svc', host: 'example.com' });
        const p = await ok('POST', '/services/svc/plugins', { name: 'key-auth' });
        expect(await ok('GET', `/plugins/${p.id}/service`, undefined, 200)).toEqual(s);
        expect((await call('GET', `/plugins/${p.id}/route`)).status).toBe(404);
        expect((await call('GET', `/plugins/${p.id}/consumer`)).status).toBe(404);
        expect((await call('DELETE', `/plugins/${p.id}/service`)).status).toBe(405);
      });

      // kong/api/routes/snis.lua disables /snis/:snis/certificate (use /certificates/{sni})
      it('/snis/{sni}/certificate is not served (404), as Kong disables it', async () => {
        const cert = await ok('POST', '/certificates', { cert: RSA_CERT, key: RSA_KEY, snis: ['a.example'] });
        expect(cert.snis).toEqual(['a.example']);
        expect((await call('GET', '/snis/a.example/certificate')).status).toBe(404);
        expect((await call('PATCH', '/snis/a.example/certificate', { tags: ['x'] })).status).toBe(404);
      });

      it('every foreign field of every top-level collection has the endpoint (derived from the registry)', async () => {
        for (const record of ENTITY_RECORDS) {
          if (!record.admin?.path) continue;
          for (const fk of record.foreign) {
            if (!ENTITIES[fk.target].admin) continue;
            const path = `/${record.admin.path}/${randomUUID()}/${fk.field}`;
            const disabled = record.admin.withoutForeignEndpoints?.includes(fk.field) ?? false;
            // A mounted endpoint refuses POST (405); an unmounted path is 404.
            expect((await call('POST', path, {})).status, path).toBe(disabled ? 404 : 405);
            expect((await call('GET', path)).status, path).toBe(404);
          }
        }
      });
    });

    describe('nested entity paths', () => {
      // kong/api/endpoints.lua get/patch/put/delete_entity_endpoint with a foreign schema
      it('/services/{s}/routes/{r}: GET, PATCH, PUT, DELETE within the service; 404 through another', async () => {
        await ok('POST', '/services', { name: 'a', host: 'a.internal' });
        await ok('POST', '/services', { name: 'b', host: 'b.internal' });
        const r = await ok('POST', '/services/a/routes', { name: 'r', paths: ['/r'] });
        expect(await ok('GET', '/services/a/routes/r', undefined, 200)).toEqual(r);
        expect((await call('GET', '/services/b/routes/r')).status).toBe(404);
        expect((await call('GET', '/services/nope/routes/r')).status).toBe(404);
        expect((await call('PATCH', '/services/b/routes/r', { paths: ['/x'] })).status).toBe(404);
        expect((await call('DELETE', '/services/b/routes/r')).status).toBe(404);
        const patched = await ok('PATCH', `/services/a/routes/${r.id}`, { paths: ['/s'] }, 200);
        expect(patched).toMatchObject({ id: r.id, paths: ['/s'], service: r.service });
        const put = await ok('PUT', '/services/a/routes/r', { paths: ['/p'] }, 200);
        expect(put).toMatchObject({ id: r.id, paths: ['/p'], service: r.service });
        const created = await ok('PUT', '/services/a/routes/new-one', { paths: ['/n'] }, 200);
        expect(created).toMatchObject({ name: 'new-one', service: r.service });
        expect((await call('DELETE', '/services/a/routes/r')).status).toBe(204);
        expect((await call('GET', '/routes/r')).status).toBe(404);
      });

      // kong/api/endpoints.lua patch_entity_endpoint: the parent is the default, the body may name another
      it('a nested PATCH that names another parent moves the entity', async () => {
        await ok('POST', '/services', { name: 'a', host: 'a.internal' });
        const b = await ok('POST', '/services', { name: 'b', host: 'b.internal' });
        await ok('POST', '/services/a/routes', { name: 'r', paths: ['/r'] });
        const moved = await ok('PATCH', '/services/a/routes/r', { service: { name: 'b' } }, 200);
        expect(moved.service).toEqual({ id: b.id });
        expect((await call('GET', '/services/b/routes/r')).status).toBe(200);
      });

      // kong/api/endpoints.lua put_entity_endpoint: sets the parent, then upserts by key wherever it is
      it('a nested PUT of an entity under another parent moves it; an ACL group is per consumer', async () => {
        const a = await ok('POST', '/services', { name: 'a', host: 'a.internal' });
        await ok('POST', '/services', { name: 'b', host: 'b.internal' });
        const r = await ok('POST', '/services/b/routes', { name: 'r', paths: ['/r'] });
        const moved = await ok('PUT', '/services/a/routes/r', { paths: ['/m'] }, 200);
        expect(moved).toMatchObject({ id: r.id, service: { id: a.id }, paths: ['/m'] });
        const byId = await ok('PUT', `/services/b/routes/${r.id}`, { name: 'r', paths: ['/m'] }, 200);
        expect(byId.id).toBe(r.id);
        expect((await call('GET', '/services/a/routes/r')).status).toBe(404);
        await ok('POST', '/consumers', { username: 'bob' });
        await ok('POST', '/consumers', { username: 'alice' });
        const bobs = await ok('POST', '/consumers/bob/acls', { group: 'admins' });
        const alices = await ok('PUT', '/consumers/alice/acls/admins', {}, 200);
        expect(alices.id).not.toBe(bobs.id);
        expect((await ok('GET', '/consumers/bob/acls/admins', undefined, 200)).id).toBe(bobs.id);
      });

      // spec/02-integration/04-admin_api/09-routes_routes_spec.lua "/routes/{route}/plugins/{plugin}";
      // spec/02-integration/04-admin_api/10-services_routes_spec.lua, 03-consumers_routes_spec.lua
      it('/routes|services|consumers/{x}/plugins/{p}: by id and instance_name, 404 under another parent', async () => {
        await ok('POST', '/services', { name: 'svc', host: 'example.com' });
        await ok('POST', '/routes', { name: 'rt', paths: ['/rt'] });
        await ok('POST', '/routes', { name: 'other', paths: ['/other'] });
        await ok('POST', '/consumers', { username: 'carol' });
        for (const [parent, key] of [
          ['routes', 'rt'],
          ['services', 'svc'],
          ['consumers', 'carol'],
        ] as const) {
          const p = await ok('POST', `/${parent}/${key}/plugins`, {
            name: 'request-termination',
            instance_name: `in-${parent}`,
          });
          expect(await ok('GET', `/${parent}/${key}/plugins/${p.id}`, undefined, 200)).toEqual(p);
          expect(await ok('GET', `/${parent}/${key}/plugins/in-${parent}`, undefined, 200)).toEqual(p);
          const patched = await ok(
            'PATCH',
            `/${parent}/${key}/plugins/${p.id}`,
            { config: { status_code: 418 } },
            200,
          );
          expect(patched.config.status_code).toBe(418);
          expect((await call('GET', `/routes/other/plugins/${p.id}`)).status).toBe(404);
          expect((await call('DELETE', `/routes/other/plugins/${p.id}`)).status).toBe(404);
          expect((await call('DELETE', `/${parent}/${key}/plugins/in-${parent}`)).status).toBe(204);
          expect((await call('GET', `/plugins/${p.id}`)).status).toBe(404);
        }
      });

      // spec/02-integration/04-admin_api/03-consumers_routes_spec.lua "/consumers/{username_or_id}/plugins/{plugin}"
      it('/consumers/{c}/plugins/{id}: PUT creates with that id (200) and replaces; DELETE of a missing one is 404', async () => {
        const c = await ok('POST', '/consumers', { username: 'dave' });
        const id = randomUUID();
        const body = { name: 'request-termination', config: { status_code: 418 } };
        const created = await ok('PUT', `/consumers/${c.id}/plugins/${id}`, body, 200);
        expect(created).toMatchObject({ id, consumer: { id: c.id }, config: { status_code: 418 } });
        const replaced = await ok(
          'PUT',
          `/consumers/${c.id}/plugins/${id}`,
          { name: 'request-termination' },
          200,
        );
        expect(replaced).toMatchObject({ id, consumer: { id: c.id }, config: { status_code: 503 } });
        expect(
          (await call('DELETE', `/consumers/${c.id}/plugins/fafafafa-1234-baba-5678-cececececece`)).status,
        ).toBe(404);
        expect((await call('DELETE', `/consumers/${c.id}/plugins/${id}`)).status).toBe(204);
      });

      // kong/api/endpoints.lua generates /certificates/:certificates/services|upstreams from client_certificate
      it('/certificates/{c}/services and /certificates/{c}/upstreams list what uses the certificate', async () => {
        const cert = await ok('POST', '/certificates', { cert: RSA_CERT, key: RSA_KEY });
        const s = await ok('POST', `/certificates/${cert.id}/services`, { name: 'mtls', host: 'x.internal' });
        expect(s.client_certificate).toEqual({ id: cert.id });
        await ok('POST', '/services', { name: 'plain', host: 'y.internal' });
        const listed = await ok('GET', `/certificates/${cert.id}/services`, undefined, 200);
        expect((listed.data as { name: string }[]).map((x) => x.name)).toEqual(['mtls']);
        expect((await call('GET', `/certificates/${cert.id}/services/plain`)).status).toBe(404);
        const u = await ok('POST', `/certificates/${cert.id}/upstreams`, { name: 'up.internal' });
        expect(await ok('GET', `/certificates/${cert.id}/upstreams/up.internal`, undefined, 200)).toEqual(u);
        expect(await ok('GET', '/upstreams/up.internal/client_certificate', undefined, 200)).toMatchObject({
          id: cert.id,
        });
      });
    });

    describe('nested deletes check the parent (404), top-level deletes do not (204)', () => {
      // spec/03-plugins/09-key-auth/01-api_spec.lua "DELETE errors": 404 for `blah` and an unknown id
      it('key-auth under a consumer: 404 for an unknown key or id and for another consumer', async () => {
        await ok('POST', '/consumers', { username: 'bob' });
        await ok('POST', '/consumers', { username: 'alice' });
        const k = await ok('POST', '/consumers/bob/key-auth', { key: 'bobs' });
        expect((await call('DELETE', '/consumers/bob/key-auth/blah')).status).toBe(404);
        expect(
          (await call('DELETE', '/consumers/bob/key-auth/00000000-0000-0000-0000-000000000000')).status,
        ).toBe(404);
        expect((await call('DELETE', `/consumers/alice/key-auth/${k.id}`)).status).toBe(404);
        expect((await call('DELETE', `/consumers/ghost/key-auth/${k.id}`)).status).toBe(404);
        expect((await call('DELETE', `/consumers/bob/key-auth/${k.id}`)).status).toBe(204);
        // The generic top-level delete of a missing entity stays 204 (kong/api/endpoints.lua).
        expect((await call('DELETE', `/key-auths/${k.id}`)).status).toBe(204);
      });

      // spec/03-plugins/18-acl/01-api_spec.lua "DELETE errors": 404 on a missing group, 404 if not found
      it('acls under a consumer: by group and id; 404 for a missing group or id', async () => {
        await ok('POST', '/consumers', { username: 'bob' });
        await ok('POST', '/consumers', { username: 'alice' });
        await ok('POST', '/consumers/bob/acls', { group: 'admins' });
        const shared = await ok('POST', '/consumers/alice/acls', { group: 'admins' });
        expect((await call('DELETE', '/consumers/bob/acls/nope')).status).toBe(404);
        expect((await call('DELETE', `/consumers/bob/acls/${randomUUID()}`)).status).toBe(404);
        expect((await call('DELETE', `/consumers/bob/acls/${shared.id}`)).status).toBe(404);
        expect((await call('DELETE', '/consumers/bob/acls/admins')).status).toBe(204);
        expect((await call('GET', '/consumers/alice/acls/admins')).status).toBe(200);
        expect((await call('DELETE', `/consumers/alice/acls/${shared.id}`)).status).toBe(204);
      });

      it('each credential kind under a consumer: 404 for a missing one', async () => {
        await ok('POST', '/consumers', { username: 'bob' });
        for (const record of ENTITY_RECORDS) {
          for (const n of record.admin?.nested ?? []) {
            if (n.parent !== 'consumers') continue;
            expect((await call('DELETE', `/consumers/bob/${n.path}/${randomUUID()}`)).status, n.path).toBe(
              404,
            );
          }
        }
      });
    });

    describe('targets', () => {
      // spec/02-integration/04-admin_api/08-targets_routes_spec.lua "PUT updates target (by id|by target)";
      // kong/api/routes/upstreams.lua: PUT is update_target_cb (an update; 404 when missing)
      it('PUT takes target from the body and keeps weight unless given', async () => {
        await ok('POST', '/upstreams', { name: 'up' });
        await ok('POST', '/upstreams/up/targets', { target: 'api-1:80', weight: 10 });
        const t = await ok('POST', '/upstreams/up/targets', { target: 'api-2:80', weight: 10 });
        const byId = await ok('PUT', `/upstreams/up/targets/${t.id}`, { target: 'api-2:801' }, 200);
        expect(byId).toMatchObject({ id: t.id, target: 'api-2:801', weight: 10 });
        const byTarget = await ok('PUT', '/upstreams/up/targets/api-2:801', { target: 'api-2:8011' }, 200);
        expect(byTarget).toMatchObject({ id: t.id, target: 'api-2:8011', weight: 10 });
        expect((await call('GET', '/upstreams/up/targets/api-2:801')).status).toBe(404);
        expect(await ok('GET', '/upstreams/up/targets/api-2:8011', undefined, 200)).toEqual(byTarget);
        const weighted = await ok('PUT', '/upstreams/up/targets/api-2:8011', { weight: 5 }, 200);
        expect(weighted).toMatchObject({ target: 'api-2:8011', weight: 5 });
        expect((await call('PUT', '/upstreams/up/targets/api-9:80', { weight: 5 })).status).toBe(404);
        expect((await call('GET', '/targets')).status).toBe(404);
      });
    });

    describe('consumer groups (Kong Enterprise shapes)', () => {
      // go-kong ConsumerGroupService.Get: {consumer_group, consumers, plugins}; ?list_consumers=false
      it('GET /consumer_groups/{g} answers {consumer_group, consumers, plugins}', async () => {
        const g = await ok('POST', '/consumer_groups', { name: 'gold' });
        const a = await ok('POST', '/consumers', { username: 'a' });
        await ok('POST', '/consumers', { username: 'b' });
        await ok('POST', '/consumer_groups/gold/consumers', { consumer: 'a' });
        const p = await ok('POST', '/consumer_groups/gold/plugins', {
          name: 'request-termination',
        });
        const view = await ok('GET', '/consumer_groups/gold', undefined, 200);
        expect(view).toEqual({ consumer_group: g, consumers: [a], plugins: [p] });
        expect(await ok('GET', `/consumer_groups/${g.id}?list_consumers=false`, undefined, 200)).toEqual({
          consumer_group: g,
          plugins: [p],
        });
        await ok('POST', '/consumer_groups', { name: 'empty' });
        expect((await ok('GET', '/consumer_groups/empty', undefined, 200)).consumers).toEqual([]);
        expect((await call('GET', '/consumer_groups/none')).status).toBe(404);
        // The group's other methods stay the generic ones (one route: POST is 405 there).
        expect((await call('POST', '/consumer_groups/gold', {})).status).toBe(405);
        expect((await ok('PATCH', '/consumer_groups/gold', { tags: ['t'] }, 200)).tags).toEqual(['t']);
        expect(await ok('GET', '/consumer_groups/gold/plugins', undefined, 200)).toMatchObject({ data: [p] });
      });

      it('DELETE /consumers/{c}/consumer_groups takes the consumer out of every group', async () => {
        await ok('POST', '/consumer_groups', { name: 'gold' });
        await ok('POST', '/consumer_groups', { name: 'silver' });
        await ok('POST', '/consumers', { username: 'a' });
        await ok('POST', '/consumers/a/consumer_groups', { group: ['gold', 'silver'] });
        expect((await ok('GET', '/consumers/a/consumer_groups', undefined, 200)).data).toHaveLength(2);
        expect((await call('DELETE', '/consumers/a/consumer_groups')).status).toBe(204);
        expect((await ok('GET', '/consumers/a/consumer_groups', undefined, 200)).data).toEqual([]);
        expect((await call('DELETE', '/consumers/ghost/consumer_groups')).status).toBe(404);
      });
    });
  });
}
