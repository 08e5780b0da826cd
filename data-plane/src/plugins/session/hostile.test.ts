/**
 * Properties over hostile input: any config is validated to a value or to field errors (never a
 * throw, never a polluted prototype), and a valid one always initialises; any Cookie header a
 * client sends (garbage, truncated or bit-flipped session cookies, huge values) leaves the
 * request unauthenticated and unanswered, never an exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { sessionSpec } from './schema.js';
import { deriveKey, seal } from './cookie.js';
import { initialise, pluginRequest, run, snapshotOf, upstreamResponse } from '../runtime/test-support.js';

const SECRET = 'h'.repeat(32);
const snapshot = snapshotOf({
  consumers: [{ id: 'c', username: 'alice', custom_id: null, tags: null, created_at: 0, updated_at: 0 }],
});

const hostileValue = fc.oneof(
  fc.anything(),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constant('__proto__'),
  fc.constant({ ['__proto__']: { polluted: true } }),
  fc.array(fc.oneof(fc.string(), fc.constantFrom('GET', 'POST', 'id', 'timeout'))),
);
const configKeys = [...Object.keys(sessionSpec.schema.fields), '__proto__', 'constructor', 'unknown'];

describe('session over hostile input', () => {
  it('validates any config to a value or field errors; a valid one initialises', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...configKeys), hostileValue, { maxKeys: 8 }),
        fc.boolean(),
        (config, withSecret) => {
          const input = JSON.parse(
            JSON.stringify({ ...(withSecret ? { secret: SECRET } : {}), ...config }),
          ) as unknown;
          const result = schema.check(sessionSpec.schema, input);
          if (result.errors !== null) expect(Object.keys(result.errors).length).toBeGreaterThan(0);
          else expect(() => initialise(plugin, snapshot, input as Record<string, unknown>)).not.toThrow();
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  const state = initialise(plugin, snapshot, { secret: SECRET, request_headers: ['id', 'timeout'] });
  const valid = seal(deriveKey(SECRET), 'session', {
    sid: 'x',
    ct: Math.floor(Date.now() / 1000),
    ro: 0,
    io: 0,
    aud: 'default',
    sub: 'alice',
    c: 'c',
    k: 'k',
    ty: 'key-auth',
    i: 'k',
    g: null,
  })!;

  const mutated = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
    const raw = Buffer.from(valid, 'base64url');
    raw[at % raw.length]! ^= xor;
    return raw.toString('base64url');
  });
  const cookieHeader = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ maxLength: 200 }).map((v) => `session=${v}`),
    fc.base64String({ maxLength: 400 }).map((v) => `session=${v}`),
    mutated.map((v) => `a=b; session=${v}`),
    fc.nat({ max: valid.length - 1 }).map((n) => `session=${valid.slice(0, n)}`),
    fc.constant(`session=${'A'.repeat(100_000)}`),
  );

  it('never authenticates or throws on a Cookie header that is not a valid sealed session', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(cookieHeader, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('GET', 'POST', 'DELETE'),
        async (cookies, method) => {
          const ctx = pluginRequest(snapshot, {
            method,
            query: 'session_logout',
            headers: cookies.map((c) => ['Cookie', c]),
          });
          await run(plugin.access!(ctx, state));
          expect(ctx.consumer).toBeNull();
          expect(ctx.responded).toBe(false);
          upstreamResponse(ctx, 200);
          await run(plugin.response!(ctx, state));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('authenticates the one valid cookie (the property above is not vacuous)', async () => {
    const ctx = pluginRequest(snapshot, { headers: [['Cookie', `session=${valid}`]] });
    await run(plugin.access!(ctx, state));
    expect(ctx.consumer?.id).toBe('c');
  });
});
