/**
 * Picks the counter store of a rate-limiting plugin instance by its Kong `policy` name, once
 * per snapshot in the plugin's `init`. `local` is the node's counters (the primary's, over the
 * worker IPC, in a worker; this process's own elsewhere). `cluster` is the node's cluster policy
 * (in the primary, which shares counts with the region's DPs over NATS; over the worker IPC in a
 * worker). `redis` is the redis policy shared by every instance with the same redis settings
 * and `sync_rate` (redis-policy.ts), opened in the process that counts.
 */
import type { Logger } from '@gatehouse/shared';
import { POLICY_NAMES } from '../plugins/rate-limiting/shared-schema.js';
import { ClusterPolicy } from './cluster-policy.js';
import { InProcessPolicy } from './local-policy.js';
import type { CounterHit, RateLimitPolicy } from './policy.js';
import { redisPolicyFor, type RedisPolicyConfig } from './redis-policy.js';

export { POLICY_NAMES };
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Kong's `redis` record (kong/tools/redis/schema.lua), as the plugins' schemas validate it. */
export interface RedisSettings {
  readonly host: string | null;
  readonly port: number | null;
  readonly timeout: number | null;
  readonly username: string | null;
  readonly password: string | null;
  readonly database: number | null;
  readonly ssl: boolean | null;
  readonly ssl_verify: boolean | null;
  readonly server_name: string | null;
}

/** What a plugin instance asks for: its policy and the fields a policy may read. */
export interface PolicyRequest {
  readonly policy: PolicyName;
  readonly redis: RedisSettings | null;
  /** Kong's `sync_rate` (seconds; -1 synchronous); only rate-limiting has it. */
  readonly syncRate: number | null;
  /** The plugin instance's id (a problem is said once per instance). */
  readonly instanceId: string;
  readonly log: Logger;
}

let localPolicy: RateLimitPolicy = new InProcessPolicy();
let clusterPolicy: RateLimitPolicy | null = null;
const warned = new Set<string>();

/** The node's `local` policy: a worker sets the IPC one at boot (worker-main.ts). */
export function setLocalPolicy(policy: RateLimitPolicy): void {
  localPolicy = policy;
}

export function getLocalPolicy(): RateLimitPolicy {
  return localPolicy;
}

/**
 * The node's `cluster` policy: a worker sets the IPC one at boot (worker-main.ts). A process
 * without a primary (tests) counts in a cluster policy of its own without NATS.
 */
export function setClusterPolicy(policy: RateLimitPolicy): void {
  clusterPolicy = policy;
}

export function getClusterPolicy(): RateLimitPolicy {
  clusterPolicy ??= new ClusterPolicy({});
  return clusterPolicy;
}

/** A redis config the policy refuses (the schema should have): every call rejects (fault_tolerant). */
class RefusedPolicy implements RateLimitPolicy {
  readonly name = 'redis';
  constructor(private readonly reason: string) {}
  increment(_hits: readonly CounterHit[], _amount: number): Promise<number[]> {
    return Promise.reject(new Error(this.reason));
  }
  usage(_hits: readonly CounterHit[]): Promise<number[]> {
    return Promise.reject(new Error(this.reason));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Kong's redis record as the redis policy takes it (null = the default). */
export function redisPolicyConfig(redis: RedisSettings | null, syncRate: number | null): RedisPolicyConfig {
  const r = redis ?? ({} as Partial<RedisSettings>);
  const config: { -readonly [K in keyof RedisPolicyConfig]: RedisPolicyConfig[K] } = { host: r.host ?? '' };
  if (r.port != null) config.port = r.port;
  if (r.timeout != null) config.timeout = r.timeout;
  if (r.username != null) config.username = r.username;
  if (r.password != null) config.password = r.password;
  if (r.database != null) config.database = r.database;
  if (r.ssl != null) config.ssl = r.ssl;
  if (r.ssl_verify != null) config.ssl_verify = r.ssl_verify;
  if (r.server_name != null) config.server_name = r.server_name;
  if (syncRate != null) config.sync_rate = syncRate;
  return config;
}

/** The policy for a plugin instance (see the module comment). */
export function selectPolicy(req: PolicyRequest): RateLimitPolicy {
  switch (req.policy) {
    case 'local':
      return localPolicy;
    case 'cluster':
      return getClusterPolicy();
    case 'redis':
      try {
        return redisPolicyFor(redisPolicyConfig(req.redis, req.syncRate), { logger: req.log });
      } catch (e) {
        const reason = (e as Error).message;
        if (!warned.has(req.instanceId)) {
          warned.add(req.instanceId);
          req.log.error({ plugin_id: req.instanceId, err: reason }, 'rate-limiting: unusable redis config');
        }
        return new RefusedPolicy(reason);
      }
  }
}
