import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import plugin from './plugin.js';
import type { PluginRequest } from '../runtime/context.js';
import {
  initialise,
  outcome,
  pluginRequest,
  run,
  snapshotOf,
  upstreamResponse,
} from '../runtime/test-support.js';

const SECRET = 's'.repeat(40);
const T0 = Date.UTC(2026, 0, 1);
const snapshot = snapshotOf({
  consumers: [
    { id: 'c', username: 'alice', custom_id: null, tags: null, created_at: 0, updated_at: 0 },
    { id: 'anon', username: 'anon', custom_id: null, tags: null, created_at: 0, updated_at: 0 },
  ],
});
const alice = snapshot.consumer('c')!;
const KEY_AUTH = { id: 'k', type: 'key-auth', identifier: 'k', consumerId: 'c' };

type Req = Parameters<typeof pluginRequest>[1];

/** One request through the plugin: access, then (as an auth plugin would) `authBy`, then response. */
async function request(
  state: ReturnType<typeof initialise<typeof plugin.schema, unknown>>,
  r: Req = {},
  authBy: ((ctx: PluginRequest) => void) | null = null,
  upstreamCookies: string[] = [],
): Promise<PluginRequest> {
  const ctx = pluginRequest(snapshot, r);
  await run(plugin.access!(ctx, state as never));
  if (!ctx.responded && authBy !== null) authBy(ctx);
  upstreamResponse(
    ctx,
    ctx.shortCircuit?.status ?? 200,
    upstreamCookies.map((c) => ['set-cookie', c]),
  );
  await run(plugin.response!(ctx, state as never));
  return ctx;
}

const setCookies = (ctx: PluginRequest): string[] => {
  const v = outcome(ctx).responseHeaders['set-cookie'];
  return v === undefined || v === null ? [] : typeof v === 'string' ? [v] : [...v];
};
const cookieHeader = (setCookie: string): [string, string] => ['Cookie', setCookie.split(';')[0]!];
const keyAuth = (ctx: PluginRequest) => ctx.authenticate(alice, KEY_AUTH);

describe('session handler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const init = (config: Record<string, unknown> = {}) =>
    initialise(plugin, snapshot, { secret: SECRET, ...config });

  it("issues a session cookie with Kong's attributes after another plugin authenticated a credential", async () => {
    const ctx = await request(init(), {}, keyAuth);
    const [c] = setCookies(ctx);
    expect(c!.split('; ').slice(1)).toEqual(['Path=/', 'SameSite=Strict', 'Secure', 'HttpOnly']);
    expect(c!.startsWith('session=')).toBe(true);
  });

  it('issues nothing for an unauthenticated or anonymous request', async () => {
    const state = init();
    expect(setCookies(await request(state))).toEqual([]);
    expect(
      setCookies(
        await request(state, {}, (ctx) =>
          ctx.authenticate(snapshot.consumer('anon')!, null, { anonymous: true }),
        ),
      ),
    ).toEqual([]);
  });

  it('authenticates a later request by the cookie alone: consumer, credential, groups and headers', async () => {
    const state = init({ request_headers: ['id', 'subject', 'timeout'] });
    const first = await request(state, {}, (ctx) => {
      keyAuth(ctx);
      ctx.shared.authenticated_groups = ['agents', 'doubleagents'];
    });
    const second = await request(state, { headers: [cookieHeader(setCookies(first)[0]!)] });
    expect(second.consumer?.id).toBe('c');
    expect(second.credential).toEqual(KEY_AUTH);
    const up = outcome(second).upstreamHeaders;
    expect(up['x-consumer-id']).toBe('c');
    expect(up['x-consumer-username']).toBe('alice');
    expect(up['x-credential-identifier']).toBe('k');
    expect(up['x-authenticated-groups']).toBe('agents, doubleagents');
    expect(up['session-subject']).toBe('alice');
    expect(up['session-timeout']).toBe('900');
    expect(typeof up['session-id']).toBe('string');
    // Nothing to renew yet: no new cookie.
    expect(setCookies(second)).toEqual([]);
  });

  it('keeps cookies from another secret, another audience, or tampered ones from authenticating', async () => {
    const issued = setCookies(await request(init(), {}, keyAuth))[0]!;
    const [, value] = cookieHeader(issued);
    for (const [state, cookie] of [
      [init({ secret: 'o'.repeat(40) }), value],
      [init({ audience: 'other-app' }), value],
      [init(), value.slice(0, -3) + (value.endsWith('AAA') ? 'BBB' : 'AAA')],
      [init(), 'session=garbage'],
      [init(), 'session='],
    ] as const) {
      const ctx = await request(state, { headers: [['Cookie', cookie]] });
      expect(ctx.consumer, cookie).toBeNull();
      expect(ctx.responded).toBe(false);
    }
  });

  it('ignores a cookie past its idling, rolling or absolute timeout', async () => {
    const state = init({ idling_timeout: 60, rolling_timeout: 3600, absolute_timeout: 86400 });
    const cookie = cookieHeader(setCookies(await request(state, {}, keyAuth))[0]!);
    vi.setSystemTime(T0 + 61_000);
    expect((await request(state, { headers: [cookie] })).consumer).toBeNull();
  });

  it('touches an idling session after a minute and renews (new id) after 3/4 of the rolling timeout', async () => {
    const state = init({ idling_timeout: 900, rolling_timeout: 400, request_headers: ['id'] });
    const first = await request(state, {}, keyAuth);
    let cookie = cookieHeader(setCookies(first)[0]!);
    const id0 = outcome(await request(state, { headers: [cookie] })).upstreamHeaders['session-id'];
    vi.setSystemTime(T0 + 120_000);
    const touched = await request(state, { headers: [cookie] });
    expect(setCookies(touched)).toHaveLength(1);
    expect(outcome(touched).upstreamHeaders['session-id']).toBe(id0);
    cookie = cookieHeader(setCookies(touched)[0]!);
    vi.setSystemTime(T0 + 301_000);
    const renewed = await request(state, { headers: [cookie] });
    expect(setCookies(renewed)).toHaveLength(1);
    expect(outcome(renewed).upstreamHeaders['session-id']).not.toBe(id0);
    // The renewed cookie outlives the first one's rolling timeout.
    cookie = cookieHeader(setCookies(renewed)[0]!);
    vi.setSystemTime(T0 + 500_000);
    expect((await request(state, { headers: [cookie] })).consumer?.id).toBe('c');
  });

  it('logs out on a logout method with the query argument: 200, cookie cleared; other methods pass', async () => {
    const state = init();
    const cookie = cookieHeader(setCookies(await request(state, {}, keyAuth))[0]!);
    const get = await request(state, { method: 'GET', query: 'session_logout', headers: [cookie] });
    expect(get.responded).toBe(false);
    const del = await request(state, { method: 'DELETE', query: 'session_logout=1', headers: [cookie] });
    expect(outcome(del).answer).toMatchObject({ status: 200, text: null });
    expect(setCookies(del)).toEqual([
      'session=; Path=/; SameSite=Strict; Secure; HttpOnly; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0',
    ]);
  });

  it('logs out by the body argument only with read_body_for_logout', async () => {
    const cookie = cookieHeader(setCookies(await request(init(), {}, keyAuth))[0]!);
    const form: Req = {
      method: 'POST',
      headers: [cookie, ['Content-Type', 'application/x-www-form-urlencoded']],
      body: 'session_logout=true',
    };
    expect((await request(init(), form)).responded).toBe(false);
    expect(outcome(await request(init({ read_body_for_logout: true }), form)).answer?.status).toBe(200);
  });

  it('destroys the session of a consumer that no longer exists', async () => {
    const state = init();
    const other = snapshotOf({});
    const ctx = pluginRequest(other, {});
    ctx.authenticate({ ...alice, id: 'gone' }, { ...KEY_AUTH, consumerId: 'gone' });
    upstreamResponse(ctx, 200);
    await run(plugin.response!(ctx, state));
    const cookie = cookieHeader(setCookies(ctx)[0]!);
    const next = await request(state, { headers: [cookie] });
    expect(next.consumer).toBeNull();
    expect(setCookies(next)[0]).toContain('Max-Age=0');
  });

  it("keeps the upstream's own cookies beside the session cookie", async () => {
    const ctx = await request(init(), {}, keyAuth, ['theirs=1; Path=/', 'session=upstream-one']);
    const cookies = setCookies(ctx);
    expect(cookies[0]).toBe('theirs=1; Path=/');
    expect(cookies).toHaveLength(2);
    expect(cookies[1]).not.toBe('session=upstream-one');
  });

  it('with remember: a persistent cookie (Expires, Max-Age) that restores a session once the session cookie is gone', async () => {
    const state = init({
      remember: true,
      remember_rolling_timeout: 3600,
      cookie_domain: 'example.test',
      cookie_same_site: 'Lax',
      cookie_http_only: false,
      cookie_secure: false,
    });
    const [session, remember] = setCookies(await request(state, {}, keyAuth));
    expect(session).toMatch(/^session=[^;]+; Domain=example.test; Path=\/; SameSite=Lax$/);
    expect(remember!.split('; ').slice(1)).toEqual([
      'Domain=example.test',
      'Path=/',
      'SameSite=Lax',
      `Expires=${new Date(T0 + 3_600_000).toUTCString()}`,
      'Max-Age=3600',
    ]);
    vi.setSystemTime(T0 + 1000_000); // past the session's idling timeout, within remember's
    const restored = await request(state, { headers: [cookieHeader(session!), cookieHeader(remember!)] });
    expect(restored.consumer?.id).toBe('c');
    expect(setCookies(restored).map((c) => c.split('=')[0])).toEqual(['remember', 'session']);
  });

  it('sets the response_headers on the response', async () => {
    const ctx = await request(init({ response_headers: ['audience', 'absolute-timeout'] }), {}, keyAuth);
    expect(outcome(ctx).responseHeaders['session-audience']).toBe('default');
    expect(outcome(ctx).responseHeaders['session-absolute-timeout']).toBe('86400');
  });
});
