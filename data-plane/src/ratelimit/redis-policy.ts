/**
 * Kong's `redis` rate-limiting policy: counters live in Redis, so every DP (and every Kong node
 * sharing the Redis) counts against one limit. All the windows of a request are added by one Lua
 * script (INCRBY, and PEXPIRE on a new key) in one round trip, atomically.
 *
 * `sync_rate` as Kong: `-1` sends every increment to Redis before answering; `> 0` answers from
 * a local copy (the value last read from Redis plus what this DP added since) and adds the local
 * deltas to Redis every `sync_rate` seconds, refreshing the copy with what the other nodes added.
 * A counter this DP has not seen yet is read (incremented) synchronously first, as Kong does.
 *
 * Connections are shared by every policy with the same connection settings, opened on first use
 * (compiling a config opens nothing) and closed when no policy has used them for `idleCloseMs`
 * (a config that no longer uses a Redis stops using it) or when the last policy closes. Redis unreachable ⇒ an increment that needs Redis rejects within `timeout` ms
 * (the plugin applies `fault_tolerant`).
 */
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from '@gatehouse/shared';
import type { CounterHit, RateLimitPolicy } from './policy.js';

/** Kong's `config.redis` record (kong/tools/redis/schema.lua) plus the plugin's `sync_rate`. */
export interface RedisPolicyConfig {
  readonly host: string;
  /** Default 6379. */
  readonly port?: number;
  /** ACL user (Redis 6+); no AUTH without a password. */
  readonly username?: string | null;
  readonly password?: string | null;
  /** Database index; default 0. */
  readonly database?: number;
  /** TLS to Redis; default false. */
  readonly ssl?: boolean;
  /** Verify the server certificate (with ssl); default false as Kong. */
  readonly ssl_verify?: boolean;
  /** SNI and the name checked with ssl_verify; default the host. */
  readonly server_name?: string | null;
  /** Connect and command timeout in milliseconds; default 2000 as Kong. */
  readonly timeout?: number;
  /** Seconds between syncs to Redis; -1 (default) = every increment goes to Redis. */
  readonly sync_rate?: number;
}

export interface RedisPolicyOptions {
  readonly logger?: Logger;
  /** Release the connection after this long without a call (ms); default 5 minutes. */
  readonly idleCloseMs?: number;
  /** Epoch milliseconds (tests move time). Default Date.now. */
  readonly now?: () => number;
}

export const REDIS_DEFAULTS = { port: 6379, database: 0, timeout: 2000, syncRate: -1 } as const;

/** Kong's period names, used in the Redis key as Kong does (`...:<period_date>:<period>`). */
const PERIOD_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'second'],
  [60, 'minute'],
  [3600, 'hour'],
  [86400, 'day'],
  [2592000, 'month'],
  [31536000, 'year'],
]);

/** The Redis key of one counter: `ratelimit:<limit key>:<window start ms>:<period>`. */
export function redisCounterKey(hit: CounterHit): string {
  const period = PERIOD_NAMES.get(hit.windowSeconds) ?? `${hit.windowSeconds}s`;
  return `ratelimit:${hit.key}:${hit.windowStart}:${period}`;
}

/**
 * How long a counter is kept: until two windows after its start, so a sliding window can still
 * read the previous window's count (at least 1 s, so a late write still expires).
 */
export function counterTtlMs(hit: CounterHit, now: number): number {
  return Math.max(1000, hit.windowStart + 2 * hit.windowSeconds * 1000 - now);
}

/**
 * KEYS: counters; ARGV[1]: amount, ARGV[1 + i]: TTL (ms) of KEYS[i]. Adds the amount to every
 * key, gives a key without expiry its TTL, and answers the values after the add.
 */
const INCREMENT_SCRIPT = `
local amount = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('INCRBY', key, amount)
  if redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ARGV[i + 1])
  end
  out[i] = value
end
return out
`;

/** KEYS: counters; ARGV[i]: the amount for KEYS[i], ARGV[n + i] its TTL (ms). */
const SYNC_SCRIPT = `
local n = #KEYS
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('INCRBY', key, tonumber(ARGV[i]))
  if redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ARGV[n + i])
  end
  out[i] = value
end
return out
`;

type GatehouseRedis = Redis & {
  gatehouseIncrement(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  gatehouseSync(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
};

function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function optionalString(v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'string';
}

/**
 * What is wrong with a redis policy config (Kong's field names and ranges), or null. The plugin
 * schema validates the same at write time; this guards the policy against anything else.
 */
export function redisConfigProblem(config: unknown): string | null {
  if (typeof config !== 'object' || config === null) return 'redis config must be an object';
  const c = config as Record<string, unknown>;
  if (typeof c.host !== 'string' || c.host === '' || c.host.length > 255) {
    return 'redis.host is required (a host name or IP)';
  }
  if (c.port !== undefined && !isInt(c.port, 0, 65535))
    return 'redis.port must be an integer from 0 to 65535';
  if (c.database !== undefined && !isInt(c.database, 0, 2 ** 31 - 1)) {
    return 'redis.database must be a non-negative integer';
  }
  if (c.timeout !== undefined && !isInt(c.timeout, 0, 2 ** 31 - 1)) {
    return 'redis.timeout must be an integer number of milliseconds';
  }
  for (const f of ['username', 'password', 'server_name'] as const) {
    if (!optionalString(c[f])) return `redis.${f} must be a string`;
  }
  for (const f of ['ssl', 'ssl_verify'] as const) {
    if (c[f] !== undefined && typeof c[f] !== 'boolean') return `redis.${f} must be a boolean`;
  }
  const syncRate = c.sync_rate;
  if (
    syncRate !== undefined &&
    syncRate !== -1 &&
    !(typeof syncRate === 'number' && syncRate >= 0.02 && syncRate <= 2 ** 31 / 1000)
  ) {
    return 'sync_rate must be greater than 0.02, or -1 to disable';
  }
  return null;
}

/** The settings that make two policies share a connection (everything but sync_rate). */
function connectionKey(c: RedisPolicyConfig): string {
  return JSON.stringify([
    c.host,
    c.port ?? REDIS_DEFAULTS.port,
    c.username ?? null,
    c.password ?? null,
    c.database ?? REDIS_DEFAULTS.database,
    c.ssl ?? false,
    c.ssl_verify ?? false,
    c.server_name ?? null,
    c.timeout ?? REDIS_DEFAULTS.timeout,
  ]);
}

function redisOptions(c: RedisPolicyConfig): RedisOptions {
  const timeout = c.timeout ?? REDIS_DEFAULTS.timeout;
  const options: RedisOptions = {
    host: c.host,
    port: c.port ?? REDIS_DEFAULTS.port,
    db: c.database ?? REDIS_DEFAULTS.database,
    connectTimeout: timeout,
    // Every command (also one waiting for a connection) answers or fails within `timeout`.
    commandTimeout: timeout,
    // A failed connection attempt fails the commands waiting for it at once.
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: true,
  };
  if (c.username) options.username = c.username;
  if (c.password) options.password = c.password;
  if (c.ssl) {
    options.tls = {
      rejectUnauthorized: c.ssl_verify ?? false,
      servername: c.server_name ?? c.host,
    };
  }
  return options;
}

interface SharedConnection {
  readonly client: GatehouseRedis;
  users: number;
}

/**
 * ioredis, loaded when the first Redis connection opens: a worker imports this module with the
 * rate-limit policies at start, and most nodes never count in Redis (docs/dev/architecture.md,
 * "Start time").
 */
let RedisClient: typeof Redis | null = null;
function redisClass(): typeof Redis {
  RedisClient ??= (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;
  return RedisClient;
}

/** One connection per distinct connection settings, counted by the policies that use it. */
const connections = new Map<string, SharedConnection>();

function acquire(config: RedisPolicyConfig, logger: Logger | undefined): SharedConnection {
  const key = connectionKey(config);
  let shared = connections.get(key);
  if (!shared) {
    const client = new (redisClass())(redisOptions(config)) as GatehouseRedis;
    client.defineCommand('gatehouseIncrement', { lua: INCREMENT_SCRIPT });
    client.defineCommand('gatehouseSync', { lua: SYNC_SCRIPT });
    let lastError = '';
    client.on('error', (err: Error) => {
      // ioredis retries by itself; say each distinct failure once until it is ready again.
      if (err.message === lastError) return;
      lastError = err.message;
      logger?.warn(
        { err: err.message, host: config.host, port: config.port ?? REDIS_DEFAULTS.port },
        'rate-limiting: redis connection failed; the redis policy rejects until it is back',
      );
    });
    client.on('ready', () => {
      if (lastError) logger?.info({ host: config.host }, 'rate-limiting: redis connection is back');
      lastError = '';
    });
    // lazyConnect: the first command connects.
    shared = { client, users: 0 };
    connections.set(key, shared);
  }
  shared.users++;
  return shared;
}

async function release(config: RedisPolicyConfig): Promise<void> {
  const key = connectionKey(config);
  const shared = connections.get(key);
  if (!shared) return;
  if (--shared.users > 0) return;
  connections.delete(key);
  // QUIT when connected (clean close); otherwise just drop the socket and stop retrying.
  if (shared.client.status === 'ready') {
    await shared.client.quit().catch(() => shared.client.disconnect());
  } else {
    shared.client.disconnect();
  }
}

/** How many distinct Redis connections are open (for tests and metrics). */
export function openRedisConnections(): number {
  return connections.size;
}

/** A counter's local copy in batched mode (sync_rate > 0). */
interface CachedCounter {
  readonly hit: CounterHit;
  /** The value Redis answered at the last sync. */
  base: number;
  /** What this DP added since then (not yet in Redis). */
  delta: number;
  /** Drop after this (epoch ms). */
  readonly expiresAt: number;
}

export class RedisPolicy implements RateLimitPolicy {
  readonly name = 'redis';
  private shared: SharedConnection | null = null;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly idleCloseMs: number;
  private lastUsed = 0;
  /** Calls waiting on Redis now (the connection is never released under them). */
  private inFlight = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly syncRate: number;
  private readonly cache = new Map<string, CachedCounter>();
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly config: RedisPolicyConfig,
    options: RedisPolicyOptions = {},
  ) {
    const problem = redisConfigProblem(config);
    if (problem) throw new TypeError(`redis policy: ${problem}`);
    this.now = options.now ?? Date.now;
    this.syncRate = config.sync_rate ?? REDIS_DEFAULTS.syncRate;
    this.logger = options.logger;
    this.idleCloseMs = options.idleCloseMs ?? 5 * 60_000;
  }

  /** Whether the connection is ready now (a getter for status and metrics). */
  get connected(): boolean {
    return this.shared?.client.status === 'ready';
  }

  /** Whether this policy holds a connection (opened on first use, released when idle). */
  get holdsConnection(): boolean {
    return this.shared !== null;
  }

  /** Runs a call on the shared connection, acquired on first use (and again after an idle release). */
  private async withClient<T>(call: (client: GatehouseRedis) => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await call(this.client());
    } finally {
      this.inFlight--;
      this.lastUsed = Date.now();
    }
  }

  private client(): GatehouseRedis {
    this.lastUsed = Date.now();
    if (!this.shared) {
      this.shared = acquire(this.config, this.logger);
      const every = Math.max(10, Math.min(this.idleCloseMs, 60_000));
      this.idleTimer = setInterval(() => void this.releaseIfIdle(), every);
      this.idleTimer.unref();
      if (this.syncRate > 0) {
        this.syncTimer = setInterval(() => void this.sync(), this.syncRate * 1000);
        this.syncTimer.unref();
      }
    }
    return this.shared.client;
  }

  private async releaseIfIdle(): Promise<void> {
    if (!this.shared || this.inFlight > 0 || Date.now() - this.lastUsed < this.idleCloseMs) return;
    if (this.syncRate > 0) await this.sync();
    // Deltas Redis could not take yet keep the connection.
    for (const entry of this.cache.values()) if (entry.delta !== 0) return;
    if (this.inFlight > 0 || Date.now() - this.lastUsed < this.idleCloseMs) return;
    await this.releaseConnection();
  }

  private async releaseConnection(): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer);
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.idleTimer = null;
    this.syncTimer = null;
    this.cache.clear();
    if (this.shared) {
      this.shared = null;
      await release(this.config);
    }
  }

  async increment(hits: readonly CounterHit[], amount: number): Promise<number[]> {
    this.assertOpen();
    if (hits.length === 0) return [];
    if (this.syncRate === -1) return this.incrementInRedis(hits, amount);

    const now = this.now();
    const out = new Array<number>(hits.length);
    const missing: number[] = [];
    for (let i = 0; i < hits.length; i++) {
      const cached = this.cached(hits[i]!, now);
      if (cached) {
        cached.delta += amount;
        out[i] = cached.base + cached.delta;
      } else {
        missing.push(i);
      }
    }
    if (missing.length) {
      // First sight of a counter: read it by adding to it in Redis (Kong does the same).
      const firstHits = missing.map((i) => hits[i]!);
      const values = await this.incrementInRedis(firstHits, amount);
      for (let j = 0; j < missing.length; j++) {
        const hit = firstHits[j]!;
        const id = redisCounterKey(hit);
        const existing = this.cache.get(id);
        if (existing) {
          // Another call cached it meanwhile: our add is in Redis, keep the higher base.
          existing.base = Math.max(existing.base, values[j]!);
          out[missing[j]!] = existing.base + existing.delta;
        } else {
          const expiresAt = hit.windowStart + 2 * hit.windowSeconds * 1000;
          this.cache.set(id, { hit, base: values[j]!, delta: 0, expiresAt });
          out[missing[j]!] = values[j]!;
        }
      }
    }
    return out;
  }

  async usage(hits: readonly CounterHit[]): Promise<number[]> {
    this.assertOpen();
    if (hits.length === 0) return [];
    const now = this.now();
    const out = new Array<number>(hits.length);
    const missing: number[] = [];
    for (let i = 0; i < hits.length; i++) {
      const cached = this.syncRate > 0 ? this.cached(hits[i]!, now) : undefined;
      if (cached) out[i] = cached.base + cached.delta;
      else missing.push(i);
    }
    if (missing.length) {
      const keys = missing.map((i) => redisCounterKey(hits[i]!));
      const values = await this.withClient((client) => client.mget(keys));
      for (let j = 0; j < missing.length; j++) {
        const n = Number(values[j] ?? 0);
        out[missing[j]!] = Number.isFinite(n) ? n : 0;
      }
    }
    return out;
  }

  /**
   * Batched mode: adds every local delta to Redis in one script call and refreshes each local
   * copy with Redis's total. A failed sync keeps the deltas for the next one. Resolves when done
   * (tests call it to sync now).
   */
  sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncing = this.syncOnce().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const now = this.now();
    const keys: string[] = [];
    const entries: CachedCounter[] = [];
    const deltas: number[] = [];
    for (const [id, entry] of this.cache) {
      if (entry.expiresAt <= now) {
        this.cache.delete(id);
        continue;
      }
      if (entry.delta === 0) continue;
      keys.push(id);
      entries.push(entry);
      deltas.push(entry.delta);
    }
    if (keys.length === 0) return;
    const ttls = entries.map((e) => counterTtlMs(e.hit, now));
    try {
      const totals = await this.withClient((client) =>
        client.gatehouseSync(keys.length, ...keys, ...deltas, ...ttls),
      );
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        // Increments made while the sync was in flight stay in delta.
        entry.delta -= deltas[i]!;
        entry.base = Number(totals[i]);
      }
    } catch {
      // Redis unreachable: the deltas stay and go with the next sync (the error is logged once
      // by the connection).
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.syncRate > 0) await this.sync().catch(() => undefined);
    await this.releaseConnection();
    for (const [key, policy] of policies) if (policy === this) policies.delete(key);
  }

  private async incrementInRedis(hits: readonly CounterHit[], amount: number): Promise<number[]> {
    const now = this.now();
    const args: (string | number)[] = hits.map(redisCounterKey);
    args.push(amount);
    for (const hit of hits) args.push(counterTtlMs(hit, now));
    const values = await this.withClient((client) => client.gatehouseIncrement(hits.length, ...args));
    return values.map(Number);
  }

  private cached(hit: CounterHit, now: number): CachedCounter | undefined {
    const id = redisCounterKey(hit);
    const entry = this.cache.get(id);
    if (entry && entry.expiresAt <= now) {
      this.cache.delete(id);
      return undefined;
    }
    return entry;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('redis policy: used after close()');
  }
}

/** Shared policies: one per distinct redis config and sync_rate, for every plugin instance. */
const policies = new Map<string, RedisPolicy>();

/**
 * The `redis` policy for a plugin instance's config: the same object for the same connection
 * settings and sync_rate, so instances (and successive snapshots) share counters' local copies
 * and the connection. Throws a TypeError naming the bad field.
 */
export function redisPolicyFor(config: RedisPolicyConfig, options: RedisPolicyOptions = {}): RedisPolicy {
  const problem = redisConfigProblem(config);
  if (problem) throw new TypeError(`redis policy: ${problem}`);
  const key = `${connectionKey(config)}|${config.sync_rate ?? REDIS_DEFAULTS.syncRate}`;
  let policy = policies.get(key);
  if (!policy) {
    policy = new RedisPolicy(config, options);
    policies.set(key, policy);
  }
  return policy;
}
