import { createHmac, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwtSecret } from '@gatehouse/shared';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';

const now = Math.floor(Date.now() / 1000);
const HS_SECRET = 'a-very-long-hs256-secret-for-tests-0123456789';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

function secret(
  id: string,
  key: string,
  algorithm: JwtSecret['algorithm'],
  fields: Partial<JwtSecret>,
): JwtSecret {
  return {
    id,
    consumer: { id: 'alice' },
    key,
    algorithm,
    secret: null,
    rsa_public_key: null,
    tags: null,
    created_at: now,
    ...fields,
  };
}

const SECRETS: JwtSecret[] = [
  secret('s-hs', 'hs-issuer', 'HS256', { secret: HS_SECRET }),
  secret('s-rs', 'rs-issuer', 'RS256', { rsa_public_key: rsaPublicPem }),
  secret('s-es', 'es-issuer', 'ES256', {
    rsa_public_key: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }),
  secret('s-ed', 'ed-issuer', 'EdDSA', {
    rsa_public_key: ed.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }),
];

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

type Claims = Record<string, unknown>;

/** Signs a JWT with node:crypto (RS256, ES256, EdDSA). */
function sign(alg: 'RS256' | 'ES256' | 'EdDSA', claims: Claims, key: KeyObject): Promise<string> {
  const input = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  const sig =
    alg === 'EdDSA'
      ? cryptoSign(null, Buffer.from(input), key)
      : cryptoSign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return Promise.resolve(`${input}.${sig.toString('base64url')}`);
}
const hs = (claims: Claims) => Promise.resolve(handMade({ alg: 'HS256', typ: 'JWT' }, claims, HS_SECRET));

/** A token signed by hand with HMAC over the given header (for alg confusion and alg none). */
function handMade(header: object, claims: object, hmacKey: string | null): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = hmacKey === null ? '' : createHmac('sha256', hmacKey).update(input).digest('base64url');
  return `${input}.${sig}`;
}

describe('Plugin: jwt (access, real ProxyServer)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const apply = (config: Record<string, unknown> = {}) =>
    gw.apply({
      consumers: [consumer('alice'), consumer('anon')],
      jwt_secrets: SECRETS,
      plugins: [plugin('jwt', config, { route: { id: 'r' } })],
    });
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const message = (r: { body: Buffer }) => (JSON.parse(r.body.toString()) as { message: unknown }).message;
  /** Claim errors are the whole body, as Kong's (`{"exp":"token expired"}`). */
  const body = (r: { body: Buffer }): unknown => JSON.parse(r.body.toString());

  it('returns 401 "Unauthorized" when the token is missing', async () => {
    apply();
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(401);
    expect(message(r)).toBe('Unauthorized');
    expect(r.headers['www-authenticate']).toBe('Bearer');
  });

  it('accepts HS256, RS256, ES256 and EdDSA tokens signed with the credential key', async () => {
    apply();
    const tokens = [
      await hs({ iss: 'hs-issuer' }),
      await sign('RS256', { iss: 'rs-issuer' }, rsa.privateKey),
      await sign('ES256', { iss: 'es-issuer' }, ec.privateKey),
      await sign('EdDSA', { iss: 'ed-issuer' }, ed.privateKey),
    ];
    for (const [i, t] of tokens.entries()) {
      const r = await call(gw.port, '/x', bearer(t));
      expect(r.status, `token ${i}`).toBe(200);
      const seen = r.json<SeenRequest>();
      expect(seen.headers['x-consumer-id']).toBe('alice');
      expect(seen.headers['x-credential-identifier']).toBe(SECRETS[i]!.key);
    }
  });

  it('accepts a cached token again (second request served from the verified cache)', async () => {
    apply();
    const t = await hs({ iss: 'hs-issuer', exp: now + 60 });
    expect((await call(gw.port, '/x', bearer(t))).status).toBe(200);
    expect((await call(gw.port, '/x', bearer(t))).status).toBe(200);
  });

  // Kong's jwt_parser.lua refuses an alg it cannot verify before looking at the key.
  it('returns 401 "Bad token; invalid alg" for alg none', async () => {
    apply();
    const r = await call(
      gw.port,
      '/x',
      bearer(handMade({ alg: 'none', typ: 'JWT' }, { iss: 'hs-issuer' }, null)),
    );
    expect(r.status).toBe(401);
    expect(message(r)).toBe('Bad token; invalid alg');
    expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('returns 401 for an HS256 token signed with the RSA public key (algorithm confusion)', async () => {
    apply();
    const r = await call(
      gw.port,
      '/x',
      bearer(handMade({ alg: 'HS256', typ: 'JWT' }, { iss: 'rs-issuer' }, rsaPublicPem)),
    );
    expect(r.status).toBe(401);
    expect(message(r)).toBe('Invalid algorithm');
  });

  it('returns 401 for a token signed by another key', async () => {
    apply();
    const r = await call(
      gw.port,
      '/x',
      bearer(await sign('RS256', { iss: 'rs-issuer' }, otherRsa.privateKey)),
    );
    expect(r.status).toBe(401);
    expect(message(r)).toBe('Invalid signature');
  });

  it('returns 401 for an unknown key (iss with no credential)', async () => {
    apply();
    const r = await call(gw.port, '/x', bearer(await hs({ iss: 'nobody' })));
    expect(r.status).toBe(401);
    expect(message(r)).toBe("No credentials found for given 'iss'");
  });

  it('returns 401 when the key claim is missing', async () => {
    apply();
    const r = await call(gw.port, '/x', bearer(await hs({ sub: 'x' })));
    expect(message(r)).toBe("No mandatory 'iss' in claims");
  });

  it("returns 401 with Kong's Bad token messages for malformed tokens", async () => {
    apply();
    const claims = b64url(JSON.stringify({ iss: 'hs-issuer' }));
    for (const [t, reason] of [
      ['abc', 'invalid JSON'],
      ['a.b', 'invalid JSON'],
      ['a.b.c', 'invalid JSON'],
      [`${b64url('{"alg":"HS256"}')}.notjson.sig`, 'invalid JSON'],
      ['....', 'invalid JSON'],
      [`${b64url('{"typ":"JWT"}')}.${claims}.sig`, 'invalid alg'],
      [`${b64url('{"alg":"HS256"}')}.${claims}.sig.extra`, 'invalid signature'],
    ] as const) {
      const r = await call(gw.port, '/x', bearer(t));
      expect(r.status, t).toBe(401);
      expect(message(r), t).toBe(`Bad token; ${reason}`);
      expect(r.headers['www-authenticate'], t).toBe('Bearer error="invalid_token"');
    }
  });

  // spec/03-plugins/16-jwt/03-access_spec.lua "returns a 401 if the JWT in the cookie is corrupted".
  it('returns 401 "Bad token; invalid JSON" with the realm for a corrupted cookie token', async () => {
    apply({ cookie_names: ['silly', 'crumble'], realm: 'test-jwt' });
    const t = `no-way-this-works${await hs({ iss: 'hs-issuer' })}`;
    const r = await call(gw.port, '/x', { headers: { cookie: `silly=${t}; path=/;domain=.jwt9.test` } });
    expect(r.status).toBe(401);
    expect(r.body.toString()).toBe('{"message":"Bad token; invalid JSON"}');
    expect(r.headers['www-authenticate']).toBe('Bearer realm="test-jwt", error="invalid_token"');
  });

  const INVALID_TOKEN = 'Bearer error="invalid_token"';

  it('returns 401 for an expired token even without claims_to_verify', async () => {
    apply();
    const r = await call(gw.port, '/x', bearer(await hs({ iss: 'hs-issuer', exp: now - 10 })));
    expect(r.status).toBe(401);
    expect(body(r)).toEqual({ exp: 'token expired' });
    expect(r.headers['www-authenticate']).toBe(INVALID_TOKEN);
  });

  it('returns 401 for a token not valid yet (nbf in the future)', async () => {
    apply();
    const r = await call(gw.port, '/x', bearer(await hs({ iss: 'hs-issuer', nbf: now + 600 })));
    expect(r.status).toBe(401);
    expect(body(r)).toEqual({ nbf: 'token not valid yet' });
    expect(r.headers['www-authenticate']).toBe(INVALID_TOKEN);
  });

  // spec/03-plugins/16-jwt/03-access_spec.lua "JWT private claims checks".
  it('reports every failing claim of claims_to_verify, with WWW-Authenticate', async () => {
    apply({ claims_to_verify: ['nbf', 'exp'] });
    const missing = await call(gw.port, '/x', bearer(await hs({ iss: 'hs-issuer' })));
    expect(missing.status).toBe(401);
    expect(body(missing)).toEqual({ nbf: 'must be a number', exp: 'must be a number' });
    expect(missing.headers['www-authenticate']).toBe(INVALID_TOKEN);
    const both = await call(
      gw.port,
      '/x',
      bearer(await hs({ iss: 'hs-issuer', exp: now - 10, nbf: now + 600 })),
    );
    expect(body(both)).toEqual({ exp: 'token expired', nbf: 'token not valid yet' });
  });

  // spec/03-plugins/16-jwt/03-access_spec.lua "returns 401 if the token exceeds the maximum
  // allowed expiration limit" / "accepts a JWT token within the maximum allowed expiration limit".
  it('requires exp when claims_to_verify has it, and enforces maximum_expiration', async () => {
    apply({ claims_to_verify: ['exp'], maximum_expiration: 60 });
    expect(body(await call(gw.port, '/x', bearer(await hs({ iss: 'hs-issuer' }))))).toEqual({
      exp: 'must be a number',
    });
    const far = await call(
      gw.port,
      `/x?jwt=${await hs({ iss: 'hs-issuer', exp: now + 3600, nbf: now - 30 })}`,
    );
    expect(far.body.toString()).toBe('{"exp":"exceeds maximum allowed expiration"}');
    expect(far.headers['www-authenticate']).toBe(INVALID_TOKEN);
    expect((await call(gw.port, '/x', bearer(await hs({ iss: 'hs-issuer', exp: now + 30 })))).status).toBe(
      200,
    );
  });

  // spec/03-plugins/16-jwt/03-access_spec.lua "errors when anonymous user doesn't exist".
  it("answers Kong's 500 naming an anonymous consumer that does not exist", async () => {
    const missing = '00000000-0000-4000-8000-00000000dead';
    apply({ anonymous: missing });
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(500);
    expect(body(r)).toEqual({ message: `anonymous consumer ${missing} is configured but doesn't exist` });
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PLUGIN_ANONYMOUS_NOT_FOUND');
  });

  it('takes the token from uri_param_names and cookie_names', async () => {
    apply({ cookie_names: ['session'] });
    const t = await hs({ iss: 'hs-issuer' });
    expect((await call(gw.port, `/x?jwt=${t}`)).status).toBe(200);
    expect((await call(gw.port, '/x', { headers: { cookie: `a=b; session=${t}` } })).status).toBe(200);
  });

  it('returns 401 "Multiple tokens provided" for two different tokens', async () => {
    apply();
    const r = await call(
      gw.port,
      `/x?jwt=${await hs({ iss: 'hs-issuer', a: 1 })}`,
      bearer(await hs({ iss: 'hs-issuer', a: 2 })),
    );
    expect(message(r)).toBe('Multiple tokens provided');
  });

  it('decodes a base64 secret when secret_is_base64 is set', async () => {
    gw.apply({
      consumers: [consumer('alice')],
      jwt_secrets: [
        secret('b64', 'b64-issuer', 'HS256', { secret: Buffer.from(HS_SECRET).toString('base64') }),
      ],
      plugins: [plugin('jwt', { secret_is_base64: true }, { route: { id: 'r' } })],
    });
    expect((await call(gw.port, '/x', bearer(await hs({ iss: 'b64-issuer' })))).status).toBe(200);
  });

  it('behaves as a logical OR with key-auth when both have anonymous set', async () => {
    gw.apply({
      consumers: [consumer('alice'), consumer('bob'), consumer('anon')],
      jwt_secrets: SECRETS,
      keyauth_credentials: [
        { id: 'kb', consumer: { id: 'bob' }, key: 'bob-key', ttl: null, tags: null, created_at: now },
      ],
      plugins: [
        plugin('jwt', { anonymous: 'anon' }, { route: { id: 'r' } }),
        plugin('key-auth', { anonymous: 'anon' }, { route: { id: 'r' } }),
      ],
    });
    const viaJwt = await call(gw.port, '/x', bearer(await hs({ iss: 'hs-issuer' })));
    expect(viaJwt.json<SeenRequest>().headers['x-consumer-id']).toBe('alice');
    const viaKey = await call(gw.port, '/x', { headers: { apikey: 'bob-key' } });
    expect(viaKey.json<SeenRequest>().headers['x-consumer-id']).toBe('bob');
    expect(viaKey.json<SeenRequest>().headers['x-anonymous-consumer']).toBeUndefined();
    const neither = await call(gw.port, '/x');
    expect(neither.status).toBe(200);
    expect(neither.json<SeenRequest>().headers['x-anonymous-consumer']).toBe('true');
    expect(neither.json<SeenRequest>().headers['x-consumer-id']).toBe('anon');
  });

  it('never echoes key material in error bodies', async () => {
    apply();
    const r = await call(
      gw.port,
      '/x',
      bearer(handMade({ alg: 'HS256' }, { iss: 'rs-issuer' }, rsaPublicPem)),
    );
    expect(r.body.toString()).not.toContain('BEGIN');
    expect(r.body.toString()).not.toContain(HS_SECRET);
  });
});
