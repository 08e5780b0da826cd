import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { counterTtlMs, redisConfigProblem, redisCounterKey } from './redis-policy.js';

// Counting against Redis is tested against a real Redis in test/ratelimit/redis-policy.test.ts.

describe('redis policy config', () => {
  it("accepts Kong's fields with Kong's ranges", () => {
    expect(redisConfigProblem({ host: '127.0.0.1' })).toBeNull();
    expect(
      redisConfigProblem({
        host: 'redis.local',
        port: 6380,
        username: 'default',
        password: 'x',
        database: 2,
        ssl: true,
        ssl_verify: true,
        server_name: 'redis.local',
        timeout: 2000,
        sync_rate: 0.5,
      }),
    ).toBeNull();
    expect(redisConfigProblem({ host: 'h', sync_rate: -1, username: null, password: null })).toBeNull();
  });

  it('names the field that is wrong', () => {
    expect(redisConfigProblem({})).toMatch(/redis\.host/);
    expect(redisConfigProblem({ host: 'h', port: 70000 })).toMatch(/redis\.port/);
    expect(redisConfigProblem({ host: 'h', database: -1 })).toMatch(/redis\.database/);
    expect(redisConfigProblem({ host: 'h', timeout: 1.5 })).toMatch(/redis\.timeout/);
    expect(redisConfigProblem({ host: 'h', ssl: 'yes' })).toMatch(/redis\.ssl/);
    expect(redisConfigProblem({ host: 'h', sync_rate: 0.01 })).toMatch(/sync_rate/);
    expect(redisConfigProblem({ host: 'h', sync_rate: -2 })).toMatch(/sync_rate/);
  });

  it('never throws on hostile input (property)', () => {
    const hostile = fc.oneof(
      fc.anything(),
      fc.record(
        {
          host: fc.anything(),
          port: fc.anything(),
          database: fc.anything(),
          timeout: fc.anything(),
          sync_rate: fc.oneof(fc.double(), fc.anything()),
          ssl: fc.anything(),
          password: fc.anything(),
          __proto__: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(hostile, (config) => {
        const problem = redisConfigProblem(config);
        expect(problem === null || typeof problem === 'string').toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('redis counter keys', () => {
  it('names the period as Kong does, and keeps a counter two windows', () => {
    const hit = { key: 'p:c', windowSeconds: 86400, windowStart: 1_700_000_000_000 };
    expect(redisCounterKey(hit)).toBe('ratelimit:p:c:1700000000000:day');
    expect(redisCounterKey({ ...hit, windowSeconds: 7 })).toBe('ratelimit:p:c:1700000000000:7s');
    expect(counterTtlMs(hit, hit.windowStart)).toBe(2 * 86_400_000);
    expect(counterTtlMs(hit, hit.windowStart + 3 * 86_400_000)).toBe(1000);
  });
});
