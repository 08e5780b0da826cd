/**
 * Empty arrays as Kong returns them (issue 9). Kong's Postgres strategy stores an array or set
 * field as a Postgres array: `[]` is stored as `'{}'` and read back as `[]`
 * (kong/db/strategies/postgres/init.lua `escape_literal`; kong/db/schema/init.lua `make_array`,
 * `make_set` give it cjson's array metatable), a field left out or set to null is NULL and reads as
 * `null` unless the field has a default (kong/db/schema/init.lua `handle_missing_field`). Kong's
 * spec: spec/02-integration/04-admin_api/09-routes_routes_spec.lua "allows updating sets and
 * arrays with en empty array" and "removes optional field with ngx.null"; certificates always
 * list their `snis` (06-certificates_routes_spec.lua "deletes all snis from a certificate if snis
 * field is JSON null").
 *
 * The cases are derived from the entity registry: every array or set field of every kind the
 * Admin API serves, through POST, PUT, PATCH, GET (entity and collection), the declarative export
 * (`GET /config`) and the configuration the snapshot is built from. Run against each database
 * kind (empty-arrays-pglite.test.ts / empty-arrays-postgres.test.ts).
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ENTITIES,
  ENTITY_KINDS,
  encodeConfig,
  parseDeclarative,
  type EntityKind,
  type EntityRecord,
} from '@gatehouse/shared';
import { createConfigRouter } from '../../control-plane/src/declarative/index.js';
import { CA_CERT, RSA_CERT, RSA_KEY } from '../../shared/src/entities/test-fixtures.js';
import type { DbKind } from '../helpers/db.js';
import { useAdminServer, type Json } from './contract-server.js';

/** The array and set fields of a kind's schema a client writes (not `auto`, not transient). */
export function listFields(def: EntityRecord): string[] {
  return Object.entries(def.schema.fields)
    .filter(([, f]) => (f.type === 'array' || f.type === 'set') && f.transient !== true && f.auto !== true)
    .map(([name]) => name);
}

const jwk = JSON.stringify({
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }),
  kid: 'kid-1',
});

/** Calls the Admin API; `parent` creates what an entity of a kind points at. */
type Api = (method: string, path: string, body?: unknown, status?: number) => Promise<Json>;

interface Fixture {
  /** The collection a new entity is POSTed to. */
  collection: string;
  /** The smallest valid body (with its parents); fields under test are added or removed. */
  body: Record<string, unknown>;
  /** The entity path for GET, PATCH and PUT: `/{path}/{id}`. */
  entity: (id: string) => string;
  /** Reads the entity out of a `GET` of `entity` (a consumer group answers with its members). */
  read?: (body: Json) => Json;
}

let serial = 0;
const next = () => ++serial;

/**
 * The smallest valid entity of each kind the Admin API serves (a new name each call). A route
 * carries both `hosts` and `paths`, so either may be emptied and the route still matches something.
 */
const FIXTURES: Partial<Record<EntityKind, (api: Api) => Promise<Fixture>>> = {
  certificates: async () => ({
    collection: '/certificates',
    body: { cert: RSA_CERT, key: RSA_KEY },
    entity: (id) => `/certificates/${id}`,
  }),
  ca_certificates: async () => ({
    collection: '/ca_certificates',
    body: { cert: CA_CERT },
    entity: (id) => `/ca_certificates/${id}`,
  }),
  snis: async (api) => {
    const cert = await api('POST', '/certificates', { cert: RSA_CERT, key: RSA_KEY });
    return {
      collection: '/snis',
      body: { name: `sni-${next()}.test`, certificate: { id: cert.id } },
      entity: (id) => `/snis/${id}`,
    };
  },
  services: async () => ({
    collection: '/services',
    body: { name: `s${next()}`, host: 'upstream.test' },
    entity: (id) => `/services/${id}`,
  }),
  routes: async () => ({
    collection: '/routes',
    body: { name: `r${next()}`, hosts: [`h${serial}.test`], paths: [`/p${serial}`] },
    entity: (id) => `/routes/${id}`,
  }),
  upstreams: async () => ({
    collection: '/upstreams',
    body: { name: `u${next()}` },
    entity: (id) => `/upstreams/${id}`,
  }),
  targets: async (api) => {
    const u = await api('POST', '/upstreams', { name: `tu${next()}` });
    return {
      collection: `/upstreams/${u.id}/targets`,
      body: { target: `10.0.0.${next() % 250}:80` },
      entity: (id) => `/upstreams/${u.id}/targets/${id}`,
    };
  },
  consumers: async () => ({
    collection: '/consumers',
    body: { username: `c${next()}` },
    entity: (id) => `/consumers/${id}`,
  }),
  consumer_groups: async () => ({
    collection: '/consumer_groups',
    body: { name: `g${next()}` },
    entity: (id) => `/consumer_groups/${id}`,
    read: (body): Json => body.consumer_group,
  }),
  plugins: async () => ({
    collection: '/plugins',
    body: { name: 'request-termination', instance_name: `p${next()}` },
    entity: (id) => `/plugins/${id}`,
  }),
  keyauth_credentials: async (api) => credential(api, 'key-auths', { key: `k${next()}` }),
  basicauth_credentials: async (api) =>
    credential(api, 'basic-auths', { username: `b${next()}`, password: 'secret' }),
  jwt_secrets: async (api) => credential(api, 'jwts', { key: `j${next()}` }),
  hmacauth_credentials: async (api) => credential(api, 'hmac-auths', { username: `h${next()}` }),
  acls: async (api) => credential(api, 'acls', { group: `group-${next()}` }),
  mtls_auth_credentials: async (api) => credential(api, 'mtls-auths', { subject_name: `m${next()}.example` }),
  oauth2_credentials: async (api) => credential(api, 'oauth2', { name: `app${next()}` }),
  oauth2_token_revocations: async (api) => {
    const owner = await api('POST', '/consumers', { username: `owner${next()}` });
    const app = await api('POST', `/consumers/${owner.id as string}/oauth2`, { name: `app${next()}` });
    return {
      collection: '/oauth2_token_revocations',
      body: { credential: { id: app.id }, jti: `jti${next()}`, expires_at: 0 },
      entity: (id) => `/oauth2_token_revocations/${id}`,
    };
  },
  key_sets: async () => ({
    collection: '/key-sets',
    body: { name: `ks${next()}` },
    entity: (id) => `/key-sets/${id}`,
  }),
  keys: async () => ({
    collection: '/keys',
    body: { name: `key${next()}`, kid: 'kid-1', jwk },
    entity: (id) => `/keys/${id}`,
  }),
  vaults: async () => ({
    collection: '/vaults',
    body: { name: 'env', prefix: `env-${next()}` },
    entity: (id) => `/vaults/${id}`,
  }),
};

async function credential(api: Api, path: string, body: Record<string, unknown>): Promise<Fixture> {
  const c = await api('POST', '/consumers', { username: `owner${next()}` });
  return {
    collection: `/${path}`,
    body: { ...body, consumer: { id: c.id } },
    entity: (id) => `/${path}/${id}`,
  };
}

/** Every kind the Admin API serves, with its array and set fields. */
const SERVED = ENTITY_KINDS.filter((k) => ENTITIES[k].admin !== undefined);

/** Kong refuses `[]` for a field with `len_min` (a route's `protocols`): 400. */
const refusesEmpty = (def: EntityRecord, field: string) => {
  const f = def.schema.fields[field]!;
  return (f.type === 'array' || f.type === 'set') && (f.len_min ?? 0) > 0;
};
/** What an unset field reads as: its default, or null. */
const unsetValue = (def: EntityRecord, field: string) => def.schema.fields[field]!.default ?? null;

export function emptyArraysContract(kind: DbKind) {
  describe(`empty arrays as Kong returns them on ${kind}`, () => {
    const server = useAdminServer(kind, {
      routers: ({ store, logger, plugins }) => [createConfigRouter(store, logger, { plugins })],
    });
    const { call } = server;

    const api: Api = async (method, path, body, status): Promise<Json> => {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(status ?? (method === 'POST' ? 201 : 200));
      return r.body;
    };

    /** The entity at `path` as `GET` answers it. */
    const read = async (fx: Fixture, path: string): Promise<Json> => {
      const body = await api('GET', path);
      return fx.read ? fx.read(body) : body;
    };

    /** The entity `id` of `kind` as the collection lists it. */
    async function listed(fixture: Fixture, id: string): Promise<Json> {
      const page = await api('GET', `${fixture.collection}?size=1000`);
      return page.data.find((e: Json) => e.id === id);
    }

    /** The entity as the configuration the snapshot is built from holds it, and as encoded. */
    async function inSnapshot(k: EntityKind, id: string): Promise<{ entity: Json; bytes: string }> {
      const { config } = await server.store.readConfig();
      const entity = (config[k] as unknown as Json[]).find((e) => e.id === id);
      return { entity, bytes: encodeConfig(config).bytes.toString('utf8') };
    }

    /** The entity as the declarative export (`GET /config`) writes it (null fields left out). */
    async function inExport(k: EntityKind, id: string): Promise<Json> {
      const { config } = await api('GET', '/config');
      const parsed = parseDeclarative(config as string) as Record<string, Json[] | undefined>;
      const all: Json[] = [];
      const walk = (value: unknown) => {
        if (Array.isArray(value)) value.forEach(walk);
        else if (value !== null && typeof value === 'object') {
          if ((value as Json).id === id) all.push(value);
          Object.values(value).forEach(walk);
        }
      };
      walk(parsed[k]);
      walk(parsed);
      expect(all.length, `${k} ${id} in the export`).toBeGreaterThan(0);
      return all[0];
    }

    it('every kind the Admin API serves has a fixture, and every list field is checked', () => {
      expect(SERVED.filter((k) => FIXTURES[k] === undefined)).toEqual([]);
      expect(SERVED.flatMap((k) => listFields(ENTITIES[k]).map((f) => `${k}.${f}`))).toEqual(
        expect.arrayContaining([
          'routes.methods',
          'routes.hosts',
          'routes.paths',
          'routes.snis',
          'routes.sources',
          'routes.destinations',
          'routes.tags',
          'services.ca_certificates',
          'plugins.protocols',
          'consumers.tags',
        ]),
      );
    });

    for (const k of SERVED) {
      const def = ENTITIES[k];
      for (const field of listFields(def)) {
        describe(`${k}.${field}`, () => {
          if (refusesEmpty(def, field)) {
            it('[] is refused with a 400 naming the field, as Kong (len_min)', async () => {
              const fx = await FIXTURES[k]!(api);
              const r = await call('POST', fx.collection, { ...fx.body, [field]: [] });
              expect(r.status, r.text).toBe(400);
              expect(r.body.fields[field]).toEqual(expect.any(String));
            });
            return;
          }

          it('left out reads as its default or null, everywhere', async () => {
            const fx = await FIXTURES[k]!(api);
            const body = { ...fx.body };
            delete body[field];
            const created = await api('POST', fx.collection, body);
            const want = unsetValue(def, field);
            expect(created[field]).toEqual(want);
            expect((await read(fx, fx.entity(created.id)))[field]).toEqual(want);
            expect((await listed(fx, created.id))[field]).toEqual(want);
            expect((await inSnapshot(k, created.id)).entity[field]).toEqual(want);
            const exported = await inExport(k, created.id);
            if (want === null) expect(exported).not.toHaveProperty(field);
            else expect(exported[field]).toEqual(want);
          });

          it('POST [] reads as [] in the answer, GET, the collection, the snapshot and the export', async () => {
            const fx = await FIXTURES[k]!(api);
            const r = await call('POST', fx.collection, { ...fx.body, [field]: [] });
            expect(r.status, r.text).toBe(201);
            expect(r.text).toContain(`"${field}":[]`);
            const id = r.body.id as string;
            const got = await call('GET', fx.entity(id));
            expect(got.text).toContain(`"${field}":[]`);
            expect((await listed(fx, id))[field]).toEqual([]);
            const snap = await inSnapshot(k, id);
            expect(snap.entity[field]).toEqual([]);
            expect(snap.bytes).toContain(`"${field}":[]`);
            expect((await inExport(k, id))[field]).toEqual([]);
          });

          it('PATCH [] sets [], a PATCH of other fields keeps it, PATCH null unsets it', async () => {
            const fx = await FIXTURES[k]!(api);
            const created = await api('POST', fx.collection, fx.body);
            const path = fx.entity(created.id);
            const emptied = await call('PATCH', path, { [field]: [] });
            expect(emptied.status, emptied.text).toBe(200);
            expect(emptied.text).toContain(`"${field}":[]`);
            expect((await read(fx, path))[field]).toEqual([]);
            const other = listFields(def).find((f) => f !== field && !refusesEmpty(def, f));
            if (other !== undefined) {
              const patched = await api('PATCH', path, { [other]: null });
              expect(patched[field]).toEqual([]);
            }
            const required = def.schema.fields[field]!.required === true;
            const unset = await call('PATCH', path, { [field]: null });
            if (required) {
              // Kong: "required field missing" for a required set set to null.
              expect(unset.status, unset.text).toBe(400);
              expect((await read(fx, path))[field]).toEqual([]);
            } else {
              expect(unset.status, unset.text).toBe(200);
              expect(unset.body[field]).toBeNull();
              expect((await read(fx, path))[field]).toBeNull();
              expect((await inSnapshot(k, created.id)).entity[field]).toBeNull();
            }
          });

          // Kinds only nested (targets): Kong's PUT /upstreams/{u}/targets/{t} updates and never
          // creates (404 when there is none: kong/api/routes/upstreams.lua, generic-router's putUpdates).
          it.skipIf(def.admin?.path === undefined)(
            'PUT [] creates and replaces with [], PUT without it resets it',
            async () => {
              const fx = await FIXTURES[k]!(api);
              const id = randomUUID();
              const put = await call('PUT', fx.entity(id), { ...fx.body, [field]: [] });
              expect([200, 201], put.text).toContain(put.status);
              expect(put.text).toContain(`"${field}":[]`);
              expect((await read(fx, fx.entity(id)))[field]).toEqual([]);
              const body = { ...fx.body };
              delete body[field];
              const again = await api('PUT', fx.entity(id), body);
              expect(again[field]).toEqual(unsetValue(def, field));
              const back = await api('PUT', fx.entity(id), { ...fx.body, [field]: [] });
              expect(back[field]).toEqual([]);
            },
          );
        });
      }
    }

    describe('certificates.snis (transient, always listed)', () => {
      it('a certificate without SNIs lists snis: [] in every answer', async () => {
        const r = await call('POST', '/certificates', { cert: RSA_CERT, key: RSA_KEY });
        expect(r.status, r.text).toBe(201);
        expect(r.text).toContain('"snis":[]');
        const id = r.body.id as string;
        expect((await call('GET', `/certificates/${id}`)).text).toContain('"snis":[]');
        expect((await api('GET', '/certificates')).data[0].snis).toEqual([]);
        expect((await call('PATCH', `/certificates/${id}`, { tags: ['t'] })).text).toContain('"snis":[]');
      });

      it('snis: null and snis: [] delete every SNI of the certificate', async () => {
        for (const snis of [null, []]) {
          const cert = await api('POST', '/certificates', {
            cert: RSA_CERT,
            key: RSA_KEY,
            snis: [`a${next()}.test`, `b${serial}.test`],
          });
          expect(cert.snis).toHaveLength(2);
          const r = await call('PATCH', `/certificates/${cert.id}`, { snis });
          expect(r.status, r.text).toBe(200);
          expect(r.text).toContain('"snis":[]');
          const left = await api('GET', `/snis?size=1000`);
          expect(left.data.filter((s: Json) => s.certificate.id === cert.id)).toEqual([]);
        }
      });
    });

    it('a route whose headers are {} reads {} (a map: Kong stores it as jsonb and returns it as written)', async () => {
      const r = await call('POST', '/routes', { hosts: ['h.test'], headers: {} });
      expect(r.status, r.text).toBe(201);
      expect(r.text).toContain('"headers":{}');
      expect((await api('GET', `/routes/${r.body.id}`)).headers).toEqual({});
      expect((await inSnapshot('routes', r.body.id)).entity.headers).toEqual({});
      const unset = await api('PATCH', `/routes/${r.body.id}`, { headers: null });
      expect(unset.headers).toBeNull();
    });

    it('a route may have methods: [] and paths: [] beside its hosts (09-routes_routes_spec.lua)', async () => {
      const r = await api('POST', '/routes', { hosts: ['m.test'], methods: [], paths: [] });
      expect(r.methods).toEqual([]);
      expect(r.paths).toEqual([]);
      const { entity } = await inSnapshot('routes', r.id);
      expect(entity).toMatchObject({ methods: [], paths: [], hosts: ['m.test'] });
    });
  });
}
