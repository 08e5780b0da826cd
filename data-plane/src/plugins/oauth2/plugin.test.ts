/**
 * The oauth2 plugin's grants, endpoints and token checks. Cases follow Kong's
 * spec/03-plugins/25-oauth2/03-access_spec.lua (named "Kong:" below) where Kong has them; the
 * token format and the revocation list are ours (docs/plugins.md, oauth2).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashBasicAuthPassword, type Service } from '@gatehouse/shared';
import plugin from './plugin.js';
import {
  initialise,
  outcome,
  pluginRequest,
  run,
  snapshotOf,
  type TestRequest,
} from '../runtime/test-support.js';
import { keyId, TokenKeys } from './tokens.js';
import { RevokedTokens, revokedTokens, setRevokedTokens } from './revoked-tokens.js';
import { CONFIG as BASE_CONFIG, consumer, credential, SERVICE } from './test-fixtures.js';

const SECRET = 's'.repeat(40);
const OLD_SECRET = 'o'.repeat(40);
const service = SERVICE;
const other: Service = { ...service, id: 'svc2', name: 'svc2' };
const cred = credential;
const consumers = [consumer('c', 'bob'), consumer('anon', 'anonymous')];
const credentials = [
  cred({}),
  cred({ id: 'cred2', client_id: 'other', client_secret: 'othersecret' }),
  cred({ id: 'pub', client_id: 'public', client_type: 'public' }),
  cred({
    id: 'hashed',
    client_id: 'hashed',
    hash_secret: true,
    client_secret: hashBasicAuthPassword('hashedsecret'),
  }),
];
const snapshot = snapshotOf({ consumers, oauth2_credentials: credentials });

const CONF = { ...BASE_CONFIG, token_signing_secrets: [SECRET] };

const form = (body: Record<string, string>) => new URLSearchParams(body).toString();

async function call(conf: Record<string, unknown>, r: TestRequest, snap = snapshot) {
  const state = initialise(plugin, snap, { ...CONF, ...conf });
  const ctx = pluginRequest(snap, { tls: {}, service, ...r });
  await run(plugin.access!(ctx, state));
  return { ctx, out: outcome(ctx) };
}

const post = (path: string, body: Record<string, string>, o: Partial<TestRequest> = {}) => ({
  method: 'POST',
  path,
  headers: [['content-type', 'application/x-www-form-urlencoded'] as [string, string], ...(o.headers ?? [])],
  body: form(body),
  ...(o.tls === undefined ? {} : { tls: o.tls }),
  ...(o.service === undefined ? {} : { service: o.service }),
});

async function token(
  body: Record<string, string>,
  conf: Record<string, unknown> = {},
  o: Partial<TestRequest> = {},
) {
  const { out } = await call(conf, post('/api/oauth2/token', body, o));
  return out.answer!;
}

const clientCredentials = {
  grant_type: 'client_credentials',
  client_id: 'clientid',
  client_secret: 'secret123',
};

async function accessWith(
  tok: string,
  conf: Record<string, unknown> = {},
  o: Partial<TestRequest> = {},
  snap = snapshot,
) {
  return call(conf, { path: '/api/things', headers: [['authorization', `Bearer ${tok}`]], ...o }, snap);
}

const VERIFIER = 'v'.repeat(50);
const S256 = createHash('sha256').update(VERIFIER).digest('base64url');

async function code(params: Record<string, string> = {}, conf: Record<string, unknown> = {}) {
  const { out } = await call(
    conf,
    post('/api/oauth2/authorize', {
      provision_key: 'provision123',
      authenticated_userid: 'user-1',
      client_id: 'clientid',
      response_type: 'code',
      scope: 'email',
      state: 'xyz',
      ...params,
    }),
  );
  return out.answer!;
}

const codeOf = (answer: { json: unknown }) =>
  new URL((answer.json as { redirect_uri: string }).redirect_uri).searchParams.get('code')!;

describe('oauth2 client_credentials grant (Kong: "returns success" / "fails with …")', () => {
  it('issues a bearer access token without a refresh token, not cacheable', async () => {
    const a = await token(clientCredentials);
    expect(a.status).toBe(200);
    expect(a.headers).toMatchObject({ 'cache-control': 'no-store', pragma: 'no-cache' });
    const body = a.json as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 7200 });
    expect(body.refresh_token).toBeUndefined();
    const [h] = (body.access_token as string).split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({
      alg: 'HS256',
      typ: 'JWT',
      kid: keyId(SECRET),
    });
  });

  it('refuses plain HTTP with access_denied "You must use HTTPS" (Kong: "fails when not under HTTPS")', async () => {
    const { out } = await call({}, { ...post('/api/oauth2/token', clientCredentials), tls: undefined });
    expect(out.answer).toMatchObject({
      status: 400,
      json: { error: 'access_denied', error_description: 'You must use HTTPS' },
    });
  });

  it('refuses plain HTTP with accept_http_if_already_terminated when no trusted proxy said https', async () => {
    const { out } = await call(
      { accept_http_if_already_terminated: true },
      {
        ...post('/api/oauth2/token', clientCredentials, { headers: [['x-forwarded-proto', 'https']] }),
        tls: undefined,
      },
    );
    expect(out.answer).toMatchObject({ status: 400, json: { error: 'access_denied' } });
  });

  it('answers invalid_client 400 for a wrong secret in the body, 401 with Basic realm from the header (Kong: "fails when the client_secret is wrong")', async () => {
    expect(await token({ ...clientCredentials, client_secret: 'nope' })).toMatchObject({
      status: 400,
      json: { error: 'invalid_client', error_description: 'Invalid client authentication' },
    });
    const basic = Buffer.from('clientid:nope').toString('base64');
    const a = await token(
      { grant_type: 'client_credentials' },
      {},
      { headers: [['authorization', `Basic ${basic}`]] },
    );
    expect(a).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Basic realm="OAuth2.0"' } });
  });

  it('takes client credentials from Basic auth', async () => {
    const basic = Buffer.from('clientid:secret123').toString('base64');
    const a = await token(
      { grant_type: 'client_credentials' },
      {},
      { headers: [['authorization', `Basic ${basic}`]] },
    );
    expect(a.status).toBe(200);
  });

  it('checks a hashed secret (hash_secret) and refuses a wrong one', async () => {
    const ok = await token({
      grant_type: 'client_credentials',
      client_id: 'hashed',
      client_secret: 'hashedsecret',
    });
    expect(ok.status).toBe(200);
    const bad = await token({
      grant_type: 'client_credentials',
      client_id: 'hashed',
      client_secret: 'hashedsecreT',
    });
    expect(bad.json).toMatchObject({ error: 'invalid_client' });
  });

  it('answers unsupported_grant_type for a disabled grant (Kong: "fails with invalid grant_type")', async () => {
    const a = await token(clientCredentials, { enable_client_credentials: false });
    expect(a).toMatchObject({
      status: 400,
      json: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' },
    });
  });

  it('refuses a scope not in `scopes` and a missing mandatory scope (Kong: "fails with wrong scopes")', async () => {
    expect((await token({ ...clientCredentials, scope: 'email admin' })).json).toEqual({
      error: 'invalid_scope',
      error_description: '"admin" is an invalid scope',
    });
    expect((await token(clientCredentials, { mandatory_scope: true })).json).toEqual({
      error: 'invalid_scope',
      error_description: 'You must specify a scope',
    });
  });

  it('needs the provision_key when authenticated_userid is given', async () => {
    const a = await token({ ...clientCredentials, authenticated_userid: 'u' });
    expect(a.json).toMatchObject({
      error: 'invalid_provision_key',
      error_description: 'Invalid provision_key',
    });
  });

  it('echoes `state`', async () => {
    expect((await token({ ...clientCredentials, state: 'abc' })).json).toMatchObject({ state: 'abc' });
  });
});

describe('oauth2 password grant', () => {
  const password = {
    grant_type: 'password',
    client_id: 'clientid',
    client_secret: 'secret123',
    provision_key: 'provision123',
    authenticated_userid: 'u1',
  };
  it('issues an access and a refresh token', async () => {
    const a = await token(password);
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({
      token_type: 'bearer',
      expires_in: 7200,
      refresh_token: expect.any(String),
    });
  });
  it('refuses a wrong provision_key and a missing authenticated_userid (Kong: "fails when no provision key")', async () => {
    expect((await token({ ...password, provision_key: 'x' })).json).toMatchObject({
      error: 'invalid_provision_key',
    });
    expect((await token({ ...password, authenticated_userid: ' ' })).json).toEqual({
      error: 'invalid_authenticated_userid',
      error_description: 'Missing authenticated_userid parameter',
    });
  });
  it('refuses a redirect_uri the client did not register', async () => {
    expect((await token({ ...password, redirect_uri: 'https://evil.example/' })).json).toMatchObject({
      error: 'invalid_request',
      error_description:
        'Invalid redirect_uri that does not match with any redirect_uri created with the application',
    });
  });
});

describe('oauth2 authorize endpoint (Kong: "Authorization Code")', () => {
  it('answers the redirect_uri with a code and the state', async () => {
    const a = await code();
    expect(a.status).toBe(200);
    const u = new URL((a.json as { redirect_uri: string }).redirect_uri);
    expect(u.origin + u.pathname).toBe('https://app.example/cb');
    expect(u.searchParams.get('state')).toBe('xyz');
    expect(u.searchParams.get('code')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it.each([
    [{ provision_key: 'bad' }, 'invalid_provision_key', 'Invalid provision_key'],
    [{ authenticated_userid: '' }, 'invalid_authenticated_userid', 'Missing authenticated_userid parameter'],
    [{ response_type: 'nope' }, 'unsupported_response_type', 'Invalid response_type'],
    [{ client_id: 'unknown' }, 'invalid_client', 'Invalid client authentication'],
  ])('refuses %j with %s', async (params, error, description) => {
    const a = await code(params);
    expect(a.status).toBe(400);
    const body = a.json as Record<string, string>;
    const fields =
      body.redirect_uri === undefined ? body : Object.fromEntries(new URL(body.redirect_uri).searchParams);
    expect(fields).toMatchObject({ error, error_description: description });
  });

  it('refuses an unregistered redirect_uri and answers on the registered one (Kong: "fails with a wrong redirect_uri")', async () => {
    const a = await code({ redirect_uri: 'https://evil.example/cb' });
    const u = new URL((a.json as { redirect_uri: string }).redirect_uri);
    expect(u.origin).toBe('https://app.example');
    expect(u.searchParams.get('error')).toBe('invalid_request');
  });

  it('puts an implicit-grant token in the fragment', async () => {
    const a = await code({ response_type: 'token' });
    const u = new URL((a.json as { redirect_uri: string }).redirect_uri);
    expect(new URLSearchParams(u.hash.slice(1)).get('access_token')).toBeTruthy();
  });

  it('requires a code_challenge from a public client (pkce lax) and every client (pkce strict)', async () => {
    const pub = await code({ client_id: 'public' });
    expect(
      new URL((pub.json as { redirect_uri: string }).redirect_uri).searchParams.get('error_description'),
    ).toBe('code_challenge is required');
    const strict = await code({}, { pkce: 'strict' });
    expect(new URL((strict.json as { redirect_uri: string }).redirect_uri).searchParams.get('error')).toBe(
      'invalid_request',
    );
    const plain = await code(
      { code_challenge: VERIFIER, code_challenge_method: 'plain' },
      { pkce: 'strict' },
    );
    expect(
      new URL((plain.json as { redirect_uri: string }).redirect_uri).searchParams.get('error_description'),
    ).toBe('code_challenge_method is not supported');
  });
});

describe('oauth2 authorization_code grant', () => {
  const redeem = (c: string, extra: Record<string, string> = {}, conf: Record<string, unknown> = {}) =>
    token(
      {
        grant_type: 'authorization_code',
        client_id: 'clientid',
        client_secret: 'secret123',
        code: c,
        ...extra,
      },
      conf,
    );

  it('exchanges a code once: the second redemption is "Invalid code" (Kong: "fails when code is reused")', async () => {
    const c = codeOf(await code());
    const a = await redeem(c);
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ refresh_token: expect.any(String) });
    expect((await redeem(c)).json).toEqual({ error: 'invalid_request', error_description: 'Invalid code' });
  });

  it('refuses a code of another client, another service, or a forged one', async () => {
    const c = codeOf(await code());
    expect(
      (
        await token({
          grant_type: 'authorization_code',
          client_id: 'other',
          client_secret: 'othersecret',
          code: c,
        })
      ).json,
    ).toMatchObject({ error: 'invalid_request', error_description: 'Invalid code' });
    const { out } = await call(
      {},
      post(
        '/api/oauth2/token',
        { grant_type: 'authorization_code', client_id: 'clientid', client_secret: 'secret123', code: c },
        { service: other },
      ),
    );
    expect(out.answer!.json).toMatchObject({ error_description: 'Invalid code' });
    const forged = TokenKeys.fromSecrets(['f'.repeat(40)]).sign(
      JSON.parse(Buffer.from(c.split('.')[1]!, 'base64url').toString()),
    );
    expect((await redeem(forged)).json).toMatchObject({ error_description: 'Invalid code' });
  });

  it('checks PKCE S256: the right verifier passes, a wrong or missing one is refused', async () => {
    const c1 = codeOf(await code({ code_challenge: S256 }));
    expect((await redeem(c1)).json).toEqual({
      error: 'invalid_request',
      error_description: 'code_verifier is required for PKCE authorization requests',
    });
    const c2 = codeOf(await code({ code_challenge: S256 }));
    expect((await redeem(c2, { code_verifier: 'w'.repeat(50) })).json).toMatchObject({
      error: 'invalid_grant',
    });
    const c3 = codeOf(await code({ code_challenge: S256, code_challenge_method: 'S256' }));
    expect((await redeem(c3, { code_verifier: VERIFIER })).status).toBe(200);
  });

  it('lets a public client redeem with PKCE and no secret', async () => {
    const c = codeOf(await code({ client_id: 'public', code_challenge: S256 }));
    const a = await token({
      grant_type: 'authorization_code',
      client_id: 'public',
      code: c,
      code_verifier: VERIFIER,
    });
    expect(a.status).toBe(200);
  });

  it('lets a public client refresh without a secret (single use), but not with reuse_refresh_token', async () => {
    const c = codeOf(await code({ client_id: 'public', code_challenge: S256 }));
    const first = await token({
      grant_type: 'authorization_code',
      client_id: 'public',
      code: c,
      code_verifier: VERIFIER,
    });
    const rt = (first.json as { refresh_token: string }).refresh_token;
    const again = await token({ grant_type: 'refresh_token', client_id: 'public', refresh_token: rt });
    expect(again.status).toBe(200);
    const reuse = await token(
      { grant_type: 'refresh_token', client_id: 'public', refresh_token: rt },
      { reuse_refresh_token: true },
    );
    expect(reuse.json).toMatchObject({ error: 'invalid_client' });
  });
});

describe('oauth2 refresh_token grant (Kong: "Refresh Token")', () => {
  const refreshWith = (rt: string, o: Record<string, string> = {}, conf: Record<string, unknown> = {}) =>
    token(
      {
        grant_type: 'refresh_token',
        client_id: 'clientid',
        client_secret: 'secret123',
        refresh_token: rt,
        ...o,
      },
      conf,
    );
  const first = async () =>
    (
      await token({
        grant_type: 'password',
        client_id: 'clientid',
        client_secret: 'secret123',
        provision_key: 'provision123',
        authenticated_userid: 'u1',
        scope: 'email',
      })
    ).json as Record<string, string>;

  it('issues new tokens once per refresh token (single use)', async () => {
    const t = await first();
    const a = await refreshWith(t.refresh_token!);
    expect(a.status).toBe(200);
    expect((a.json as Record<string, string>).refresh_token).not.toBe(t.refresh_token);
    expect((await refreshWith(t.refresh_token!)).json).toEqual({
      error: 'invalid_request',
      error_description: 'Invalid refresh_token',
    });
  });

  it('keeps the refresh token with reuse_refresh_token', async () => {
    const t = await first();
    const a = await refreshWith(t.refresh_token!, {}, { reuse_refresh_token: true });
    expect((a.json as Record<string, string>).refresh_token).toBe(t.refresh_token);
    expect((await refreshWith(t.refresh_token!, {}, { reuse_refresh_token: true })).status).toBe(200);
  });

  it('refuses another client\'s refresh token with invalid_client (Kong: "fails when refresh_token belongs to another client")', async () => {
    const t = await first();
    expect(
      (
        await token({
          grant_type: 'refresh_token',
          client_id: 'other',
          client_secret: 'othersecret',
          refresh_token: t.refresh_token!,
        })
      ).json,
    ).toEqual({
      error: 'invalid_client',
      error_description: 'Invalid client authentication',
    });
  });

  it('refuses an access token presented as a refresh token', async () => {
    const t = await first();
    expect((await refreshWith(t.access_token!)).json).toMatchObject({
      error_description: 'Invalid refresh_token',
    });
  });
});

describe('oauth2 access (Kong: "Making a request")', () => {
  const accessToken = async (conf: Record<string, unknown> = {}, o: Partial<TestRequest> = {}) =>
    (
      (await token({ ...clientCredentials, scope: 'email profile' }, conf, o)).json as {
        access_token: string;
      }
    ).access_token;

  it("answers Kong's 401 invalid_request with WWW-Authenticate when there is no token", async () => {
    const { out } = await call({}, { path: '/api/things' });
    expect(out.answer).toMatchObject({
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer realm="service"' },
      json: { error: 'invalid_request', error_description: 'The access token is missing' },
    });
  });

  it("authenticates the credential's consumer and sets X-Authenticated-Scope", async () => {
    const { ctx, out } = await accessWith(await accessToken());
    expect(out.answer).toBeNull();
    expect(ctx.consumer?.id).toBe('c');
    expect(ctx.credential).toMatchObject({ id: 'cred', type: 'oauth2' });
    expect(out.upstreamHeaders).toMatchObject({
      'x-consumer-username': 'bob',
      'x-authenticated-scope': 'email profile',
    });
  });

  it('accepts the token from the access_token query argument, and hides it with hide_credentials', async () => {
    const t = await accessToken();
    const { ctx, out } = await call(
      { hide_credentials: true },
      { path: '/api/things', query: `access_token=${t}` },
    );
    expect(ctx.consumer?.id).toBe('c');
    expect(out.removedQueryArgs).toContain('access_token');
  });

  it('hides a token sent in a form body with hide_credentials, and never reads a body of another type', async () => {
    const t = await accessToken();
    const { ctx, out } = await call(
      { hide_credentials: true },
      {
        method: 'POST',
        path: '/api/things',
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: `a=1&access_token=${t}`,
      },
    );
    expect(ctx.consumer?.id).toBe('c');
    expect(out.upstreamBody).toBe('a=1');
    const other = await call(
      {},
      {
        method: 'POST',
        path: '/api/things',
        headers: [['content-type', 'application/octet-stream']],
        body: 'x'.repeat(100),
      },
    );
    expect(other.out.answer).toMatchObject({ status: 401 });
    expect(other.out.bodyRead).toBe(false);
  });

  const invalid = {
    status: 401,
    json: { error: 'invalid_token', error_description: 'The access token is invalid or has expired' },
  };

  it('refuses a garbage, forged or other-service token with invalid_token', async () => {
    expect((await accessWith('not.a.token')).out.answer).toMatchObject(invalid);
    const forged = TokenKeys.fromSecrets(['x'.repeat(40)]).sign({
      iss: 'gatehouse-oauth2',
      sub: 'cred',
      aud: 'svc',
      client_id: 'clientid',
      use: 'access',
      jti: 'j',
      iat: 0,
    });
    expect((await accessWith(forged)).out.answer).toMatchObject(invalid);
    expect((await accessWith(await accessToken(), {}, { service: other })).out.answer).toMatchObject(invalid);
  });

  it('refuses an expired token', async () => {
    const expiredToken = TokenKeys.fromSecrets([SECRET]).sign({
      iss: 'gatehouse-oauth2',
      sub: 'cred',
      aud: 'svc',
      client_id: 'clientid',
      use: 'access',
      jti: 'j',
      iat: 1,
      exp: 2,
    });
    expect((await accessWith(expiredToken)).out.answer).toMatchObject(invalid);
  });

  it("refuses a token on the snapshot's revocation list until it would have expired", async () => {
    const t = await accessToken();
    const jti = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti as string;
    const revokedUntil = (expires_at: number) =>
      snapshotOf({
        consumers,
        oauth2_credentials: credentials,
        oauth2_token_revocations: [
          { id: 'r', credential: { id: 'cred' }, jti, expires_at, tags: null, created_at: 0 },
        ],
      });
    const revokedSnap = revokedUntil(Math.floor(Date.now() / 1000) + 60);
    expect((await accessWith(t, {}, {}, revokedSnap)).out.answer).toMatchObject(invalid);
    const lapsed = revokedUntil(1);
    expect((await accessWith(t, {}, {}, lapsed)).out.answer).toBeNull();
  });

  it('refuses a token the control plane pushed as revoked (a refresh replaced it), not in any snapshot', async () => {
    const old = revokedTokens();
    setRevokedTokens(new RevokedTokens());
    try {
      const t = await accessToken();
      const other = await accessToken();
      const jti = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti as string;
      expect((await accessWith(t)).out.answer).toBeNull();
      revokedTokens().add([{ jti, expiresAt: Math.floor(Date.now() / 1000) + 60 }]);
      expect((await accessWith(t)).out.answer).toMatchObject(invalid);
      expect((await accessWith(other)).out.answer).toBeNull();
    } finally {
      setRevokedTokens(old);
    }
  });

  it('refuses the tokens of a deleted credential', async () => {
    const t = await accessToken();
    const without = snapshotOf({ consumers, oauth2_credentials: credentials.filter((c) => c.id !== 'cred') });
    expect((await accessWith(t, {}, {}, without)).out.answer).toMatchObject(invalid);
  });

  it("refuses a global token where global_credentials is off (Kong's message)", async () => {
    const t = await accessToken({ global_credentials: true });
    expect((await accessWith(t)).out.answer).toMatchObject({
      status: 401,
      json: {
        error: 'invalid_token',
        error_description:
          "The access token is global, but the current plugin is configured without 'global_credentials'",
      },
    });
    expect((await accessWith(t, { global_credentials: true }, { service: other })).out.answer).toBeNull();
  });

  it('verifies with every signing secret: rotation keeps old tokens until the old secret is dropped', async () => {
    const t = await accessToken({ token_signing_secrets: [OLD_SECRET] });
    expect((await accessWith(t, { token_signing_secrets: [SECRET, OLD_SECRET] })).out.answer).toBeNull();
    expect((await accessWith(t, { token_signing_secrets: [SECRET] })).out.answer).toMatchObject(invalid);
  });

  it('falls back to the anonymous consumer', async () => {
    const { ctx, out } = await call({ anonymous: 'anonymous' }, { path: '/api/things' });
    expect(out.answer).toBeNull();
    expect(ctx.consumer?.id).toBe('anon');
    expect(ctx.anonymous).toBe(true);
  });
});

describe('oauth2 persistent_refresh_token (Kong: the refresh token is kept on refresh)', () => {
  const password = {
    grant_type: 'password',
    client_id: 'clientid',
    client_secret: 'secret123',
    provision_key: 'provision123',
    authenticated_userid: 'u1',
  };
  const refresh = (rt: string, conf: Record<string, unknown>) =>
    token(
      { grant_type: 'refresh_token', client_id: 'clientid', client_secret: 'secret123', refresh_token: rt },
      conf,
    );

  it('answers the same refresh token and lets it refresh again, with a new access token each time', async () => {
    const conf = { persistent_refresh_token: true };
    const t = (await token(password, conf)).json as Record<string, string>;
    const a = await refresh(t.refresh_token!, conf);
    expect(a.status).toBe(200);
    const first = a.json as Record<string, string>;
    expect(first.refresh_token).toBe(t.refresh_token);
    expect(first.access_token).not.toBe(t.access_token);
    const b = await refresh(t.refresh_token!, conf);
    expect(b.status).toBe(200);
    expect((b.json as Record<string, string>).refresh_token).toBe(t.refresh_token);
  });

  it('without it, the refresh token is replaced and single use', async () => {
    const t = (await token(password, {})).json as Record<string, string>;
    const a = (await refresh(t.refresh_token!, {})).json as Record<string, string>;
    expect(a.refresh_token).not.toBe(t.refresh_token);
    expect((await refresh(t.refresh_token!, {})).status).toBe(400);
  });

  it('makes a public client give its secret to refresh (a kept token must not be a bare bearer)', async () => {
    const pub = { grant_type: 'refresh_token', client_id: 'public', refresh_token: 'x' };
    const a = await token(pub, { persistent_refresh_token: true });
    expect(a.json).toMatchObject({ error: 'invalid_client' });
  });
});

describe("oauth2 with the control plane's signing keys (no token_signing_secrets)", () => {
  const cpKey = (kid: string, fill: string, notBefore: number) => ({
    kid,
    secret: Buffer.alloc(32, fill).toString('base64url'),
    not_before: notBefore,
  });
  const now = Math.floor(Date.now() / 1000);
  const withKeys = (keys: unknown[]) =>
    snapshotOf({
      consumers,
      oauth2_credentials: credentials,
      _oauth2_signing_keys: { keys },
    } as never);
  const cpConf = { token_signing_secrets: null };
  const issue = async (snap: ReturnType<typeof snapshotOf>) => {
    const { out } = await call(cpConf, post('/api/oauth2/token', clientCredentials), snap);
    return out.answer!;
  };
  const kidOf = (t: string) =>
    (JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
  const invalid = { status: 401, json: { error: 'invalid_token' } };

  it('signs with the newest key whose not_before has come, and verifies with every listed key', async () => {
    const old = cpKey('ghOld', 'a', now - 1000);
    const current = cpKey('ghCur', 'b', now - 10);
    const pending = cpKey('ghNext', 'c', now + 1000);
    const snap = withKeys([old, current, pending]);
    const a = await issue(snap);
    expect(a.status).toBe(200);
    const t = (a.json as { access_token: string }).access_token;
    expect(kidOf(t)).toBe('ghCur');
    expect((await accessWith(t, cpConf, {}, snap)).out.answer).toBeNull();
    // Overlap: a token of the old key still verifies while the key is listed…
    const oldToken = (await issue(withKeys([old]))).json as { access_token: string };
    expect(kidOf(oldToken.access_token)).toBe('ghOld');
    expect((await accessWith(oldToken.access_token, cpConf, {}, snap)).out.answer).toBeNull();
    // …and is refused (401 invalid_token, unknown kid) once the CP retired it.
    const retired = withKeys([current, pending]);
    expect((await accessWith(oldToken.access_token, cpConf, {}, retired)).out.answer).toMatchObject(invalid);
  });

  it('refuses a token signed by an instance secret when the instance uses the CP keys (unknown kid)', async () => {
    const t = (await token(clientCredentials)).json as { access_token: string };
    const snap = withKeys([cpKey('ghCur', 'b', now - 10)]);
    expect((await accessWith(t.access_token, cpConf, {}, snap)).out.answer).toMatchObject(invalid);
  });

  it('answers 503 temporarily_unavailable at the token endpoint before the first key arrives', async () => {
    const a = await issue(withKeys([]));
    expect(a).toMatchObject({ status: 503, json: { error: 'temporarily_unavailable' } });
    expect((await accessWith('a.b.c', cpConf, {}, withKeys([]))).out.answer).toMatchObject(invalid);
  });

  it('refuses to start without a control plane (DB-less: no keys in the config) with a clear error', () => {
    expect(() => initialise(plugin, snapshot, { ...CONF, token_signing_secrets: null })).toThrow(
      /token_signing_secrets is required without a control plane \(DB-less mode\)/,
    );
  });
});
