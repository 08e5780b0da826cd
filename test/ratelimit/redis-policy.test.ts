/**
 * The `redis` rate-limiting policy against real Redis: the machine's on 127.0.0.1:6379 for
 * counting, and redis-servers of our own (on free ports) for failures and auth.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RedisPolicy,
  openRedisConnections,
  redisCounterKey,
  redisPolicyFor,
} from '@gatehouse/data-plane/ratelimit/redis-policy';
import type { CounterHit } from '@gatehouse/data-plane/ratelimit/policy';
import { freePort, startRedis, waitUntil, type ServerProcess } from './helpers.js';

const REDIS = { host: '127.0.0.1', port: 6379 };

function hits(key: string, now = Date.now()): CounterHit[] {
  return [1, 60, 3600].map((windowSeconds) => ({
    key,
    windowSeconds,
    windowStart: now - (now % (windowSeconds * 1000)),
  }));
}

let redis: Redis;
beforeAll(() => {
  redis = new Redis(REDIS);
});
afterAll(async () => {
  await redis.quit();
});

describe('redis policy (sync_rate -1: every increment in Redis)', () => {
  it('adds to every window in one call and answers each value after the add', async () => {
    const policy = new RedisPolicy({ ...REDIS, timeout: 2000 });
    try {
      const h = hits(`t:${randomUUID()}`);
      expect(await policy.increment(h, 1)).toEqual([1, 1, 1]);
      expect(await policy.increment(h, 3)).toEqual([4, 4, 4]);
      expect(await policy.usage(h)).toEqual([4, 4, 4]);
      const stored = await redis.mget(h.map(redisCounterKey));
      expect(stored).toEqual(['4', '4', '4']);
    } finally {
      await policy.close();
    }
  });

  it('keys counters as Kong does (ratelimit:<key>:<window start>:<period>) and gives each a TTL of at most two windows', async () => {
    const policy = new RedisPolicy(REDIS);
    try {
      const h = hits(`t:${randomUUID()}`);
      await policy.increment(h, 1);
      expect(redisCounterKey(h[1]!)).toBe(`ratelimit:${h[1]!.key}:${h[1]!.windowStart}:minute`);
      for (const hit of h) {
        const ttl = await redis.pttl(redisCounterKey(hit));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(2 * hit.windowSeconds * 1000);
      }
    } finally {
      await policy.close();
    }
  });

  it('lets a counter expire with its window', async () => {
    const policy = new RedisPolicy(REDIS);
    try {
      const [second] = hits(`t:${randomUUID()}`);
      await policy.increment([second!], 1);
      await waitUntil(
        'the 1 s counter expired',
        async () => (await redis.exists(redisCounterKey(second!))) === 0,
      );
      expect(await policy.usage([second!])).toEqual([0]);
    } finally {
      await policy.close();
    }
  });

  it('reads 0 for a counter never hit', async () => {
    const policy = new RedisPolicy(REDIS);
    try {
      expect(await policy.usage(hits(`t:${randomUUID()}`))).toEqual([0, 0, 0]);
    } finally {
      await policy.close();
    }
  });

  it('is atomic across nodes: concurrent increments from two connections answer distinct values and sum exactly', async () => {
    // Different timeouts ⇒ different connections (two "nodes").
    const a = new RedisPolicy({ ...REDIS, timeout: 2000 });
    const b = new RedisPolicy({ ...REDIS, timeout: 2001 });
    try {
      const h = hits(`t:${randomUUID()}`);
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).increment(h, 1)),
      );
      // Every call saw all three windows move together, and no two calls saw the same value.
      for (const values of answers) expect(new Set(values).size).toBe(1);
      const firsts = answers.map((v) => v[0]!).sort((x, y) => x - y);
      expect(firsts).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await a.usage(h)).toEqual([200, 200, 200]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('shares one connection per distinct redis config, opened on first use, and closes it when no policy uses it', async () => {
    const before = openRedisConnections();
    const a = new RedisPolicy({ ...REDIS, database: 3 });
    const b = new RedisPolicy({ ...REDIS, database: 3, sync_rate: 1 });
    const c = new RedisPolicy({ ...REDIS, database: 4 });
    // Compiling a config (making its policies) opens nothing.
    expect(openRedisConnections()).toBe(before);
    const h = hits(`t:${randomUUID()}`);
    await a.increment(h, 2);
    // database is honoured: db 4 does not see db 3's counter.
    expect(await c.usage(h)).toEqual([0, 0, 0]);
    expect(await b.usage(h)).toEqual([2, 2, 2]);
    expect(openRedisConnections()).toBe(before + 2);
    await a.close();
    expect(openRedisConnections()).toBe(before + 2);
    expect(await b.usage(h)).toEqual([2, 2, 2]);
    await b.close();
    expect(openRedisConnections()).toBe(before + 1);
    await c.close();
    expect(openRedisConnections()).toBe(before);
  });

  it('releases an idle connection and opens it again on the next call', async () => {
    const before = openRedisConnections();
    const policy = new RedisPolicy({ ...REDIS, database: 5 }, { idleCloseMs: 20 });
    try {
      const h = hits(`t:${randomUUID()}`);
      await policy.increment(h, 1);
      expect(policy.holdsConnection).toBe(true);
      await waitUntil('the idle connection is released', () => !policy.holdsConnection);
      expect(openRedisConnections()).toBe(before);
      expect(await policy.increment(h, 1)).toEqual([2, 2, 2]);
    } finally {
      await policy.close();
    }
  });

  it('gives every plugin instance with the same redis config and sync_rate one policy', async () => {
    const a = redisPolicyFor({ ...REDIS, database: 6 });
    const b = redisPolicyFor({ ...REDIS, database: 6 });
    const c = redisPolicyFor({ ...REDIS, database: 6, sync_rate: 1 });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(() => redisPolicyFor({ ...REDIS, port: -1 })).toThrow(/redis\.port/);
    await a.close();
    await c.close();
    // A closed policy is not handed out again.
    expect(redisPolicyFor({ ...REDIS, database: 6 })).not.toBe(a);
    await redisPolicyFor({ ...REDIS, database: 6 }).close();
  });

  it("refuses a sync_rate below 0.02 other than -1 (Kong's rule)", () => {
    expect(() => new RedisPolicy({ ...REDIS, sync_rate: 0.01 })).toThrow(/sync_rate/);
    expect(() => new RedisPolicy({ ...REDIS, sync_rate: -2 })).toThrow(/sync_rate/);
    expect(() => new RedisPolicy({ ...REDIS, host: '' })).toThrow(/host/);
  });
});

describe('redis policy (sync_rate > 0: batched)', () => {
  it("counts locally between syncs and adds the deltas to Redis on sync, picking up other nodes' counts", async () => {
    const a = new RedisPolicy({ ...REDIS, sync_rate: 3600, timeout: 2002 });
    const b = new RedisPolicy({ ...REDIS, sync_rate: 3600, timeout: 2003 });
    try {
      const h = hits(`t:${randomUUID()}`);
      // First sight: read from Redis synchronously (adds 1 there, as Kong's usage does).
      expect(await a.increment(h, 1)).toEqual([1, 1, 1]);
      expect(await a.increment(h, 1)).toEqual([2, 2, 2]);
      expect(await a.increment(h, 1)).toEqual([3, 3, 3]);
      // Only the first reached Redis so far.
      expect(await redis.mget(h.map(redisCounterKey))).toEqual(['1', '1', '1']);
      expect(await b.increment(h, 1)).toEqual([2, 2, 2]);
      await a.sync();
      expect(await redis.mget(h.map(redisCounterKey))).toEqual(['4', '4', '4']);
      expect(await a.usage(h)).toEqual([4, 4, 4]);
      await b.increment(h, 5); // local to b: 2 + 5
      await b.sync();
      expect(await b.usage(h)).toEqual([9, 9, 9]);
      await a.sync(); // nothing to add; a keeps its copy until it adds again
      await a.increment(h, 1);
      await a.sync();
      expect(await a.usage(h)).toEqual([10, 10, 10]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps counting known counters while Redis is down and sends the deltas when it is back', async () => {
    const server = await startRedis();
    const policy = new RedisPolicy({ host: '127.0.0.1', port: server.port, sync_rate: 3600, timeout: 300 });
    try {
      const h = hits(`t:${randomUUID()}`);
      expect(await policy.increment(h, 1)).toEqual([1, 1, 1]);
      await server.kill();
      await waitUntil('the policy saw Redis go', () => !policy.connected);
      expect(await policy.increment(h, 1)).toEqual([2, 2, 2]);
      await policy.sync(); // fails: the delta stays
      await expect(policy.increment(hits(`t:${randomUUID()}`), 1)).rejects.toThrow();
      await server.restart(); // an empty Redis (no persistence)
      await waitUntil('the policy reconnected', () => policy.connected);
      await policy.sync();
      const check = new Redis({ host: '127.0.0.1', port: server.port });
      try {
        expect(await check.mget(h.map(redisCounterKey))).toEqual(['1', '1', '1']);
      } finally {
        check.disconnect();
      }
    } finally {
      await policy.close();
      await server.kill();
    }
  });
});

describe('redis policy when Redis cannot answer', () => {
  let blackhole: Server;
  let blackholePort: number;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never answers: only the timeout can end a command.
    blackhole = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    blackholePort = (blackhole.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => blackhole.close(r));
  });

  it('rejects increment and usage when nothing listens on the port', async () => {
    const policy = new RedisPolicy({ host: '127.0.0.1', port: await freePort(), timeout: 500 });
    try {
      const h = hits('t:down');
      await expect(policy.increment(h, 1)).rejects.toThrow();
      await expect(policy.usage(h)).rejects.toThrow();
    } finally {
      await policy.close();
    }
  });

  it('rejects when Redis never answers (bounded by timeout, not hanging)', async () => {
    const policy = new RedisPolicy({ host: '127.0.0.1', port: blackholePort, timeout: 200 });
    try {
      await expect(policy.increment(hits('t:hang'), 1)).rejects.toThrow();
    } finally {
      await policy.close();
    }
  });

  it('rejects while its Redis is stopped and counts again once it is restarted', async () => {
    const server: ServerProcess = await startRedis();
    const policy = new RedisPolicy({ host: '127.0.0.1', port: server.port, timeout: 300 });
    try {
      const h = hits(`t:${randomUUID()}`);
      expect(await policy.increment(h, 1)).toEqual([1, 1, 1]);
      await server.kill();
      await expect(policy.increment(h, 1)).rejects.toThrow();
      await server.restart();
      await waitUntil('increments succeed again', async () => {
        await policy.increment(h, 1);
        return true;
      });
    } finally {
      await policy.close();
      await server.kill();
    }
  });

  it('authenticates with username/password and rejects with a wrong password', async () => {
    const server = await startRedis(['--requirepass', 's3cret']);
    const good = new RedisPolicy({ host: '127.0.0.1', port: server.port, password: 's3cret' });
    const named = new RedisPolicy({
      host: '127.0.0.1',
      port: server.port,
      username: 'default',
      password: 's3cret',
    });
    const bad = new RedisPolicy({ host: '127.0.0.1', port: server.port, password: 'nope', timeout: 300 });
    try {
      const h = hits(`t:${randomUUID()}`);
      expect(await good.increment(h, 1)).toEqual([1, 1, 1]);
      expect(await named.increment(h, 1)).toEqual([2, 2, 2]);
      await expect(bad.increment(h, 1)).rejects.toThrow();
    } finally {
      await good.close();
      await named.close();
      await bad.close();
      await server.kill();
    }
  });
});
