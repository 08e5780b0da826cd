/**
 * Kong Manager as a client (issue 9, "Kong's own admin UI as a client"), against a real control
 * plane (startControlPlane: Admin API, database, cluster port) on each database kind:
 *
 * - OPTIONS and CORS as Kong answers them (spec/02-integration/04-admin_api/23-cors_spec.lua,
 *   02-kong_routes_spec.lua, 09-routes_routes_spec.lua), reconciled with our origin policy: the
 *   admin UI's origins (default http://localhost:8002, http://127.0.0.1:8002) are allowed, others
 *   get no CORS allowance and no writes; a preflight needs no token and does nothing else.
 * - `GET /`: `edition` and the `configuration` fields Kong Manager's overview and forms read.
 * - keys, key-sets and vaults (spec/02-integration/04-admin_api/21-admin-api-keys_spec.lua,
 *   19-vaults_spec.lua).
 * - The fixture: every Admin API request Kong Manager OSS makes (Kong/kong-manager `src/`, and
 *   the `*-endpoints.ts` and list components of Kong/public-ui-components'
 *   packages/entities/*), with the fields it reads, replayed with the UI's Origin.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { ENTITY_RECORDS } from '../../shared/src/entities/index.js';
import { CA_CERT, RSA_CERT, RSA_KEY, RSA_PUBLIC_KEY } from '../../shared/src/entities/test-fixtures.js';
import { createPostgresDatabase, quietLogger, type DbKind } from '../helpers/db.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON, checked by assertions
type Json = any;

const TOKEN = 'kong-manager-contract-token-0123';
const UI = 'http://localhost:8002';
const UI_IP = 'http://127.0.0.1:8002';
const EVIL = 'http://evil.example';

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

/** One Kong Manager request: what it sends and the fields of the answer it reads. */
export interface ManagerRequest {
  /** Where Kong Manager makes it (page or component). */
  from: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** With `{service}`, `{route}`, … replaced by the seeded entities' ids. */
  path: string;
  body?: Json;
  /** Dotted paths read from the answer; `data[].x` = `x` of every listed entity. */
  reads: readonly string[];
}

const list = (fields: readonly string[]) => ['data', 'next', ...fields.map((f) => `data[].${f}`)];

/**
 * The requests, in the order a session meets them. Lists are fetched with `?size=` (Kong Manager's
 * page size); OSS search is an exact-match `GET /{entity}/{query}` (isExactMatch for community).
 */
export const KONG_MANAGER_REQUESTS: readonly ManagerRequest[] = [
  // src/stores/info.ts, pages/overview/Overview.vue, routes/Form.vue, upstreams/TargetList.vue
  {
    from: 'info store / overview',
    method: 'GET',
    path: '/',
    reads: [
      'version',
      'edition',
      'hostname',
      'tagline',
      'plugins.available_on_server',
      'plugins.enabled_in_cluster',
      'configuration.role',
      'configuration.database',
      'configuration.router_flavor',
      'configuration.admin_listen',
      'configuration.admin_gui_listeners',
      'configuration.proxy_listeners',
    ],
  },
  // entities-gateway-services
  {
    from: 'GatewayServiceList',
    method: 'GET',
    path: '/services?size=30',
    reads: list(['name', 'protocol', 'host', 'port', 'path', 'enabled', 'tags', 'created_at', 'updated_at']),
  },
  {
    from: 'GatewayServiceList search',
    method: 'GET',
    path: '/services/{serviceName}',
    reads: ['id', 'name'],
  },
  {
    from: 'GatewayServiceForm',
    method: 'GET',
    path: '/services/{service}',
    reads: [
      'id',
      'name',
      'protocol',
      'host',
      'port',
      'path',
      'retries',
      'connect_timeout',
      'write_timeout',
      'read_timeout',
      'client_certificate',
      'ca_certificates',
      'tls_verify',
      'tls_verify_depth',
      'enabled',
      'tags',
    ],
  },
  {
    from: 'GatewayServiceForm certificates',
    method: 'GET',
    path: '/certificates?size=1000',
    reads: list(['id']),
  },
  {
    from: 'GatewayServiceForm ca certificates',
    method: 'GET',
    path: '/ca_certificates?size=1000',
    reads: list(['id']),
  },
  {
    from: 'GatewayServiceForm edit',
    method: 'PATCH',
    path: '/services/{service}',
    body: { retries: 4 },
    reads: ['id', 'retries'],
  },
  // entities-routes
  {
    from: 'RouteList',
    method: 'GET',
    path: '/routes?size=30',
    reads: list(['name', 'protocols', 'hosts', 'methods', 'paths', 'tags', 'created_at', 'updated_at']),
  },
  {
    from: 'RouteList (service)',
    method: 'GET',
    path: '/services/{service}/routes?size=30',
    reads: list(['name', 'paths']),
  },
  {
    from: 'RouteForm',
    method: 'GET',
    path: '/routes/{route}',
    reads: [
      'id',
      'name',
      'protocols',
      'paths',
      'service',
      'strip_path',
      'preserve_host',
      'https_redirect_status_code',
      'regex_priority',
      'path_handling',
      'request_buffering',
      'response_buffering',
      'tags',
    ],
  },
  { from: 'RouteForm services', method: 'GET', path: '/services?size=1000', reads: list(['id', 'name']) },
  { from: 'RouteConfigCard service', method: 'GET', path: '/services/{service}', reads: ['id', 'name'] },
  {
    from: 'RouteForm (service)',
    method: 'GET',
    path: '/services/{service}/routes/{route}',
    reads: ['id', 'name'],
  },
  // entities-consumers, consumer-credentials, consumer-groups
  {
    from: 'ConsumerList',
    method: 'GET',
    path: '/consumers?size=30',
    reads: list(['username', 'custom_id', 'tags']),
  },
  {
    from: 'ConsumerForm',
    method: 'GET',
    path: '/consumers/{consumer}',
    reads: ['id', 'username', 'custom_id', 'tags'],
  },
  {
    from: 'ConsumerCredentialList key-auth',
    method: 'GET',
    path: '/consumers/{consumer}/key-auth?size=30',
    reads: list(['key', 'created_at', 'tags']),
  },
  {
    from: 'ConsumerCredentialList acls',
    method: 'GET',
    path: '/consumers/{consumer}/acls?size=30',
    reads: list(['group', 'created_at', 'tags']),
  },
  {
    from: 'ConsumerGroupList',
    method: 'GET',
    path: '/consumer_groups?counter=true&size=30',
    reads: list(['name']),
  },
  {
    from: 'ConsumerGroupConfigCard',
    method: 'GET',
    path: '/consumer_groups/{group}?list_consumers=false',
    // Kong Enterprise's shape: { consumer_group, consumers?, plugins }.
    reads: ['consumer_group.id', 'consumer_group.name', 'plugins'],
  },
  {
    from: 'ConsumerGroupForm members',
    method: 'GET',
    path: '/consumer_groups/{group}/consumers',
    reads: ['data'],
  },
  {
    from: 'ConsumerGroupList (consumer)',
    method: 'GET',
    path: '/consumers/{consumer}/consumer_groups',
    reads: ['data'],
  },
  // entities-plugins
  {
    from: 'PluginSelect (OSS: available_on_server)',
    method: 'GET',
    path: '/',
    reads: ['plugins.available_on_server.key-auth'],
  },
  {
    from: 'PluginList',
    method: 'GET',
    path: '/plugins?size=30',
    reads: list(['name', 'enabled', 'protocols', 'tags']),
  },
  {
    from: 'PluginList (service)',
    method: 'GET',
    path: '/services/{service}/plugins?size=30',
    reads: list(['name']),
  },
  { from: 'PluginForm schema', method: 'GET', path: '/schemas/plugins/key-auth', reads: ['fields'] },
  {
    from: 'PluginForm credential schema',
    method: 'GET',
    path: '/schemas/keyauth_credentials',
    reads: ['fields'],
  },
  {
    from: 'PluginForm',
    method: 'GET',
    path: '/plugins/{plugin}',
    reads: ['id', 'name', 'config', 'enabled', 'protocols', 'service', 'route', 'consumer'],
  },
  {
    from: 'PluginForm (service)',
    method: 'GET',
    path: '/services/{service}/plugins/{plugin}',
    reads: ['id', 'name', 'config'],
  },
  {
    from: 'PluginForm VFG consumers',
    method: 'GET',
    path: '/consumers?size=1000',
    reads: list(['id', 'username']),
  },
  {
    from: 'PluginList toggle',
    method: 'PATCH',
    path: '/plugins/{plugin}',
    body: { enabled: true },
    reads: ['id', 'enabled'],
  },
  // entities-upstreams-targets
  {
    from: 'UpstreamsList',
    method: 'GET',
    path: '/upstreams?size=30',
    reads: list(['name', 'slots', 'tags']),
  },
  {
    from: 'UpstreamsForm',
    method: 'GET',
    path: '/upstreams/{upstream}',
    reads: [
      'id',
      'name',
      'algorithm',
      'hash_on',
      'hash_fallback',
      'slots',
      'healthchecks',
      'host_header',
      'client_certificate',
      'tags',
    ],
  },
  {
    from: 'TargetsList',
    method: 'GET',
    path: '/upstreams/{upstream}/targets?size=30',
    reads: list(['target', 'weight', 'tags']),
  },
  // entities-certificates, snis
  {
    from: 'CertificateList',
    method: 'GET',
    path: '/certificates?size=30',
    reads: list(['cert', 'tags', 'snis']),
  },
  {
    from: 'CertificateForm',
    method: 'GET',
    path: '/certificates/{certificate}',
    reads: ['id', 'cert', 'key', 'snis', 'tags'],
  },
  {
    from: 'CACertificateList',
    method: 'GET',
    path: '/ca_certificates?size=30',
    reads: list(['cert', 'tags']),
  },
  { from: 'SniList', method: 'GET', path: '/snis?size=30', reads: list(['name', 'certificate', 'tags']) },
  { from: 'SniForm', method: 'GET', path: '/snis/{sni}', reads: ['id', 'name', 'certificate', 'tags'] },
  // entities-key-sets, entities-keys
  { from: 'KeySetList', method: 'GET', path: '/key-sets?size=30', reads: list(['id', 'name', 'tags']) },
  { from: 'KeySetForm', method: 'GET', path: '/key-sets/{keySet}', reads: ['id', 'name', 'tags'] },
  { from: 'KeyList', method: 'GET', path: '/keys?size=30', reads: list(['id', 'name', 'kid', 'tags']) },
  {
    from: 'KeyList (key set)',
    method: 'GET',
    path: '/key-sets/{keySet}/keys?size=30',
    reads: list(['id', 'name', 'kid']),
  },
  {
    from: 'KeyForm',
    method: 'GET',
    path: '/keys/{key}',
    reads: ['id', 'name', 'kid', 'set.id', 'jwk', 'pem', 'tags'],
  },
  { from: 'KeyForm (key set)', method: 'GET', path: '/key-sets/{keySet}/keys/{key}', reads: ['id', 'kid'] },
  {
    from: 'KeyForm edit',
    method: 'PATCH',
    path: '/keys/{key}',
    body: { name: 'km-key-renamed' },
    reads: ['id', 'name'],
  },
  // entities-vaults
  {
    from: 'VaultList',
    method: 'GET',
    path: '/vaults?size=30',
    reads: list(['prefix', 'name', 'description', 'tags']),
  },
  {
    from: 'VaultForm',
    method: 'GET',
    path: '/vaults/{vault}',
    reads: ['id', 'prefix', 'name', 'description', 'config', 'tags'],
  },
  {
    from: 'VaultForm edit',
    method: 'PATCH',
    path: '/vaults/{vault}',
    body: { name: 'env', prefix: 'km-env', description: 'edited', tags: [], config: { prefix: 'KM_' } },
    reads: ['id', 'description', 'config.prefix'],
  },
];

/** The value at a dotted path (`data[].name`: every element has it); undefined when missing. */
function read(body: Json, path: string): unknown[] {
  let values: unknown[] = [body];
  for (const part of path.split('.')) {
    const each = part.endsWith('[]');
    const key = each ? part.slice(0, -2) : part;
    values = values.flatMap((v) => {
      const x: unknown =
        v !== null && typeof v === 'object' && Object.hasOwn(v, key)
          ? (v as Record<string, unknown>)[key]
          : undefined;
      return each ? (Array.isArray(x) ? (x.length ? (x as unknown[]) : [undefined]) : [undefined]) : [x];
    });
  }
  return values;
}

export function kongManagerContract(kind: DbKind) {
  describe(`Kong Manager as a client, on ${kind}`, () => {
    let cp: ControlPlane;
    let dataDir: string;
    let dropDb: (() => Promise<void>) | undefined;
    let databaseUrl: string | undefined;
    const ids: Record<string, string> = {};

    async function call(
      method: string,
      path: string,
      opts: { body?: Json; headers?: Record<string, string>; token?: boolean } = {},
    ): Promise<Reply> {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token !== false) headers['kong-admin-token'] = TOKEN;
      const init: RequestInit = { method, headers };
      if (opts.body !== undefined) {
        init.body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(cp.adminUrl + path, init);
      const text = await res.text();
      let body: Json = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      return { status: res.status, headers: res.headers, body };
    }
    const created = async (path: string, body: Json) => {
      const r = await call('POST', path, { body });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id as string;
    };
    const version = async () => (await call('GET', '/')).body.configuration.config_version as string;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-km-'));
      if (kind === 'postgres') {
        const pg = await createPostgresDatabase();
        dropDb = () => pg.drop();
        databaseUrl = pg.url;
      }
      cp = await startControlPlane({
        adminListen: { host: '127.0.0.1', port: 0 },
        clusterListen: { host: '127.0.0.1', port: 0 },
        dataDir,
        databaseUrl,
        dev: true,
        adminToken: TOKEN,
        logger: quietLogger('cp'),
      });
    });
    afterAll(async () => {
      await cp?.stop();
      await dropDb?.();
      await rm(dataDir, { recursive: true, force: true });
    });

    describe('OPTIONS and CORS (Kong: 23-cors_spec.lua, 02-kong_routes_spec.lua, 09-routes_routes_spec.lua)', () => {
      it('answers OPTIONS on a route with 204, Allow and Access-Control-Allow-Methods for that route', async () => {
        for (const [path, allow] of [
          ['/', 'GET, HEAD, OPTIONS'],
          ['/routes', 'GET, HEAD, OPTIONS, POST'],
          ['/routes/test', 'DELETE, GET, HEAD, OPTIONS, PATCH, PUT'],
          ['/config', 'GET, HEAD, OPTIONS, POST'],
          ['/clustering/status', 'GET, HEAD, OPTIONS'],
        ] as const) {
          const r = await call('OPTIONS', path);
          expect(r.status, path).toBe(204);
          expect(r.body).toBeUndefined();
          expect(r.headers.get('allow'), path).toBe(allow);
          expect(r.headers.get('access-control-allow-methods'), path).toBe(allow);
          expect(r.headers.get('access-control-allow-headers')).toBe('Content-Type');
        }
      });

      it('echoes Access-Control-Request-Headers, and only on OPTIONS', async () => {
        const asked = { 'access-control-request-headers': 'X-Header-1,X-Header-2' };
        const pre = await call('OPTIONS', '/', { headers: asked });
        expect(pre.headers.get('access-control-allow-headers')).toBe('X-Header-1,X-Header-2');
        const get = await call('GET', '/', {
          headers: { ...asked, 'access-control-request-method': 'PATCH', origin: UI },
        });
        expect(get.status).toBe(200);
        expect(get.headers.get('access-control-allow-methods')).toBeNull();
        expect(get.headers.get('access-control-allow-headers')).toBeNull();
      });

      it('answers 404 to OPTIONS on a path that does not exist, and 405 with Allow to a method a route lacks', async () => {
        const missing = await call('OPTIONS', '/non-existing');
        expect(missing.status).toBe(404);
        expect(missing.body).toEqual({ message: 'Not found' });
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
          const r = await call(method, '/', { body: {} });
          expect(r.status).toBe(405);
          expect(r.body).toEqual({ message: 'Method not allowed' });
          expect(r.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
        }
        const vaults = await call('DELETE', '/vaults');
        expect(vaults.status).toBe(405);
        expect(vaults.headers.get('allow')).toBe('GET, HEAD, OPTIONS, POST');
      });

      it('allows the admin UI origins (default --admin-gui-listen 127.0.0.1:8002) on every answer, errors included', async () => {
        for (const origin of [UI, UI_IP]) {
          for (const [method, path, status] of [
            ['GET', '/', 200],
            ['GET', '/services/nope', 404],
            ['POST', '/', 405],
          ] as const) {
            const r = await call(method, path, { headers: { origin } });
            expect(r.status).toBe(status);
            expect(r.headers.get('access-control-allow-origin')).toBe(origin);
            expect(r.headers.get('access-control-allow-credentials')).toBe('true');
            expect(r.headers.get('vary')).toMatch(/Origin/);
          }
          // The UI can read a 401 too (a token missing).
          const unauthorised = await call('GET', '/services', { headers: { origin }, token: false });
          expect(unauthorised.status).toBe(401);
          expect(unauthorised.headers.get('access-control-allow-origin')).toBe(origin);
        }
      });

      it('gives another origin no CORS allowance, refuses its preflight and its writes (Kong would answer *)', async () => {
        const read = await call('GET', '/', { headers: { origin: EVIL } });
        expect(read.status).toBe(200);
        expect(read.headers.get('access-control-allow-origin')).toBeNull();
        expect(read.headers.get('access-control-allow-credentials')).toBeNull();
        const pre = await call('OPTIONS', '/consumers', {
          headers: { origin: EVIL, 'access-control-request-method': 'POST' },
          token: false,
        });
        expect(pre.status).toBe(403);
        const write = await call('POST', '/consumers', {
          headers: { origin: EVIL },
          body: { username: 'evil' },
        });
        expect(write.status).toBe(403);
        expect((await call('GET', '/consumers/evil')).status).toBe(404);
      });

      it('answers the UI’s preflight without the token, on every route; a plain OPTIONS still needs it', async () => {
        const paths = [
          '/',
          '/config',
          ...ENTITY_RECORDS.flatMap((r) => (r.admin?.path ? [`/${r.admin.path}`, `/${r.admin.path}/x`] : [])),
        ];
        for (const path of paths) {
          const r = await call('OPTIONS', path, {
            headers: {
              origin: UI,
              'access-control-request-method': 'POST',
              'access-control-request-headers': 'content-type',
            },
            token: false,
          });
          expect(r.status, path).toBe(204);
          expect(r.headers.get('access-control-allow-origin')).toBe(UI);
          expect(r.headers.get('access-control-allow-headers')).toBe('content-type');
        }
        expect((await call('OPTIONS', '/services', { token: false })).status).toBe(401);
      });

      it('never lets an OPTIONS write: a token-less preflight carrying a body changes nothing', async () => {
        const before = await version();
        for (const r of ENTITY_RECORDS) {
          if (!r.admin?.path) continue;
          for (const path of [`/${r.admin.path}`, `/${r.admin.path}/km-preflight`]) {
            const res = await fetch(cp.adminUrl + path, {
              method: 'OPTIONS',
              headers: {
                origin: UI,
                'access-control-request-method': 'PUT',
                'content-type': 'application/json',
              },
              body: JSON.stringify({
                name: 'km-preflight',
                username: 'km-preflight',
                prefix: 'km-preflight',
              }),
            });
            expect(res.status).toBe(204);
          }
        }
        const config = await call('POST', '/config', {
          body: { _format_version: '3.0' },
          headers: {},
          token: false,
        });
        expect(config.status).toBe(401);
        expect(await version()).toBe(before);
      });
    });

    describe('GET / for Kong Manager', () => {
      it('reports Kong OSS’s edition and the configuration the overview reads', async () => {
        const r = await call('GET', '/');
        expect(r.status).toBe(200);
        expect(r.body.edition).toBe('community');
        const c = r.body.configuration;
        expect(c).toMatchObject({
          role: 'control_plane',
          router_flavor: 'traditional',
          database: 'postgres',
          database_engine: kind,
          admin_listen: [new URL(cp.adminUrl).host],
          proxy_listeners: [],
          admin_gui_listeners: [
            { ip: '127.0.0.1', port: 8002, ssl: false, http2: false, listener: '127.0.0.1:8002' },
          ],
        });
        if (kind === 'postgres') {
          const url = new URL(databaseUrl!);
          expect(c).toMatchObject({
            pg_host: url.hostname,
            pg_port: Number(url.port || 5432),
            pg_ssl: false,
          });
          expect(c.pg_database).toBe(url.pathname.slice(1));
          expect(JSON.stringify(r.body)).not.toContain('password');
        } else {
          expect(c.pg_host).toBeUndefined();
        }
      });
    });

    describe('keys and key-sets (Kong: 21-admin-api-keys_spec.lua)', () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'km-jwk' };

      it('creates key sets and JWK / PEM keys in them, lists them top-level and nested, and cascades a set’s delete', async () => {
        const set = await created('/key-sets', { name: 'km-set' });
        const jwkKey = await call('POST', '/keys', {
          body: { name: 'km jwk key', set: { id: set }, jwk: JSON.stringify(jwk), kid: jwk.kid },
        });
        expect(jwkKey.status).toBe(201);
        expect(jwkKey.body).toMatchObject({ set: { id: set }, kid: 'km-jwk', pem: null, tags: null });
        const pemKey = await call('POST', `/key-sets/${set}/keys`, {
          body: {
            name: 'km pem key',
            pem: { public_key: RSA_PUBLIC_KEY, private_key: RSA_KEY },
            kid: 'km-pem',
          },
        });
        expect(pemKey.status).toBe(201);
        expect(pemKey.body).toMatchObject({
          set: { id: set },
          jwk: null,
          pem: { public_key: RSA_PUBLIC_KEY },
        });
        await created('/keys', { name: 'km lone key', pem: { public_key: RSA_PUBLIC_KEY }, kid: 'km-lone' });

        const nested = (await call('GET', `/key-sets/${set}/keys`)).body.data;
        expect(nested).toHaveLength(2);
        // Key material is not listed (as certificate keys); GET /keys/{key} has it.
        for (const k of nested) expect(k.jwk === undefined && k.pem === undefined).toBe(true);
        expect((await call('GET', `/keys/${pemKey.body.id}`)).body.pem.private_key).toBe(RSA_KEY);
        expect((await call('GET', '/keys/km%20jwk%20key')).body.id).toBe(jwkKey.body.id);
        const patched = await call('PATCH', `/key-sets/${set}`, { body: { name: 'km-set-renamed' } });
        expect(patched.body.name).toBe('km-set-renamed');
        const renamed = await call('PATCH', `/keys/${pemKey.body.id}`, { body: { name: 'changeme_pem' } });
        expect(renamed.status).toBe(200);
        expect(renamed.body.name).toBe('changeme_pem');

        expect((await call('DELETE', `/key-sets/${set}`)).status).toBe(204);
        const left = (await call('GET', '/keys')).body.data.map((k: { name: string }) => k.name) as string[];
        expect(left).toContain('km lone key');
        expect(left).not.toContain('km jwk key');
        expect(left).not.toContain('changeme_pem');
        expect((await call('DELETE', '/keys/km%20lone%20key')).status).toBe(204);
      });

      it("refuses an invalid JWK with Kong's message, and a second key with the same kid in a set with 409", async () => {
        const bad = await call('POST', '/keys', {
          body: { name: 'jwk invalid', jwk: '{"kid": "36"}', kid: '36' },
        });
        expect(bad.status).toBe(400);
        expect(bad.body.message).toBe('schema violation (could not load JWK, likely not a valid key)');
        const set = await created('/key-sets', { name: 'km-dup' });
        await created('/keys', { set: { id: set }, kid: 'same', pem: { public_key: RSA_PUBLIC_KEY } });
        const dup = await call('POST', '/keys', {
          body: { set: { id: set }, kid: 'same', pem: { public_key: RSA_PUBLIC_KEY } },
        });
        expect(dup.status).toBe(409);
        expect((await call('DELETE', `/key-sets/${set}`)).status).toBe(204);
      });
    });

    describe('vaults (Kong: 19-vaults_spec.lua)', () => {
      it('creates vaults by prefix, reads them by id and prefix, updates their config and deletes them', async () => {
        const made: Json[] = [];
        for (let i = 1; i <= 2; i++) {
          const r = await call('PUT', `/vaults/km-env-${i}`, { body: { name: 'env' } });
          // Kong answers 200 to a PUT that creates.
          expect(r.status).toBe(200);
          expect(r.body).toMatchObject({ prefix: `km-env-${i}`, name: 'env', config: { prefix: null } });
          made.push(r.body);
        }
        expect((await call('GET', `/vaults/${made[0].id}`)).body).toEqual(made[0]);
        expect((await call('GET', '/vaults/km-env-1')).body).toEqual(made[0]);
        expect((await call('GET', '/vaults/not-found')).status).toBe(404);
        const patched = await call('PATCH', '/vaults/km-env-1', { body: { config: { prefix: 'CERT_' } } });
        expect(patched.status).toBe(200);
        expect(patched.body.config.prefix).toBe('CERT_');
        expect((await call('DELETE', '/vaults/km-env-2')).status).toBe(204);
        expect((await call('GET', '/vaults/km-env-2')).status).toBe(404);
        expect((await call('DELETE', '/vaults/km-env-1')).status).toBe(204);
      });

      it("refuses a prefix naming a backend and an unknown backend, with Kong's messages", async () => {
        const r = await call('POST', '/vaults', { body: { name: 'env', prefix: 'env' } });
        expect(r.status).toBe(400);
        expect(r.body).toEqual({
          name: 'schema violation',
          code: 2,
          message: 'schema violation (prefix: must not be one of: env, file)',
          fields: { prefix: 'must not be one of: env, file' },
        });
        const aws = await call('POST', '/vaults', { body: { name: 'aws', prefix: 'my-aws' } });
        expect(aws.status).toBe(400);
        expect(aws.body.fields).toEqual({ name: "vault 'aws' is not installed" });
      });
    });

    describe('the requests Kong Manager makes (fixture)', () => {
      beforeAll(async () => {
        ids.service = await created('/services', { name: 'km-service', url: 'http://km.internal:8080/p' });
        ids.serviceName = 'km-service';
        ids.route = await created(`/services/${ids.service}/routes`, { name: 'km-route', paths: ['/km'] });
        ids.consumer = await created('/consumers', { username: 'km-consumer' });
        await created(`/consumers/${ids.consumer}/key-auth`, {});
        await created(`/consumers/${ids.consumer}/acls`, { group: 'km' });
        ids.group = await created('/consumer_groups', { name: 'km-group' });
        await created(`/consumer_groups/${ids.group}/consumers`, { consumer: ids.consumer });
        ids.plugin = await created(`/services/${ids.service}/plugins`, { name: 'key-auth' });
        ids.upstream = await created('/upstreams', { name: 'km-upstream' });
        await created(`/upstreams/${ids.upstream}/targets`, { target: '10.0.0.1:80' });
        ids.certificate = await created('/certificates', {
          cert: RSA_CERT,
          key: RSA_KEY,
          snis: ['km.example'],
        });
        ids.sni = 'km.example';
        await created('/ca_certificates', { cert: CA_CERT });
        ids.keySet = await created('/key-sets', { name: 'km-fixture-set' });
        ids.key = await created('/keys', {
          name: 'km-key',
          set: { id: ids.keySet },
          kid: 'km',
          pem: { public_key: RSA_PUBLIC_KEY },
        });
        ids.vault = await created('/vaults', { name: 'env', prefix: 'km-env', config: { prefix: 'KM_' } });
      });

      for (const q of KONG_MANAGER_REQUESTS) {
        const title = `${q.from}: ${q.method} ${q.path} reads ${q.reads.join(', ')}`;
        it(title, async () => {
          const path = q.path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name] ?? `{${name}}`);
          const r = await call(q.method, path, { body: q.body, headers: { origin: UI } });
          expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(200);
          expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
          expect(r.headers.get('access-control-allow-origin')).toBe(UI);
          for (const field of q.reads)
            for (const value of read(r.body, field))
              expect(value, `${field} in ${JSON.stringify(r.body)}`).not.toBeUndefined();
        });
      }
    });
  });
}
