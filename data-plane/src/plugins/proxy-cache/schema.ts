import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

/** Kong's strategies (kong/plugins/proxy-cache/strategies/init.lua STRATEGY_TYPES). */
export const STRATEGIES = ['memory'] as const;

/** Kong's request methods a cache may be configured for. */
export const CACHEABLE_METHODS = ['HEAD', 'GET', 'POST', 'PATCH', 'PUT'] as const;

/** The longest storage_ttl accepted (seconds, Kong's shdict takes any positive number). */
const MAX_TTL = 2_147_483_647;

/** Kong's proxy-cache schema (kong/plugins/proxy-cache/schema.lua), field for field. */
const proxyCacheSchema = t.record({
  response_code: t.array(t.integer({ between: [100, 900] }), {
    required: true,
    default: [200, 301, 404],
    len_min: 1,
    description: 'Upstream response status code considered cacheable.',
  }),
  request_method: t.array(t.string({ one_of: CACHEABLE_METHODS }), {
    required: true,
    default: ['GET', 'HEAD'],
    description: 'Downstream request methods considered cacheable.',
  }),
  content_type: t.array(t.string(), {
    required: true,
    default: ['text/plain', 'application/json'],
    description:
      'Upstream response content types considered cacheable. The plugin performs an **exact match** against each specified value.',
  }),
  cache_ttl: t.integer({ default: 300, gt: 0, description: 'TTL, in seconds, of cache entities.' }),
  strategy: t.string({
    required: true,
    one_of: STRATEGIES,
    description: 'The backing data store in which to hold cache entities.',
  }),
  cache_control: t.boolean({
    required: true,
    default: false,
    description: 'When enabled, respect the Cache-Control behaviors defined in RFC7234.',
  }),
  ignore_uri_case: t.boolean({ default: false }),
  storage_ttl: t.integer({
    between: [0, MAX_TTL],
    description:
      'Number of seconds to keep resources in the storage backend. This value is independent of `cache_ttl` or resource TTLs defined by Cache-Control behaviors.',
  }),
  memory: t.record(
    {
      dictionary_name: t.string({
        required: true,
        default: 'kong_db_cache',
        description:
          "The name of the shared dictionary in which to hold cache entities when the memory strategy is selected. Gatehouse accepts any name: every proxy-cache instance of a worker shares that worker's memory store (--proxy-cache-memory-size).",
      }),
    },
    { required: true },
  ),
  vary_query_params: t.array(t.string(), {
    description:
      'Relevant query parameters considered for the cache key. If undefined, all params are taken into consideration.',
  }),
  vary_headers: t.array(t.string(), {
    description:
      'Relevant headers considered for the cache key. If undefined, none of the headers are taken into consideration.',
  }),
  response_headers: t.record(
    {
      age: t.boolean({ default: true }),
      'X-Cache-Status': t.boolean({ default: true }),
      'X-Cache-Key': t.boolean({ default: true }),
    },
    {
      required: true,
      description: 'Caching related diagnostic headers that should be included in cached responses',
    },
  ),
});

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const proxyCacheSpec = definePluginSpec({
  name: 'proxy-cache',
  version: '1.0.0',
  priority: 100,
  schema: proxyCacheSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type ProxyCacheConfig = PluginConfig<typeof proxyCacheSpec.schema>;
