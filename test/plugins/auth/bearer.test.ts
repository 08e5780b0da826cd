import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';

const now = Math.floor(Date.now() / 1000);
const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

function rs256(kid: string, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** A tiny identity provider: discovery, JWKS (keys can be rotated) and RFC 7662 introspection. */
async function startIdp() {
  const keys = new Map<string, { publicKey: KeyObject; privateKey: KeyObject }>();
  const addKey = (kid: string) => keys.set(kid, generateKeyPairSync('rsa', { modulusLength: 2048 }));
  addKey('k1');
  let jwksFetches = 0;
  const introspections: string[] = [];
  const active = new Map<string, Record<string, unknown>>();
  const server = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
    } else if (req.url === '/jwks') {
      jwksFetches++;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          keys: [...keys].map(([kid, k]) => ({
            ...k.publicKey.export({ format: 'jwk' }),
            kid,
            alg: 'RS256',
            use: 'sig',
          })),
        }),
      );
    } else if (req.url === '/introspect') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('token') ?? '';
        introspections.push(`${req.headers.authorization} ${token}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(active.get(token) ?? { active: false }));
      });
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    keys,
    addKey,
    active,
    introspections,
    get jwksFetches() {
      return jwksFetches;
    },
    token: (claims: Record<string, unknown>, kid = 'k1') =>
      rs256(kid, { iss: issuer, ...claims }, keys.get(kid)!.privateKey),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('Plugin: openid-connect and oauth2-introspection (access, real ProxyServer, real IdP)', () => {
  let gw: Gateway;
  let idp: Awaited<ReturnType<typeof startIdp>>;
  beforeAll(async () => {
    gw = await startGateway();
    idp = await startIdp();
  });
  afterAll(async () => {
    await gw.close();
    idp.close();
  });
  const oidc = (config: Record<string, unknown> = {}) =>
    gw.apply({
      consumers: [consumer('alice'), consumer('anon')],
      plugins: [
        plugin(
          'openid-connect',
          { issuer: idp.issuer, rediscovery_lifetime: 0, ...config },
          { route: { id: 'r' } },
        ),
      ],
    });
  const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

  it('openid-connect: returns 401 without a token and 200 with a valid one', async () => {
    oidc({ consumer_claim: ['sub'] });
    expect((await call(gw.port, '/x')).status).toBe(401);
    const r = await call(gw.port, '/x', bearer(idp.token({ sub: 'alice', exp: now + 60 })));
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-consumer-id']).toBe('alice');
    expect(r.json<SeenRequest>().headers['x-credential-identifier']).toBe('alice');
  });

  it('openid-connect: returns 401 for a wrong issuer, an expired token and a token signed by an unknown key', async () => {
    oidc();
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const t of [
      idp.token({ sub: 'a', iss: 'https://evil.example' }),
      idp.token({ sub: 'a', exp: now - 5 }),
      rs256('k1', { iss: idp.issuer, sub: 'a' }, stranger.privateKey),
      rs256('nope', { iss: idp.issuer, sub: 'a' }, stranger.privateKey),
      'not-a-jwt',
    ]) {
      expect((await call(gw.port, '/x', bearer(t))).status).toBe(401);
    }
  });

  it('openid-connect: returns 403 when the audience or the scopes are missing', async () => {
    oidc({ audience_required: ['api'], scopes_required: ['read write', 'admin'] });
    expect((await call(gw.port, '/x', bearer(idp.token({ aud: 'other', scope: 'admin' })))).status).toBe(403);
    expect((await call(gw.port, '/x', bearer(idp.token({ aud: 'api', scope: 'read' })))).status).toBe(403);
    expect(
      (await call(gw.port, '/x', bearer(idp.token({ aud: ['x', 'api'], scope: 'write read' })))).status,
    ).toBe(200);
    expect((await call(gw.port, '/x', bearer(idp.token({ aud: 'api', scope: 'admin' })))).status).toBe(200);
  });

  it('openid-connect: refetches the JWKS when a token names an unknown kid (key rotation)', async () => {
    oidc();
    expect((await call(gw.port, '/x', bearer(idp.token({ sub: 'a' })))).status).toBe(200);
    const before = idp.jwksFetches;
    idp.addKey('k2');
    expect(await call(gw.port, '/x', bearer(idp.token({ sub: 'b' }, 'k2')))).toMatchObject({ status: 200 });
    expect(idp.jwksFetches).toBe(before + 1);
  });

  const introspection = (config: Record<string, unknown> = {}) =>
    gw.apply({
      consumers: [consumer('alice'), consumer('anon')],
      plugins: [
        plugin(
          'oauth2-introspection',
          {
            introspection_url: `${idp.issuer}/introspect`,
            authorization_value: 'Basic Y2xpZW50OnNlY3JldA==',
            ...config,
          },
          { route: { id: 'r' } },
        ),
      ],
    });

  it('oauth2-introspection: returns 401 invalid_request without a token and invalid_token for an inactive one', async () => {
    introspection();
    const missing = await call(gw.port, '/x');
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body.toString())).toEqual({
      error: 'invalid_request',
      error_description: 'The access token is missing',
    });
    const inactive = await call(gw.port, '/x', bearer('unknown-token'));
    expect(inactive.status).toBe(401);
    expect(JSON.parse(inactive.body.toString()).error).toBe('invalid_token');
  });

  it('oauth2-introspection: forwards the claims, maps the consumer and caches the result for ttl', async () => {
    introspection({ hide_credentials: true });
    idp.active.set('tok-1', {
      active: true,
      username: 'alice',
      client_id: 'app',
      scope: 'read write',
      sub: 's1',
      exp: now + 600,
    });
    idp.introspections.length = 0;
    for (let i = 0; i < 3; i++) {
      const r = await call(gw.port, '/x', bearer('tok-1'));
      expect(r.status).toBe(200);
      const h = r.json<SeenRequest>().headers;
      expect(h['x-consumer-id']).toBe('alice');
      expect(h['x-credential-scope']).toBe('read write');
      expect(h['x-credential-client-id']).toBe('app');
      expect(h.authorization).toBeUndefined();
    }
    expect(idp.introspections).toEqual(['Basic Y2xpZW50OnNlY3JldA== tok-1']);
  });
});
