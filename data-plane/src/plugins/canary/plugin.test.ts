import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, schema, type Acl, type Consumer } from '@gatehouse/shared';
import { DestinationPlanner } from '../../proxy/destinations.js';
import type { InitContext } from '../api.js';
import type { PluginRequest } from '../runtime/context.js';
import { outcome, pluginRequest, snapshotOf, type TestRequest } from '../runtime/test-support.js';
import plugin, { canaryState, wantsCanary, type CanaryClock, type CanaryState } from './plugin.js';
import type { CanaryConfig } from './schema.js';

const logger = createLogger('canary-test', { level: 'silent' });

const person = (id: string): Consumer => ({
  id,
  username: id,
  custom_id: null,
  tags: null,
  created_at: 1,
  updated_at: 1,
});
const alice = person('c-alice');
const bob = person('c-bob');
const acl = (id: string, consumer: Consumer, group: string): Acl => ({
  id,
  consumer: { id: consumer.id },
  group,
  tags: null,
  created_at: 1,
});
const consumers = Array.from({ length: 2000 }, (_, n) => person(`consumer-${n}`));
const SNAPSHOT = snapshotOf({
  consumers: [alice, bob, ...consumers],
  acls: [acl('a1', alice, 'beta'), acl('b1', bob, 'staff')],
});

/** mulberry32: a seeded PRNG, so a `hash: none` draw is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stateOf(config: Record<string, unknown>, clock: CanaryClock = {}): CanaryState {
  const valid = schema.check(plugin.schema, { upstream_host: 'canary.internal', ...config });
  expect(valid.errors).toBeNull();
  const init: InitContext = {
    snapshot: SNAPSHOT,
    instance: {
      id: 'p',
      name: 'canary',
      instanceName: null,
      route: null,
      service: null,
      consumer: null,
      consumerGroup: null,
    },
    log: logger,
    destination: (host, port) => new DestinationPlanner().plan(host, port, { route: null, service: null }),
    service: () => null,
  };
  return canaryState(valid.value as CanaryConfig, init, clock);
}

const cred = (consumer: Consumer) => ({
  id: `cred-${consumer.id}`,
  type: 'key-auth',
  identifier: 'k',
  consumerId: consumer.id,
});

function request(r: TestRequest = {}, consumer: Consumer | null = null): PluginRequest {
  const ctx = pluginRequest(SNAPSHOT, r);
  if (consumer !== null) ctx.authenticate(consumer, cred(consumer));
  return ctx;
}

const T0 = 1_700_000_000;

describe('plugin canary (access)', () => {
  it('has Kong defaults: hash consumer, 1000 steps, a one-hour ramp, no fallback', () => {
    const value = schema.validate(plugin.schema, { upstream_host: 'canary.internal' }).value;
    expect(value).toMatchObject({
      hash: 'consumer',
      steps: 1000,
      duration: 3600,
      upstream_fallback: false,
    });
    expect(plugin.priority).toBe(20);
  });

  it('refuses configs Kong refuses, naming the field', () => {
    const errors = (c: Record<string, unknown>) => schema.check(plugin.schema, c).errors;
    expect(errors({ percentage: 10 })).toMatchObject({
      '@entity': [expect.stringContaining("'upstream_uri', 'upstream_host', 'upstream_port'")],
    });
    expect(errors({ upstream_port: 8080, percentage: 101 })).toMatchObject({
      percentage: expect.any(String),
    });
    expect(errors({ upstream_port: 8080, hash: 'header' })).toMatchObject({
      hash_header: 'required field missing',
    });
    expect(errors({ upstream_port: 8080, hash: 'allow' })).toMatchObject({ groups: expect.any(String) });
    expect(errors({ upstream_port: 8080, hash: 'deny', groups: [] })).toMatchObject({
      groups: expect.any(String),
    });
    expect(errors({ upstream_port: 8080, upstream_fallback: true })).toMatchObject({
      upstream_host: 'required field missing',
    });
    expect(errors({ upstream_uri: 'no-slash' })).toMatchObject({ upstream_uri: expect.any(String) });
    expect(errors({ upstream_uri: '/a?b=1' })).toMatchObject({ upstream_uri: expect.any(String) });
    expect(errors({ upstream_host: 'bad host!' })).toMatchObject({ upstream_host: expect.any(String) });
    expect(errors({ upstream_port: 8080, steps: 0 })).toMatchObject({ steps: expect.any(String) });
    expect(errors({ upstream_port: 8080, duration: 0 })).toMatchObject({ duration: expect.any(String) });
    // Gatehouse's cookie options: the cookie is named, and named as Kong's cookie_name allows.
    expect(errors({ upstream_port: 8080, hash: 'cookie' })).toMatchObject({
      hash_cookie: 'required field missing',
    });
    expect(errors({ upstream_port: 8080, hash: 'cookie', hash_cookie: 'a b' })).toMatchObject({
      hash_cookie: expect.stringContaining('invalid characters'),
    });
    expect(errors({ upstream_port: 8080, canary_by_cookie_name: 'x;y' })).toMatchObject({
      canary_by_cookie_name: expect.stringContaining('invalid characters'),
    });
    expect(errors({ upstream_port: 8080, hash: 'cookies' })).toMatchObject({ hash: expect.any(String) });
    expect(errors({ upstream_port: 8080, hash: 'cookie', hash_cookie: 'session_id' })).toBeNull();
  });

  // hash none draws a bucket per request. With the draw seeded the count is fixed; the bound is
  // what any uniform draw meets: Binomial(10000, 0.25) has mean 2500 and σ = √(10000·0.25·0.75)
  // ≈ 43.3, and ±6σ (±260) fails a uniform draw with probability < 2·10⁻⁹.
  it('hash none: sends the percentage of requests to the canary within 6σ over 10,000 requests', () => {
    const state = stateOf({ hash: 'none', percentage: 25 }, { random: seeded(42) });
    let canary = 0;
    for (let n = 0; n < 10_000; n++) if (wantsCanary(request(), state)) canary++;
    expect(Math.abs(canary - 2500)).toBeLessThanOrEqual(260);
  });

  // 2000 consumers, 10 % open: Binomial(2000, 0.1) has mean 200, σ ≈ 13.4; the ids are fixed so
  // the count is too, and ±6σ (±81) is the bound a uniform hash meets.
  it('hash consumer: splits consumers within 6σ and sends each one to the same side every time', () => {
    const state = stateOf({ percentage: 10 });
    let canary = 0;
    for (const c of consumers) {
      const first = wantsCanary(request({}, c), state);
      for (let k = 0; k < 3; k++)
        expect(wantsCanary(request({ clientIp: `192.0.2.${k}`, headers: [['x-k', `${k}`]] }, c), state)).toBe(
          first,
        );
      if (first) canary++;
    }
    expect(Math.abs(canary - 200)).toBeLessThanOrEqual(81);
  });

  it('hash consumer: without a consumer, hashes the client address (as hash ip does)', () => {
    const byConsumer = stateOf({ percentage: 50 });
    const byIp = stateOf({ percentage: 50, hash: 'ip' });
    const sides = new Set<boolean>();
    for (let n = 0; n < 64; n++) {
      const r = { clientIp: `198.51.100.${n}` };
      const side = wantsCanary(request(r), byConsumer);
      expect(side).toBe(wantsCanary(request(r), byIp));
      sides.add(side);
    }
    expect(sides).toEqual(new Set([true, false]));
  });

  it('hash header: the header value decides, the address only when the header is absent', () => {
    const state = stateOf({ percentage: 50, hash: 'header', hash_header: 'X-User' });
    const sides = new Set<boolean>();
    for (let n = 0; n < 64; n++) {
      const side = wantsCanary(request({ headers: [['x-user', `u${n}`]], clientIp: '10.0.0.1' }), state);
      expect(wantsCanary(request({ headers: [['X-User', `u${n}`]], clientIp: '10.9.9.9' }), state)).toBe(
        side,
      );
      sides.add(side);
    }
    expect(sides).toEqual(new Set([true, false]));
    const ipOnly = stateOf({ percentage: 50, hash: 'ip' });
    for (let n = 0; n < 16; n++) {
      const r = { clientIp: `203.0.113.${n}` };
      expect(wantsCanary(request(r), state)).toBe(wantsCanary(request(r), ipOnly));
    }
  });

  // 2000 cookie values, 30 % open: Binomial(2000, 0.3) has mean 600, σ ≈ 20.5, ±6σ = ±123.
  it('hash cookie: splits cookie values within 6σ, each value always the same way, whatever else varies', () => {
    const state = stateOf({ percentage: 30, hash: 'cookie', hash_cookie: 'ab_id' });
    let canary = 0;
    for (let n = 0; n < 2000; n++) {
      const first = wantsCanary(request({ headers: [['cookie', `ab_id=visitor-${n}`]] }), state);
      // Another address, consumer, cookie order and spacing, a second Cookie header: same side.
      const again = [
        request({ headers: [['Cookie', `lang=fr; ab_id=visitor-${n}`]], clientIp: '192.0.2.77' }, alice),
        request({
          headers: [
            ['cookie', 'x=1'],
            ['cookie', `ab_id="visitor-${n}";y=2`],
          ],
          clientIp: '10.1.1.1',
        }),
      ];
      for (const r of again) expect(wantsCanary(r, state)).toBe(first);
      if (first) canary++;
    }
    expect(Math.abs(canary - 600)).toBeLessThanOrEqual(123);
  });

  it('hash cookie: without the cookie (or with it empty, or only a look-alike name) hashes the client address', () => {
    const state = stateOf({ percentage: 50, hash: 'cookie', hash_cookie: 'ab_id' });
    const byIp = stateOf({ percentage: 50, hash: 'ip' });
    for (let n = 0; n < 32; n++) {
      const clientIp = `203.0.113.${n}`;
      const expected = wantsCanary(request({ clientIp }), byIp);
      for (const cookie of [null, 'ab_id=', 'xab_id=v1; ab_id2=v2', 'ab_id', 'AB_ID=v3'])
        expect(
          wantsCanary(request({ clientIp, headers: cookie === null ? [] : [['cookie', cookie]] }), state),
        ).toBe(expected);
    }
  });

  it('canary_by_cookie_name: always and never override the split; the header override wins over it', () => {
    const state = stateOf({ percentage: 0, canary_by_cookie_name: 'canary' });
    expect(wantsCanary(request({ headers: [['cookie', 'a=1; canary=always']] }, alice), state)).toBe(true);
    expect(wantsCanary(request({ headers: [['cookie', 'canary=maybe']] }, alice), state)).toBe(false);
    const all = stateOf({
      percentage: 100,
      canary_by_cookie_name: 'canary',
      canary_by_header_name: 'x-canary',
    });
    expect(wantsCanary(request({ headers: [['cookie', 'canary=never']] }, alice), all)).toBe(false);
    expect(
      wantsCanary(
        request(
          {
            headers: [
              ['cookie', 'canary=never'],
              ['x-canary', 'always'],
            ],
          },
          alice,
        ),
        all,
      ),
    ).toBe(true);
    const none = stateOf({
      percentage: 0,
      canary_by_cookie_name: 'canary',
      canary_by_header_name: 'x-canary',
    });
    expect(
      wantsCanary(
        request(
          {
            headers: [
              ['cookie', 'canary=always'],
              ['x-canary', 'never'],
            ],
          },
          alice,
        ),
        none,
      ),
    ).toBe(false);
  });

  it('ramps with time (injected clock): none before start, about half mid-way, all at the end, and never back', () => {
    let now = (T0 - 10) * 1000;
    const state = stateOf({ start: T0, duration: 1000, steps: 100 }, { now: () => now });
    const count = () => consumers.filter((c) => wantsCanary(request({}, c), state)).length;
    expect(count()).toBe(0);
    now = T0 * 1000;
    expect(count()).toBe(0);
    now = (T0 + 500) * 1000;
    const half = consumers.filter((c) => wantsCanary(request({}, c), state));
    // Binomial(2000, 0.5): σ ≈ 22.4, ±6σ = ±134.
    expect(Math.abs(half.length - 1000)).toBeLessThanOrEqual(134);
    now = (T0 + 750) * 1000;
    for (const c of half) expect(wantsCanary(request({}, c), state)).toBe(true);
    now = (T0 + 1000) * 1000;
    expect(count()).toBe(2000);
  });

  it('starts an unset start when the plugin was created', () => {
    let now = 0;
    const init = stateOf({ duration: 10, steps: 1 }, { now: () => now });
    // The test snapshot has no plugin row: created_at 0, so the ramp ended long ago.
    now = 20_000;
    expect(wantsCanary(request({}, alice), init)).toBe(true);
    now = 0;
    expect(wantsCanary(request({}, alice), init)).toBe(false);
  });

  it('a fixed percentage ignores start and the clock', () => {
    const state = stateOf({ percentage: 100, start: T0 + 86_400 }, { now: () => T0 * 1000 });
    expect(wantsCanary(request({}, alice), state)).toBe(true);
    const none = stateOf({ percentage: 0 }, { now: () => T0 * 1000 });
    expect(wantsCanary(request({}, alice), none)).toBe(false);
  });

  it('hash allow: sends the consumers of the groups to the canary, and no one else', () => {
    const state = stateOf({ hash: 'allow', groups: ['beta'], percentage: 0 });
    expect(wantsCanary(request({}, alice), state)).toBe(true);
    expect(wantsCanary(request({}, bob), state)).toBe(false);
    expect(wantsCanary(request(), state)).toBe(false);
    // A request without a consumer: the groups an auth plugin put in ctx.shared (as acl reads them).
    const ctx = request();
    ctx.shared.authenticated_groups = ['beta'];
    expect(wantsCanary(ctx, state)).toBe(true);
  });

  it('hash deny: keeps the consumers of the groups off the canary, and sends everyone else', () => {
    const state = stateOf({ hash: 'deny', groups: ['beta'] });
    expect(wantsCanary(request({}, alice), state)).toBe(false);
    expect(wantsCanary(request({}, bob), state)).toBe(true);
    expect(wantsCanary(request(), state)).toBe(true);
  });

  it('canary_by_header_name: always and never override the split; other values do not', () => {
    const state = stateOf({ percentage: 0, canary_by_header_name: 'X-Canary' });
    expect(wantsCanary(request({ headers: [['x-canary', 'always']] }, alice), state)).toBe(true);
    expect(wantsCanary(request({ headers: [['X-Canary', 'maybe']] }, alice), state)).toBe(false);
    const all = stateOf({ percentage: 100, canary_by_header_name: 'X-Canary' });
    expect(wantsCanary(request({ headers: [['x-canary', 'never']] }, alice), all)).toBe(false);
    expect(wantsCanary(request({}, alice), all)).toBe(true);
    const denied = stateOf({ hash: 'deny', groups: ['beta'], canary_by_header_name: 'x-canary' });
    expect(wantsCanary(request({ headers: [['x-canary', 'always']] }, alice), denied)).toBe(true);
  });

  it('upstream_uri: sets the upstream path of canary requests only', () => {
    const state = stateOf({ percentage: 100, upstream_uri: '/v2/api' });
    const ctx = request({ path: '/v1/items', query: 'a=1&b=2' }, alice);
    void plugin.access!(ctx, state);
    expect(outcome(ctx)).toMatchObject({ upstreamPath: '/v2/api', upstreamQuery: null });
    const primary = stateOf({ percentage: 0, upstream_uri: '/v2/api' });
    const other = request({ path: '/v1/items' }, alice);
    void plugin.access!(other, primary);
    expect(outcome(other).upstreamPath).toBeNull();
  });

  it('over hostile configs: validates or names the field, and a valid one never throws on a request', () => {
    const hostile = fc.oneof(
      fc.constantFrom(null, NaN, Infinity, -1, 2 ** 53, '', '__proto__', [], {}, true),
      fc.string({ maxLength: 12 }),
      fc.double(),
      fc.integer(),
    );
    const or = <T>(valid: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: hostile, weight: 1 });
    const config = fc.record(
      {
        percentage: or(fc.double({ min: 0, max: 100, noNaN: true })),
        start: or(fc.integer({ min: 0, max: 2 * T0 })),
        duration: or(fc.double({ min: 0.001, max: 1e6, noNaN: true })),
        steps: or(fc.integer({ min: 1, max: 1_000_000 })),
        hash: or(fc.constantFrom('consumer', 'ip', 'header', 'cookie', 'allow', 'deny', 'none')),
        hash_header: or(fc.constantFrom('x-user', 'X_User')),
        hash_cookie: or(fc.constantFrom('ab_id', 'session', '__proto__', 'a;b', 'a=b', ' ')),
        canary_by_cookie_name: or(fc.constantFrom('canary', 'ab_id', 'constructor', 'c d')),
        groups: or(fc.array(fc.constantFrom('beta', 'staff', '__proto__', 'constructor'))),
        canary_by_header_name: or(fc.constant('x-canary')),
        upstream_host: or(fc.constantFrom('canary.internal', '10.0.0.9', '::1')),
        upstream_port: or(fc.integer({ min: 0, max: 65535 })),
        upstream_uri: or(fc.constantFrom('/', '/v2', '/a/b%20c')),
        upstream_fallback: or(fc.boolean()),
      },
      { requiredKeys: [] },
    );
    const headerValue = fc.string({ unit: 'binary', maxLength: 40 });
    // Hostile Cookie headers: any bytes, and cookie-shaped ones built from the separators.
    const cookieHeader = fc.oneof(
      headerValue,
      fc
        .array(
          fc.oneof(
            fc.constantFrom(
              'ab_id',
              'canary',
              'session',
              '__proto__',
              '',
              ' ',
              '"',
              '=',
              ';',
              'always',
              'never',
            ),
            fc.string({ maxLength: 8 }),
          ),
          { maxLength: 12 },
        )
        .map((parts) => parts.join('')),
    );
    let validConfigs = 0;
    fc.assert(
      fc.property(
        config,
        headerValue,
        cookieHeader,
        fc.integer({ min: 0, max: 4 * T0 * 1000 }),
        (c, h, cookie, now) => {
          const result = schema.check(plugin.schema, c);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          if (result.errors !== null) return;
          validConfigs++;
          const init: InitContext = {
            snapshot: SNAPSHOT,
            instance: {
              id: 'p',
              name: 'canary',
              instanceName: null,
              route: null,
              service: null,
              consumer: null,
              consumerGroup: null,
            },
            log: logger,
            destination: (host, port) =>
              new DestinationPlanner().plan(host, port, { route: null, service: null }),
            service: () => null,
          };
          const state = canaryState(result.value as CanaryConfig, init, { now: () => now });
          for (const consumer of [null, alice]) {
            const ctx = request(
              {
                headers: [
                  ['x-user', h],
                  ['x-canary', h],
                  ['cookie', cookie],
                  ['Cookie', `ab_id=${h}; canary=${cookie}`],
                ],
              },
              consumer,
            );
            expect(typeof wantsCanary(ctx, state)).toBe('boolean');
            expect(() => plugin.access!(ctx, state)).not.toThrow();
            expect(ctx.responded).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(validConfigs).toBeGreaterThan(20);
  });
});
