/**
 * Admin API contract for Kong's error codes and messages, field for field (issue 9, "kong-errors"),
 * run against each database kind (kong-errors-pglite.test.ts / kong-errors-postgres.test.ts).
 * Each case cites the Kong spec it comes from. Our protocol lists hold `ws, wss` too (as Kong
 * Enterprise's): the expected messages below are Kong's with those two added.
 */
import { describe, expect, it } from 'vitest';
import { useAdminServer, type Json } from './contract-server.js';
import type { DbKind } from '../helpers/db.js';

/** Kong's protocol list (kong/db/schema/typedefs.lua `protocols`) plus Kong Enterprise's ws, wss. */
const PROTOCOLS = 'grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss';

export function kongErrorsContract(kind: DbKind) {
  describe(`Admin API: Kong's error codes and messages on ${kind}`, () => {
    const { call, ok } = useAdminServer(kind);
    const refused = (path: string, body: unknown, status = 400): Promise<Json> =>
      ok('POST', path, body, status);

    describe('routes: references to a service (spec/02-integration/04-admin_api/09-routes_routes_spec.lua)', () => {
      it('answers an unknown service.name with code 13 "foreign keys unresolved"', async () => {
        expect(await refused('/routes', { methods: ['GET'], service: { name: 'non-existing' } })).toEqual({
          code: 13,
          name: 'foreign keys unresolved',
          message:
            "foreign key unresolved (service.name: the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity)",
          fields: {
            service: {
              name: "the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity",
            },
          },
        });
      });

      it('answers service: {name: null} and a reference without a key with "service.id: missing primary key"', async () => {
        const missing = {
          code: 2,
          name: 'schema violation',
          message: 'schema violation (service.id: missing primary key)',
          fields: { service: { id: 'missing primary key' } },
        };
        expect(await refused('/routes', { methods: ['GET'], service: { name: null } })).toEqual(missing);
        expect(await refused('/routes', { methods: ['GET'], service: { protocol: 'http' } })).toEqual(
          missing,
        );
      });

      it("checks a reference's fields against the service schema, each message under its field", async () => {
        expect(
          await refused('/routes', {
            methods: ['GET'],
            protocols: ['foo', 'http'],
            service: { protocol: 'foo' },
          }),
        ).toEqual({
          code: 2,
          name: 'schema violation',
          message: `2 schema violations (protocols.1: expected one of: ${PROTOCOLS}; service.protocol: expected one of: ${PROTOCOLS})`,
          fields: {
            protocols: [`expected one of: ${PROTOCOLS}`],
            service: { protocol: `expected one of: ${PROTOCOLS}` },
          },
        });
        expect((await refused('/routes', { methods: ['GET'], service: { id: 'nope' } })).fields).toEqual({
          service: { id: 'expected a valid UUID' },
        });
      });

      it('resolves service.name to the service', async () => {
        const s = await ok('POST', '/services', { name: 'named', url: 'http://a.test' });
        const r = await ok('POST', '/routes', { paths: ['/x'], service: { name: 'named' } });
        expect(r.service).toEqual({ id: s.id });
      });
    });

    describe('services: the url shorthand (spec/02-integration/04-admin_api/10-services_routes_spec.lua)', () => {
      it('handles "invalid url" as Kong: no host, and a path that does not start with /', async () => {
        expect(await refused('/services', { url: 'invalid url' })).toEqual({
          code: 2,
          name: 'schema violation',
          message: '2 schema violations (host: required field missing; path: should start with: /)',
          fields: { host: 'required field missing', path: 'should start with: /' },
        });
        expect((await call('POST', '/services', { url: '' })).status).toBe(400);
        expect((await call('POST', '/services', { url: ' ' })).status).toBe(400);
      });

      it('reads protocol, host, port and path from the url as LuaSocket does', async () => {
        expect(await ok('POST', '/services', { url: 'https://service.test/' })).toMatchObject({
          protocol: 'https',
          host: 'service.test',
          port: 443,
          path: '/',
        });
        expect(await ok('POST', '/services', { url: 'http://service.test' })).toMatchObject({
          port: 80,
          path: null,
        });
        expect(
          await ok('POST', '/services', { url: 'http://u:p@service.test:8080/a/b?q=1#f' }),
        ).toMatchObject({
          protocol: 'http',
          host: 'service.test',
          port: 8080,
          path: '/a/b',
        });
      });

      it('lists the protocols in its message (with ws, wss)', async () => {
        expect((await refused('/services', { host: 'example.test', protocol: 'foo' })).fields).toEqual({
          protocol: `expected one of: ${PROTOCOLS}`,
        });
      });
    });

    describe('plugins: the uniqueness 409 (spec/02-integration/04-admin_api/09-routes_routes_spec.lua)', () => {
      it("answers a second plugin of a name on a route with Kong's exact body", async () => {
        const route = await ok('POST', '/routes', { paths: ['/my-route'] });
        await ok('POST', `/routes/${route.id}/plugins`, { name: 'basic-auth' });
        const again = await call('POST', `/routes/${route.id}/plugins`, { name: 'basic-auth' });
        expect(again.status).toBe(409);
        expect(again.body).toEqual({
          code: 5,
          name: 'unique constraint violation',
          message: `UNIQUE violation detected on '{consumer=null,name="basic-auth",route={id="${route.id}"},service=null}'`,
          fields: { consumer: null, name: 'basic-auth', route: { id: route.id }, service: null },
        });
      });

      it('answers a plugin scoped by an unknown route name with code 13', async () => {
        const r = await refused('/plugins', { name: 'basic-auth', route: { name: 'nope' } });
        expect(r.code).toBe(13);
        expect(r.fields).toEqual({
          route: {
            name: "the foreign key cannot be resolved with '{name=\"nope\"}' for an existing 'routes' entity",
          },
        });
      });
    });

    describe('upstreams: hash_fallback (spec/02-integration/04-admin_api/07-upstreams_routes_spec.lua)', () => {
      const conditional = (field: string) => [
        `failed conditional validation given value of field '${field}'`,
      ];

      it('reports the conditional checks under @entity, with the field message', async () => {
        expect(
          (
            await refused('/upstreams', {
              name: 'my.upstream',
              hash_on: 'consumer',
              hash_fallback: 'something that is invalid',
            })
          ).fields,
        ).toEqual({
          '@entity': conditional('hash_on'),
          hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture',
        });
        expect(
          (
            await refused('/upstreams', {
              name: 'my.upstream',
              hash_on: 'consumer',
              hash_fallback: 'consumer',
            })
          ).fields,
        ).toEqual({
          '@entity': conditional('hash_on'),
          hash_fallback: 'expected one of: none, ip, header, cookie, path, query_arg, uri_capture',
        });
        expect(
          (
            await refused('/upstreams', {
              name: 'my.upstream',
              hash_on: 'cookie',
              hash_on_cookie: 'cookiename',
              hash_fallback: 'header',
              hash_fallback_header: 'Cool-Header',
            })
          ).fields,
        ).toEqual({ '@entity': conditional('hash_on'), hash_fallback: 'expected one of: none' });
        expect(
          (
            await refused('/upstreams', {
              name: 'my.upstream',
              hash_on: 'header',
              hash_fallback: 'header',
              hash_fallback_header: 'HeaderName',
            })
          ).fields,
        ).toEqual({ '@entity': conditional('hash_on'), hash_on_header: 'required field missing' });
        expect(
          (await refused('/upstreams', { name: 'my.upstream', hash_on: 'consumer', hash_fallback: 'header' }))
            .fields,
        ).toEqual({
          '@entity': conditional('hash_fallback'),
          hash_fallback_header: 'required field missing',
        });
        expect(
          (await refused('/upstreams', { name: 'my.upstream', hash_on: 'path', hash_fallback: 'path' }))
            .fields,
        ).toEqual({
          '@entity': conditional('hash_on'),
          hash_fallback: 'expected one of: none, consumer, header, cookie, query_arg, ip, uri_capture',
        });
      });

      it('keeps the distinct-headers check', async () => {
        expect(
          (
            await refused('/upstreams', {
              name: 'my.upstream',
              hash_on: 'header',
              hash_fallback: 'header',
              hash_on_header: 'headername',
              hash_fallback_header: 'headername',
            })
          ).fields,
        ).toEqual({
          '@entity': ["values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"],
        });
      });
    });

    describe('targets (spec/02-integration/04-admin_api/08-targets_routes_spec.lua)', () => {
      it('answers an invalid target with Kong’s DAO message only', async () => {
        await ok('POST', '/upstreams', { name: 'u1' });
        expect(await refused('/upstreams/u1/targets', { target: 'some invalid host name' })).toEqual({
          code: 2,
          name: 'schema violation',
          message: 'schema violation (target: Invalid target; not a valid hostname or ip address)',
          fields: { target: 'Invalid target; not a valid hostname or ip address' },
        });
        expect((await refused('/upstreams/u1/targets', { weight: 1 })).fields).toEqual({
          target: 'required field missing',
        });
      });
    });

    describe('jwt credentials (spec/03-plugins/16-jwt/02-api_spec.lua)', () => {
      const conditional = ["failed conditional validation given value of field 'algorithm'"];

      it('reports rsa_public_key under @entity for RS256', async () => {
        await ok('POST', '/consumers', { username: 'bob' });
        expect((await refused('/consumers/bob/jwt', { key: 'bob5', algorithm: 'RS256' })).fields).toEqual({
          rsa_public_key: 'required field missing',
          '@entity': conditional,
        });
        expect(
          (await refused('/consumers/bob/jwt', { key: 'bob5', algorithm: 'RS256', rsa_public_key: 'test' }))
            .fields,
        ).toEqual({ rsa_public_key: 'invalid key', '@entity': conditional });
      });
    });

    describe('key-auth key_names (spec/03-plugins/09-key-auth/01-api_spec.lua "fails with invalid key_names")', () => {
      it("answers Kong's header-name message", async () => {
        const r = await refused('/plugins', { name: 'key-auth', config: { key_names: ['hello\\world'] } });
        expect(r.fields.config.key_names[0]).toBe(
          "bad header name 'hello\\world', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
        );
      });
    });

    describe('GET /schemas/plugins/{name} (kong/api/routes/kong.lua, kong/plugins/*/schema.lua)', () => {
      it('carries the config checks as top-level entity_checks naming config.<field>', async () => {
        const ip = await ok('GET', '/schemas/plugins/ip-restriction', undefined, 200);
        expect(ip.entity_checks).toEqual([{ at_least_one_of: ['config.allow', 'config.deny'] }]);
        const acl = await ok('GET', '/schemas/plugins/acl', undefined, 200);
        expect(acl.entity_checks).toEqual([
          { only_one_of: ['config.allow', 'config.deny'] },
          { at_least_one_of: ['config.allow', 'config.deny'] },
        ]);
        const config = (acl.fields as Json[]).find((f: Json) => f.config !== undefined).config;
        expect(config.entity_checks).toBeUndefined();
        expect((await call('GET', '/schemas/plugins/not-present')).body).toEqual({
          message: "No plugin named 'not-present'",
        });
      });
    });

    describe('gRPC routes (kong/db/schema/entities/routes_subschemas.lua)', () => {
      it('defaults strip_path to false for grpc and grpcs routes, and refuses true', async () => {
        expect(await ok('POST', '/routes', { protocols: ['grpc'], paths: ['/svc'] })).toMatchObject({
          strip_path: false,
        });
        expect(await ok('POST', '/routes', { protocols: ['grpcs'], hosts: ['g.test'] })).toMatchObject({
          strip_path: false,
        });
        expect(await ok('POST', '/routes', { paths: ['/http'] })).toMatchObject({ strip_path: true });
        expect(
          (await refused('/routes', { protocols: ['grpc'], paths: ['/svc'], strip_path: true })).fields,
        ).toEqual({ strip_path: "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'" });
      });
    });

    describe('regex paths: PCRE as Kong writes it (spec/01-unit/08-router_spec.lua)', () => {
      it('accepts named groups (?P<name>…) and the PCRE constructs JavaScript can express', async () => {
        for (const path of ['~/users/(?P<user_id>\\d+)/profile', '~/(?i)caseless', '~/a\\z', '~/\\Qa.b\\E'])
          await ok('POST', '/routes', { paths: [path] });
      });

      it('refuses the others with a message naming the construct', async () => {
        expect((await refused('/routes', { paths: ['~/a(?>b)'] })).fields).toEqual({
          paths: ["invalid regex: '/a(?>b)' (atomic group '(?>…)' is not supported)"],
        });
        expect((await refused('/routes', { paths: ['/ok', '~/a++'] })).fields).toEqual({
          paths: [null, "invalid regex: '/a++' (possessive quantifier '++' is not supported)"],
        });
      });
    });
  });
}
