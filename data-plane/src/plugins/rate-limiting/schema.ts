import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';
import { periodOrderError, POLICY_NAMES, redisRecord, redisRequiredErrors } from './shared-schema.js';
import { PERIODS } from './periods.js';

const { t, typedefs } = schema;

/** Kong's SYNC_RATE_REALTIME: counters written synchronously. */
export const SYNC_RATE_REALTIME = -1;

export const LIMIT_BY = [
  'consumer',
  'credential',
  'ip',
  'service',
  'header',
  'path',
  'consumer-group',
] as const;
export const WINDOW_TYPES = ['fixed', 'sliding'] as const;

const limit = (period: string) =>
  t.number({ gt: 0, description: `The number of HTTP requests that can be made per ${period}.` });

/**
 * Kong's rate-limiting schema (kong/plugins/rate-limiting/schema.lua), field for field, plus
 * `consumer-group` in `limit_by` and `window_type` (Kong Enterprise's rate-limiting-advanced
 * names). `error_code` must be an HTTP status (100-599; Kong takes any positive number).
 */
const rateLimitingSchema = t.record(
  {
    second: limit('second'),
    minute: limit('minute'),
    hour: limit('hour'),
    day: limit('day'),
    month: limit('month'),
    year: limit('year'),
    limit_by: t.string({
      default: 'consumer',
      one_of: LIMIT_BY,
      description: 'The entity that is used when aggregating the limits.',
    }),
    header_name: t.headerName({ len_min: 1, description: 'A string representing an HTTP header name.' }),
    path: t.string({
      len_min: 1,
      starts_with: '/',
      custom_validator: (s: string) => typedefs.path().custom_validator!(s) ?? null,
      description: 'A string representing a URL path, such as /path/to/resource.',
    }),
    policy: t.string({
      default: 'local',
      len_min: 0,
      one_of: POLICY_NAMES,
      description: 'The rate-limiting policies to use for retrieving and incrementing the limits.',
    }),
    fault_tolerant: t.boolean({
      required: true,
      default: true,
      description:
        'A boolean value that determines if the requests should be proxied even if Kong has troubles connecting a third-party data store. If `true`, requests will be proxied anyway, effectively disabling the rate-limiting function until the data store is working again. If `false`, then the clients will see `500` errors.',
    }),
    redis: redisRecord(),
    hide_client_headers: t.boolean({
      required: true,
      default: false,
      description: 'Optionally hide informative response headers.',
    }),
    error_code: t.number({
      default: 429,
      gt: 0,
      custom_validator: (n: number) =>
        Number.isInteger(n) && n >= 100 && n <= 599 ? null : 'must be an HTTP status code (100-599)',
      description: 'Set a custom error code to return when the rate limit is exceeded.',
    }),
    error_message: t.string({
      default: 'API rate limit exceeded',
      len_max: 4096,
      description: 'Set a custom error message to return when the rate limit is exceeded.',
    }),
    sync_rate: t.number({
      required: true,
      default: SYNC_RATE_REALTIME,
      description:
        'How often to sync counter data to the central data store. A value of -1 results in synchronous behavior.',
    }),
    window_type: t.string({
      required: true,
      default: 'fixed',
      one_of: WINDOW_TYPES,
      description:
        '`fixed` counts in calendar-aligned windows (Kong); `sliding` weighs the previous window by the share of it still inside the last window length.',
    }),
  },
  {
    required: true,
    entity_checks: [
      { at_least_one_of: PERIODS },
      {
        custom_entity_check: {
          field_sources: [...PERIODS, 'policy', 'sync_rate', 'redis'],
          fn: (c) => {
            const order = periodOrderError(c, PERIODS, true);
            if (order !== null) return order;
            const rate = c.sync_rate;
            if (typeof rate === 'number') {
              if (c.policy !== 'redis' && rate !== SYNC_RATE_REALTIME)
                return 'sync_rate can only be used with the redis policy';
              if (c.policy === 'redis' && rate !== SYNC_RATE_REALTIME && rate < 0.02)
                return 'sync_rate must be greater than 0.02, or -1 to disable';
            }
            const redis = redisRequiredErrors(c);
            if (redis === null) return null;
            return { redis, '@entity': ["failed conditional validation given value of field 'policy'"] };
          },
        },
      },
      {
        conditional: {
          if_field: 'limit_by',
          if_match: { eq: 'header' },
          then_field: 'header_name',
          then_match: { required: true },
        },
      },
      {
        conditional: {
          if_field: 'limit_by',
          if_match: { eq: 'path' },
          then_field: 'path',
          then_match: { required: true },
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const rateLimitingSpec = definePluginSpec({
  name: 'rate-limiting',
  version: '1.0.0',
  priority: 910,
  protocols: PROTOCOLS_HTTP_WS,
  schema: rateLimitingSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type RateLimitingConfig = PluginConfig<typeof rateLimitingSpec.schema>;
