/**
 * Kong's `redis` record (kong/tools/redis/schema.lua) as both rate-limiting plugins declare it,
 * and their shared checks: the order of the periods' limits and what `policy: redis` requires.
 * Schema only (the control plane loads it without any handler).
 */
import * as schema from '@gatehouse/shared/schema/index';

const { t, typedefs } = schema;

/** Kong's `policy` names, in Kong's order (the counter stores of ratelimit/policies.ts). */
export const POLICY_NAMES = ['local', 'cluster', 'redis'] as const;

/** Kong's redis_schema.config_schema, field for field. */
export function redisRecord() {
  return t.record(
    {
      host: t.string({ len_min: 1, len_max: typedefs.HOST_MAX, custom_validator: hostError }),
      port: t.integer({ between: [0, 65535], default: 6379 }),
      timeout: t.integer({ between: [1, typedefs.MAX_TIMEOUT], default: 2000 }),
      username: t.string({
        referenceable: true,
        description:
          "Username to use for Redis connections. If undefined, ACL authentication won't be performed. This requires Redis v6.0.0+. To be compatible with Redis v5.x.y, you can set it to `default`.",
      }),
      password: t.string({
        encrypted: true,
        referenceable: true,
        len_min: 0,
        description:
          'Password to use for Redis connections. If undefined, no AUTH commands are sent to Redis.',
      }),
      database: t.integer({
        default: 0,
        description: 'Database to use for the Redis connection when using the `redis` strategy',
      }),
      ssl: t.boolean({
        required: false,
        default: false,
        description: 'If set to true, uses SSL to connect to Redis.',
      }),
      ssl_verify: t.boolean({
        required: false,
        default: false,
        description: 'If set to true, verifies the validity of the server SSL certificate.',
      }),
      server_name: t.string({ len_min: 1, len_max: typedefs.HOST_MAX, custom_validator: sniError }),
    },
    { required: true, description: 'Redis configuration' },
  );
}

function hostError(s: string): string | null {
  return typedefs.host().custom_validator!(s) ?? null;
}

function sniError(s: string): string | null {
  return typedefs.sni().custom_validator!(s) ?? null;
}

/** Kong's order: a longer period's limit is never lower than a shorter one's (message as Kong's). */
export function periodOrderError(
  limits: Record<string, unknown>,
  periods: readonly string[],
  capital: boolean,
): string | null {
  for (let i = 0; i < periods.length; i += 1) {
    const v1 = limits[periods[i]!];
    if (typeof v1 !== 'number') continue;
    for (let j = i + 1; j < periods.length; j += 1) {
      const v2 = limits[periods[j]!];
      if (typeof v2 === 'number' && v2 < v1)
        return `${capital ? 'The' : 'the'} limit for ${periods[j]}(${v2.toFixed(1)}) cannot be lower than the limit for ${periods[i]}(${v1.toFixed(1)})`;
    }
  }
  return null;
}

/** Kong's conditionals for `policy: redis`: `redis.host`, `redis.port` and `redis.timeout` required. */
export function redisRequiredErrors(config: Record<string, unknown>): Record<string, string> | null {
  if (config.policy !== 'redis') return null;
  const redis = (config.redis ?? {}) as Record<string, unknown>;
  const missing: Record<string, string> = {};
  for (const f of ['host', 'port', 'timeout'])
    if (redis[f] === null || redis[f] === undefined) missing[f] = 'required field missing';
  return Object.keys(missing).length === 0 ? null : missing;
}
