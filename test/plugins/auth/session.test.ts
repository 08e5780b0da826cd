/**
 * session + key-auth through real ProxyServers, set up as Kong's docs and
 * spec/03-plugins/30-session/01-access_spec.lua do: key-auth with an `anonymous` consumer (so a
 * request the session authenticated passes key-auth, Kong's logical OR) and request-termination
 * on the anonymous consumer (so nobody else does). Two gateways given the same configuration
 * stand for two data planes of one fleet: the secret reaches both in the config.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';

const now = Math.floor(Date.now() / 1000);
const SECRET = 'fleet-wide-session-secret-0123456789abcdef';

const config = (
  session: Record<string, unknown> = {},
  keyAuth: Record<string, unknown> = { anonymous: 'anon' },
) => ({
  consumers: [consumer('alice'), consumer('anon')],
  keyauth_credentials: [
    { id: 'k1', consumer: { id: 'alice' }, key: 'alice-key', ttl: null, tags: null, created_at: now },
  ],
  plugins: [
    plugin('session', { secret: SECRET, cookie_secure: false, ...session }, { route: { id: 'r' } }),
    plugin('key-auth', keyAuth, { route: { id: 'r' } }),
    plugin(
      'request-termination',
      { status_code: 401, message: 'Unauthorized' },
      { consumer: { id: 'anon' } },
    ),
  ],
});

const sessionCookie = (setCookie: string | string[] | undefined): string => {
  const all = typeof setCookie === 'string' ? [setCookie] : (setCookie ?? []);
  const c = all.find((v) => v.startsWith('session='));
  if (c === undefined) throw new Error(`no session cookie in ${JSON.stringify(setCookie)}`);
  return c.split(';')[0]!;
};

describe('Plugin: session with key-auth (two real ProxyServers, one secret)', () => {
  let dp1: Gateway;
  let dp2: Gateway;
  beforeAll(async () => {
    dp1 = await startGateway();
    dp2 = await startGateway();
  });
  afterAll(async () => {
    await dp1.close();
    await dp2.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('issues a cookie on an API-key request; the cookie alone then passes on this DP and on another', async () => {
    dp1.apply(config());
    dp2.apply(config());
    expect((await call(dp1.port, '/x')).status).toBe(401);

    const first = await call(dp1.port, '/x', { headers: { apikey: 'alice-key' } });
    expect(first.status).toBe(200);
    const setCookie = first.headers['set-cookie']![0]!;
    expect(setCookie.split('; ').slice(1)).toEqual(['Path=/', 'SameSite=Strict', 'HttpOnly']);
    const cookie = sessionCookie(first.headers['set-cookie']);

    for (const dp of [dp1, dp2]) {
      const r = await call(dp.port, '/x', { headers: { cookie } });
      expect(r.status).toBe(200);
      const seen = r.json<SeenRequest>();
      expect(seen.headers['x-consumer-id']).toBe('alice');
      expect(seen.headers['x-consumer-username']).toBe('alice');
      expect(seen.headers['x-credential-identifier']).toBe('k1');
      expect(seen.headers['x-anonymous-consumer']).toBeUndefined();
    }
  });

  it('logout (DELETE with ?session_logout) answers 200 and clears the cookie', async () => {
    dp1.apply(config());
    const cookie = sessionCookie(
      (await call(dp1.port, '/x', { headers: { apikey: 'alice-key' } })).headers['set-cookie'],
    );
    const out = await call(dp1.port, '/x?session_logout', { method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(200);
    expect(out.body.length).toBe(0);
    expect(out.headers['set-cookie']).toEqual([
      'session=; Path=/; SameSite=Strict; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0',
    ]);
  });

  it('an expired cookie is ignored: the request is the anonymous one again (401)', async () => {
    dp1.apply(config({ idling_timeout: 60 }));
    const cookie = sessionCookie(
      (await call(dp1.port, '/x', { headers: { apikey: 'alice-key' } })).headers['set-cookie'],
    );
    expect((await call(dp1.port, '/x', { headers: { cookie } })).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 120_000);
    const r = await call(dp1.port, '/x', { headers: { cookie } });
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ message: 'Unauthorized' });
  });

  it('a cookie from another secret, or a garbage one, is ignored, never a 500', async () => {
    dp1.apply(config());
    dp2.apply(config({ secret: 'another-fleet-secret-0123456789abcdef' }));
    const cookie = sessionCookie(
      (await call(dp2.port, '/x', { headers: { apikey: 'alice-key' } })).headers['set-cookie'],
    );
    for (const c of [cookie, 'session=AAAA', 'session=%%%', `session=${'A'.repeat(8000)}`]) {
      expect((await call(dp1.port, '/x', { headers: { cookie: c } })).status, c.slice(0, 20)).toBe(401);
    }
  });

  it('as in Kong, key-auth without anonymous still asks for its key when only the cookie is sent', async () => {
    dp1.apply(config({}, {}));
    const cookie = sessionCookie(
      (await call(dp1.port, '/x', { headers: { apikey: 'alice-key' } })).headers['set-cookie'],
    );
    const r = await call(dp1.port, '/x', { headers: { cookie } });
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ message: 'No API key found in request' });
  });
});
