import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, schema, type Consumer } from '@gatehouse/shared';
import plugin from './plugin.js';
import { rateLimitingSpec } from './schema.js';
import type { PluginRequest } from '../runtime/context.js';
import { initialise, outcome, pluginRequest, snapshotOf, type TestRequest } from '../runtime/test-support.js';
import { InProcessPolicy } from '../../ratelimit/local-policy.js';
import { getLocalPolicy, setLocalPolicy } from '../../ratelimit/policies.js';
import type { RateLimitPolicy } from '../../ratelimit/policy.js';

const consumer = (id: string): Consumer => ({
  id,
  username: id,
  custom_id: null,
  tags: null,
  created_at: 1,
  updated_at: 1,
});
const alice = consumer('c-alice');
const bob = consumer('c-bob');
const carol = consumer('c-carol');
const SNAPSHOT = snapshotOf({
  consumers: [alice, bob, carol],
  consumer_groups: [{ id: 'g-gold', name: 'gold', tags: null, created_at: 1, updated_at: 1 }],
  consumer_group_consumers: [
    { id: 'm1', consumer_group: { id: 'g-gold' }, consumer: { id: alice.id }, created_at: 1 },
    { id: 'm2', consumer_group: { id: 'g-gold' }, consumer: { id: bob.id }, created_at: 1 },
  ],
});
const cred = (c: Consumer, id = `cred-${c.id}`) => ({
  id,
  type: 'key-auth',
  identifier: 'k',
  consumerId: c.id,
});
const as =
  (c: Consumer, credId?: string) =>
  (ctx: PluginRequest): void =>
    ctx.authenticate(c, cred(c, credId));

let saved: RateLimitPolicy;
beforeEach(() => {
  saved = getLocalPolicy();
  setLocalPolicy(new InProcessPolicy());
  // A fixed clock: no test straddles a window boundary.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.parse('2024-05-10T10:20:30.100Z'));
});
afterEach(() => {
  setLocalPolicy(saved);
  vi.useRealTimers();
});

/** Sends `requests` through one instance; answers each status (200: let through). */
async function statuses(
  config: Record<string, unknown>,
  requests: { req?: TestRequest; setup?: (ctx: PluginRequest) => void }[],
) {
  const state = initialise(plugin, SNAPSHOT, config);
  const out: number[] = [];
  for (const r of requests) {
    const ctx = pluginRequest(SNAPSHOT, r.req ?? {});
    r.setup?.(ctx);
    await plugin.access!(ctx, state);
    out.push(outcome(ctx).answer?.status ?? 200);
  }
  return out;
}

const times = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);

describe('rate-limiting limit_by (whose counter)', () => {
  it('ip: each client address has its own counter', async () => {
    const a = { req: { clientIp: '10.0.0.1' } };
    const b = { req: { clientIp: '10.0.0.2' } };
    expect(await statuses({ minute: 1, limit_by: 'ip' }, [a, a, b])).toEqual([200, 429, 200]);
  });

  it('consumer: counts the consumer across its credentials, the IP without one', async () => {
    const reqs = [
      { setup: as(alice, 'k1') },
      { setup: as(alice, 'k2') },
      { setup: as(bob) },
      { req: { clientIp: '10.0.0.7' } },
      { req: { clientIp: '10.0.0.7' } },
    ];
    expect(await statuses({ minute: 1 }, reqs)).toEqual([200, 429, 200, 200, 429]);
  });

  it('credential: each credential of a consumer has its own counter', async () => {
    const reqs = [{ setup: as(alice, 'k1') }, { setup: as(alice, 'k2') }, { setup: as(alice, 'k1') }];
    expect(await statuses({ minute: 1, limit_by: 'credential' }, reqs)).toEqual([200, 200, 429]);
  });

  it('header: counts by the header value, the IP when the header is absent', async () => {
    const t = (v: string) => ({ req: { headers: [['X-Tenant', v]] as [string, string][] } });
    const reqs = [t('a'), t('b'), t('a'), {}, {}];
    expect(await statuses({ minute: 1, limit_by: 'header', header_name: 'x-tenant' }, reqs)).toEqual([
      200, 200, 429, 200, 429,
    ]);
  });

  it('path: counts the configured path as one, other paths by IP', async () => {
    const p = (path: string, ip: string) => ({ req: { path, clientIp: ip } });
    const reqs = [
      p('/videos', '1.1.1.1'),
      p('/videos', '2.2.2.2'),
      p('/other', '1.1.1.1'),
      p('/other', '2.2.2.2'),
    ];
    expect(await statuses({ minute: 1, limit_by: 'path', path: '/videos' }, reqs)).toEqual([
      200, 429, 200, 200,
    ]);
  });

  it('service: every request of a route without a service falls back to the IP', async () => {
    expect(await statuses({ minute: 1, limit_by: 'service' }, [{}, {}])).toEqual([200, 429]);
  });

  it('consumer-group: the members of a group share one counter', async () => {
    const reqs = [{ setup: as(alice) }, { setup: as(bob) }, { setup: as(carol) }];
    expect(await statuses({ minute: 1, limit_by: 'consumer-group' }, reqs)).toEqual([200, 429, 200]);
  });
});

describe('rate-limiting counting', () => {
  it('several periods at once: the one used up refuses', async () => {
    expect(await statuses({ minute: 3, hour: 100 }, times(4, {}))).toEqual([200, 200, 200, 429]);
  });

  it('refused requests are not counted (Kong): a longer period keeps its count', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2024-05-10T10:20:30.100Z'));
    const state = initialise(plugin, SNAPSHOT, { second: 1, minute: 3 });
    const send = async () => {
      const ctx = pluginRequest(SNAPSHOT);
      await plugin.access!(ctx, state);
      return outcome(ctx);
    };
    expect((await send()).answer).toBeNull();
    expect((await send()).answer?.status).toBe(429);
    expect((await send()).answer?.status).toBe(429);
    vi.setSystemTime(Date.parse('2024-05-10T10:20:31.100Z'));
    const next = await send();
    expect(next.answer).toBeNull();
    expect(next.responseHeaders['x-ratelimit-remaining-minute']).toBe('1');
  });

  it('a new window starts a new count', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2024-05-10T10:20:59.900Z'));
    const state = initialise(plugin, SNAPSHOT, { minute: 1 });
    const send = async () => {
      const ctx = pluginRequest(SNAPSHOT);
      await plugin.access!(ctx, state);
      return outcome(ctx).answer?.status ?? 200;
    };
    expect([await send(), await send()]).toEqual([200, 429]);
    vi.setSystemTime(Date.parse('2024-05-10T10:21:00.000Z'));
    expect(await send()).toBe(200);
  });

  it('sliding: right after a full minute the previous one still counts, then weighs less', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2024-05-10T10:20:10Z'));
    const state = initialise(plugin, SNAPSHOT, { minute: 4, window_type: 'sliding' });
    const send = async () => {
      const ctx = pluginRequest(SNAPSHOT);
      await plugin.access!(ctx, state);
      return outcome(ctx).answer?.status ?? 200;
    };
    expect([await send(), await send(), await send(), await send(), await send()]).toEqual([
      200, 200, 200, 200, 429,
    ]);
    // 15 s into the next minute: 4·0.75 = 3 counted → one more fits.
    vi.setSystemTime(Date.parse('2024-05-10T10:21:15Z'));
    expect([await send(), await send()]).toEqual([200, 429]);
    // A fixed window would have admitted 4 at once here.
  });

  it('custom error_code and error_message, with the error table code', async () => {
    const state = initialise(plugin, SNAPSHOT, { minute: 1, error_code: 503, error_message: 'slow down' });
    await plugin.access!(pluginRequest(SNAPSHOT), state);
    const ctx = pluginRequest(SNAPSHOT);
    await plugin.access!(ctx, state);
    expect(outcome(ctx).answer).toMatchObject({
      status: 503,
      json: { message: 'slow down' },
      headers: { 'x-gatehouse-error-code': 'GH_ERR_PLUGIN_RATE_LIMITED', 'Retry-After': expect.any(String) },
    });
  });

  it('hide_client_headers sends no rate-limit header, on admitted or refused requests', async () => {
    const state = initialise(plugin, SNAPSHOT, { minute: 1, hide_client_headers: true });
    const first = pluginRequest(SNAPSHOT);
    await plugin.access!(first, state);
    expect(outcome(first).responseHeaders).toEqual({});
    const second = pluginRequest(SNAPSHOT);
    await plugin.access!(second, state);
    expect(Object.keys(outcome(second).answer!.headers)).toEqual(['x-gatehouse-error-code']);
  });
});

describe('rate-limiting counter keys (shared with other DPs and kept in Redis: never respelled)', () => {
  it('spells each limit_by as <instance id>:<limit_by>:<entity>, or <instance id>:<client ip>', async () => {
    const keys: string[] = [];
    const recording: RateLimitPolicy = {
      name: 'local',
      increment: (hits) => {
        for (const h of hits) keys.push(h.key);
        return Promise.resolve(hits.map(() => 1));
      },
      usage: (hits) => Promise.resolve(hits.map(() => 0)),
      close: () => Promise.resolve(),
    };
    setLocalPolicy(recording);
    const send = async (
      config: Record<string, unknown>,
      req: TestRequest,
      setup?: (c: PluginRequest) => void,
    ) => {
      const state = initialise(plugin, SNAPSHOT, { minute: 5, ...config });
      const ctx = pluginRequest(SNAPSHOT, req);
      setup?.(ctx);
      await plugin.access!(ctx, state);
    };
    await send({}, {}, as(alice, 'k1'));
    await send({}, { clientIp: '10.0.0.7' });
    await send({ limit_by: 'credential' }, {}, as(alice, 'k1'));
    await send({ limit_by: 'header', header_name: 'x-tenant' }, { headers: [['X-Tenant', 'acme']] });
    await send({ limit_by: 'path', path: '/videos' }, { path: '/videos' });
    await send({ limit_by: 'consumer-group' }, {}, as(alice));
    await send({ limit_by: 'ip' }, { clientIp: '10.0.0.8' }, as(alice));
    await send({ minute: 5, hour: 10 }, { clientIp: '10.0.0.9' });
    expect(keys).toEqual([
      'p:consumer:c-alice',
      'p:10.0.0.7',
      'p:credential:k1',
      'p:header:acme',
      'p:path:/videos',
      'p:consumer-group:g-gold',
      'p:10.0.0.8',
      'p:10.0.0.9',
      'p:10.0.0.9',
    ]);
  });

  it('one instance keeps each entity on its own key, remembered or not', async () => {
    const keys: string[] = [];
    setLocalPolicy({
      name: 'local',
      increment: (hits) => {
        for (const h of hits) keys.push(h.key);
        return Promise.resolve(hits.map(() => 1));
      },
      usage: (hits) => Promise.resolve(hits.map(() => 0)),
      close: () => Promise.resolve(),
    });
    const state = initialise(plugin, SNAPSHOT, { minute: 5 });
    const header = initialise(plugin, SNAPSHOT, { minute: 5, limit_by: 'header', header_name: 'x-t' });
    for (const [st, req, setup] of [
      [state, {}, as(alice)],
      [state, {}, as(bob)],
      [state, { clientIp: '10.0.0.1' }, undefined],
      [state, {}, as(alice)],
      [header, { headers: [['x-t', 'a']] }, undefined],
      [header, { headers: [['x-t', 'b']] }, undefined],
      [header, { headers: [['x-t', 'a']] }, undefined],
    ] as const) {
      const ctx = pluginRequest(SNAPSHOT, req as TestRequest);
      setup?.(ctx);
      await plugin.access!(ctx, st);
    }
    expect(keys).toEqual([
      'p:consumer:c-alice',
      'p:consumer:c-bob',
      'p:10.0.0.1',
      'p:consumer:c-alice',
      'p:header:a',
      'p:header:b',
      'p:header:a',
    ]);
  });
});

describe('rate-limiting fault_tolerant', () => {
  const broken: RateLimitPolicy = {
    name: 'local',
    increment: () => Promise.reject(new Error('store down')),
    usage: () => Promise.reject(new Error('store down')),
    close: () => Promise.resolve(),
  };

  it('lets the request through without headers when true (default)', async () => {
    setLocalPolicy(broken);
    const state = initialise(plugin, SNAPSHOT, { minute: 1 });
    const ctx = pluginRequest(SNAPSHOT);
    await plugin.access!(ctx, state);
    expect(outcome(ctx)).toMatchObject({ answer: null, responseHeaders: {} });
  });

  it("answers Kong's 500 when false", async () => {
    setLocalPolicy(broken);
    const state = initialise(plugin, SNAPSHOT, { minute: 1, fault_tolerant: false });
    const ctx = pluginRequest(SNAPSHOT);
    await plugin.access!(ctx, state);
    expect(outcome(ctx).answer).toMatchObject({
      status: 500,
      json: { message: 'An unexpected error occurred' },
    });
  });
});

describe('rate-limiting scoped to a consumer group (the gold group gets a higher limit)', () => {
  it('a group-scoped instance limited by consumer-group counts only its members, as one', async () => {
    const state = plugin.init!(
      schema.validate(plugin.schema, { minute: 1, limit_by: 'consumer-group' }).value as never,
      {
        snapshot: SNAPSHOT,
        instance: {
          id: 'g',
          name: 'rate-limiting',
          instanceName: null,
          route: null,
          service: null,
          consumer: null,
          consumerGroup: 'g-gold',
        },
        log: createLogger('t', { level: 'silent' }),
        destination: () => {
          throw new Error('rate limiting sends nowhere else');
        },
        service: () => null,
      },
    );
    const send = async (setup: (ctx: PluginRequest) => void) => {
      const ctx = pluginRequest(SNAPSHOT);
      setup(ctx);
      await plugin.access!(ctx, state);
      return outcome(ctx).answer?.status ?? 200;
    };
    expect([await send(as(alice)), await send(as(bob))]).toEqual([200, 429]);
  });
});

describe('rate-limiting schema', () => {
  const check = (config: unknown) => schema.check(rateLimitingSpec.schema, config).errors;

  it("has Kong's defaults", () => {
    expect(schema.validate(rateLimitingSpec.schema, { minute: 5 }).value).toMatchObject({
      limit_by: 'consumer',
      policy: 'local',
      fault_tolerant: true,
      hide_client_headers: false,
      error_code: 429,
      error_message: 'API rate limit exceeded',
      sync_rate: -1,
      window_type: 'fixed',
      redis: { port: 6379, timeout: 2000, database: 0, ssl: false, ssl_verify: false },
    });
  });

  it("refuses with Kong's messages", () => {
    expect(check({})).toMatchObject({
      '@entity': [
        "at least one of these fields must be non-empty: 'second', 'minute', 'hour', 'day', 'month', 'year'",
      ],
    });
    expect(check({ second: 10, minute: 5 })).toMatchObject({
      '@entity': ['The limit for minute(5.0) cannot be lower than the limit for second(10.0)'],
    });
    expect(check({ minute: 5, sync_rate: 1 })).toMatchObject({
      '@entity': ['sync_rate can only be used with the redis policy'],
    });
    expect(check({ minute: 5, policy: 'redis', redis: { host: 'r', sync_rate: 0.01 } })).not.toBeNull();
    expect(check({ minute: 5, policy: 'redis' })).toMatchObject({
      redis: { host: 'required field missing' },
    });
    expect(check({ minute: 5, limit_by: 'header' })).toMatchObject({ header_name: 'required field missing' });
    expect(check({ minute: 5, limit_by: 'path' })).toMatchObject({ path: 'required field missing' });
    expect(check({ minute: 0 })).toMatchObject({ minute: 'value must be greater than 0' });
    expect(check({ minute: 5, error_code: 1000 })).toMatchObject({ error_code: expect.any(String) });
    expect(check({ minute: 5, policy: 'redis', redis: { host: 'localhost' } })).toBeNull();
  });

  it('property: hostile configs are refused or accepted, never thrown on, never polluting prototypes', () => {
    const hostileValue = fc.oneof(
      fc.anything(),
      fc.constantFrom(
        '__proto__',
        'constructor',
        '\u0000',
        'a\r\nb',
        -1,
        0,
        1e308,
        -0,
        NaN,
        Infinity,
        [],
        {},
      ),
    );
    const key = fc.constantFrom(
      ...Object.keys(rateLimitingSpec.schema.fields),
      '__proto__',
      'constructor',
      'prototype',
      'unknown',
    );
    fc.assert(
      fc.property(fc.dictionary(key, hostileValue, { maxKeys: 8 }), (config) => {
        const result = schema.check(rateLimitingSpec.schema, config);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        if (result.errors === null) {
          const v = result.value as Record<string, unknown>;
          expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
          const state = plugin.init!(v as never, {
            snapshot: SNAPSHOT,
            instance: {
              id: 'x',
              name: 'rate-limiting',
              instanceName: null,
              route: null,
              service: null,
              consumer: null,
              consumerGroup: null,
            },
            log: createLogger('t', { level: 'silent' }),
            destination: () => {
              throw new Error('rate limiting sends nowhere else');
            },
            service: () => null,
          });
          expect(state).toBeDefined();
          const code = v.error_code as number;
          expect(Number.isInteger(code) && code >= 100 && code <= 599).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
