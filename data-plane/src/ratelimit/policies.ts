/**
 * Picks the counter store of a rate-limiting plugin instance by its Kong `policy` name, once
 * per snapshot in the plugin's `init`. `local` is the node's counters (the primary's, over the
 * worker IPC, in a worker; this process's own elsewhere). `redis` and `cluster` count through
 * their own policies (redis-policy.ts, cluster-policy.ts); until they are wired in here they
 * fall back to `local`, said once per plugin instance in the log at config time.
 */
import type { Logger } from '@gatehouse/shared';
import { InProcessPolicy } from './local-policy.js';
import type { RateLimitPolicy } from './policy.js';

export const POLICY_NAMES = ['local', 'cluster', 'redis'] as const;
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
  /** The plugin instance's id (the warning is said once per instance). */
  readonly instanceId: string;
  readonly log: Logger;
}

let localPolicy: RateLimitPolicy = new InProcessPolicy();
const warned = new Set<string>();

/** The node's `local` policy: a worker sets the IPC one at boot (worker-main.ts). */
export function setLocalPolicy(policy: RateLimitPolicy): void {
  localPolicy = policy;
}

export function getLocalPolicy(): RateLimitPolicy {
  return localPolicy;
}

/** The policy for a plugin instance (see the module comment). */
export function selectPolicy(req: PolicyRequest): RateLimitPolicy {
  if (req.policy === 'local') return localPolicy;
  const key = `${req.instanceId}:${req.policy}`;
  if (!warned.has(key)) {
    warned.add(key);
    req.log.warn(
      { plugin_id: req.instanceId, policy: req.policy },
      `rate-limiting policy '${req.policy}' is not available on this data plane; counting with the 'local' policy (one limit per node)`,
    );
  }
  return localPolicy;
}
