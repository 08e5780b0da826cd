/**
 * Kong's plugin and proxy behaviours, configured through the Admin API on each database kind
 * (plugins-parity-postgres.test.ts / plugins-parity-pglite.test.ts) and served by a real proxy
 * from what the store holds: routes without a service, key names with `_`, the anonymous 500, jwt
 * claim failures and corrupted tokens, hmac-auth's parsing, request-termination's echo port and
 * cors on the gateway's own answers. Each case names the Kong spec it comes from.
 */
import { createHmac } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import { loadPluginRegistry } from '../../data-plane/src/plugins/index.js';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { call as proxyCall, startUpstream, type Upstream } from '../proxy/helpers.js';
import type { DbKind } from '../helpers/db.js';
import { useAdminServer } from './contract-server.js';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function hs256(claims: Record<string, unknown>, secret: string): string {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export function pluginsParityContract(kind: DbKind) {
  describe(`Kong plugin and proxy parity through the Admin API on ${kind}`, () => {
    const admin = useAdminServer(kind);
    const { ok } = admin;
    let proxy: ProxyServer;
    let proxyPort: number;
    let upstream: Upstream;

    beforeAll(async () => {
      const plugins = await loadPluginRegistry();
      proxy = new ProxyServer({ logger: createLogger('parity-proxy', { level: 'silent' }), plugins });
      await proxy.listen(0, '127.0.0.1');
      proxyPort = (proxy.server.address() as AddressInfo).port;
      upstream = await startUpstream();
    });

    afterAll(async () => {
      await proxy?.close();
      await upstream?.close();
    });

    /** What a data plane gets: the store's configuration, applied to the proxy. */
    async function publish(): Promise<void> {
      proxy.apply((await admin.store.readConfig()).config);
    }

    /** A service on the echo upstream and a route `r` on `/` with `plugins` on it. */
    async function routeWith(plugins: { name: string; config?: Record<string, unknown> }[]): Promise<void> {
      await ok('POST', '/services', { name: 'svc', url: `http://127.0.0.1:${upstream.port}` });
      const r = await ok('POST', '/services/svc/routes', { name: 'r', paths: ['/'] });
      for (const p of plugins) await ok('POST', `/routes/${r.id}/plugins`, p);
      await publish();
    }

    const message = (r: { body: Buffer }): unknown => JSON.parse(r.body.toString()).message;

    // spec/02-integration/05-proxy/02-router_spec.lua "responds 503 if no service found".
    it('accepts a route without a service and answers 503 "no Service found with those values" for it', async () => {
      const r = await ok('POST', '/routes', { name: 'serviceless', hosts: ['serviceless-route-http.test'] });
      expect(r.service).toBeNull();
      await publish();
      const res = await proxyCall(proxyPort, '/', { headers: { host: 'serviceless-route-http.test' } });
      expect(res.status).toBe(503);
      expect(message(res)).toBe('no Service found with those values');
    });

    // kong/init.lua (Kong.access): the plugins of a route without a service run before the 503.
    it('runs the plugins of a route without a service before the 503', async () => {
      const r = await ok('POST', '/routes', { name: 'serviceless', paths: ['/'] });
      await ok('POST', `/routes/${r.id}/plugins`, {
        name: 'request-termination',
        config: { status_code: 200, message: 'terminated' },
      });
      await publish();
      const res = await proxyCall(proxyPort, '/x');
      expect(res.status).toBe(200);
      expect(message(res)).toBe('terminated');
    });

    // spec/03-plugins/09-key-auth/02-access_spec.lua "underscores or hyphens in key headers".
    it('key-auth: a key name with _ finds the key in the - form of the header', async () => {
      await routeWith([{ name: 'key-auth', config: { key_names: ['api_key'] } }]);
      await ok('POST', '/consumers', { username: 'bob' });
      await ok('POST', '/consumers/bob/key-auth', { key: 'kong' });
      await publish();
      expect((await proxyCall(proxyPort, '/', { headers: { 'api-key': 'kong' } })).status).toBe(200);
      const bad = await proxyCall(proxyPort, '/', { headers: { 'api-key': '123' } });
      expect(bad.status).toBe(401);
      expect(bad.headers['www-authenticate']).toBe('Key');
    });

    // spec/03-plugins/*/0[23]-access_spec.lua "errors when anonymous user doesn't exist".
    it("every auth plugin: an anonymous naming no consumer answers 500 with Kong's message", async () => {
      const missing = '4ca4a1a7-0b36-4d1b-9a2c-7a6b4fd7f0f1';
      for (const name of ['key-auth', 'basic-auth', 'jwt', 'hmac-auth']) {
        await admin.clear();
        await routeWith([{ name, config: { anonymous: missing } }]);
        const res = await proxyCall(proxyPort, '/');
        expect(res.status, name).toBe(500);
        expect(message(res), name).toBe(`anonymous consumer ${missing} is configured but doesn't exist`);
      }
    });

    // spec/03-plugins/16-jwt/03-access_spec.lua "JWT private claims checks", "returns 401 if the
    // token exceeds the maximum allowed expiration limit", "the JWT in the cookie is corrupted".
    it('jwt: every failing claim with WWW-Authenticate, maximum_expiration, corrupted tokens', async () => {
      await routeWith([
        { name: 'jwt', config: { claims_to_verify: ['nbf', 'exp'], cookie_names: ['silly'] } },
      ]);
      await ok('POST', '/consumers', { username: 'jwt_tests_consumer' });
      const secret = await ok('POST', '/consumers/jwt_tests_consumer/jwt', {});
      await publish();
      const missing = await proxyCall(proxyPort, `/?jwt=${hs256({ iss: secret.key }, secret.secret)}`);
      expect(missing.status).toBe(401);
      expect(JSON.parse(missing.body.toString())).toEqual({
        nbf: 'must be a number',
        exp: 'must be a number',
      });
      expect(missing.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      const now = Math.floor(Date.now() / 1000);
      const expired = await proxyCall(
        proxyPort,
        `/?jwt=${hs256({ iss: secret.key, exp: now - 10, nbf: now - 10 }, secret.secret)}`,
      );
      expect(expired.body.toString()).toBe('{"exp":"token expired"}');
      expect(expired.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      const corrupted = await proxyCall(proxyPort, '/', {
        headers: { cookie: `silly=no-way-this-works${hs256({ iss: secret.key }, secret.secret)}` },
      });
      expect(corrupted.body.toString()).toBe('{"message":"Bad token; invalid JSON"}');

      await ok(
        'PATCH',
        `/plugins/${(await ok('GET', '/plugins', undefined, 200)).data[0].id}`,
        {
          config: { claims_to_verify: ['exp'], maximum_expiration: 300 },
        },
        200,
      );
      await publish();
      const far = await proxyCall(
        proxyPort,
        `/?jwt=${hs256({ iss: secret.key, exp: now + 3600, nbf: now - 30 }, secret.secret)}`,
      );
      expect(far.status).toBe(401);
      expect(far.body.toString()).toBe('{"exp":"exceeds maximum allowed expiration"}');
      expect(far.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    // spec/03-plugins/19-hmac-auth/03-access_spec.lua: the body-validation cases' `"hmac …`
    // value, "should encode http-1 requests as http/1.0" (request-line), "wrong algorithm".
    it("hmac-auth: Kong's reading of the Authorization value", async () => {
      await routeWith([{ name: 'hmac-auth' }]);
      await ok('POST', '/consumers', { username: 'bob' });
      await ok('POST', '/consumers/bob/hmac-auth', { username: 'bob', secret: 'secret' });
      await publish();
      const date = new Date().toUTCString();
      const sign = (lines: string) => createHmac('sha1', 'secret').update(lines).digest('base64');
      const signature = sign(`date: ${date}\nGET / HTTP/1.1`);
      const fields = `username="bob",algorithm="hmac-sha1",headers="date request-line",signature="${signature}"`;
      const send = (authorization: string) => proxyCall(proxyPort, '/', { headers: { date, authorization } });
      expect((await send(`"hmac ${fields}`)).status).toBe(200);
      expect((await send(`hmac${fields.replaceAll(',', ',  ')}`)).status).toBe(200);
      const wrongAlgorithm = await send(`hmac ${fields.replace('hmac-sha1', 'hmac-sha')}`);
      expect(wrongAlgorithm.status).toBe(401);
      expect(message(wrongAlgorithm)).toBe('HMAC signature cannot be verified');
      const noComma = await send(`hmac ${fields.replace('",headers', '" headers')}`);
      expect(message(noComma)).toBe('HMAC signature cannot be verified');
    });

    // kong/plugins/request-termination/handler.lua: request.port = kong.request.get_port().
    it('request-termination: echo reports the listening port', async () => {
      await routeWith([{ name: 'request-termination', config: { status_code: 200, echo: true } }]);
      const res = await proxyCall(proxyPort, '/', { headers: { host: 'api.test:9999' } });
      expect(JSON.parse(res.body.toString()).request).toMatchObject({
        port: proxyPort,
        host: 'api.test',
      });
    });

    // docs/plugins-traffic.md (cors): Kong's cors header_filter runs on the gateway's answers.
    it('cors: the gateway 502 of a route with cors carries the CORS headers', async () => {
      const closed = net.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await ok('POST', '/services', { name: 'down', url: `http://127.0.0.1:${port}` });
      const r = await ok('POST', '/services/down/routes', { name: 'r', paths: ['/'] });
      await ok('POST', `/routes/${r.id}/plugins`, {
        name: 'cors',
        config: { origins: ['https://app.test'] },
      });
      await publish();
      const res = await proxyCall(proxyPort, '/', { headers: { origin: 'https://app.test' } });
      expect(res.status).toBe(502);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.test');
    });
  });
}
