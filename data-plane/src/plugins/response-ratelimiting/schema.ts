import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';
import {
  periodOrderError,
  POLICY_NAMES,
  redisRecord,
  redisRequiredErrors,
} from '../rate-limiting/shared-schema.js';
import { PERIODS } from '../rate-limiting/periods.js';

const { t } = schema;

/** A limit's name: it becomes part of header names, so a header token (Kong takes any string). */
const LIMIT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const period = () => t.number({ gt: 0 });

/**
 * Kong's response-ratelimiting schema (kong/plugins/response-ratelimiting/schema.lua), field for
 * field. The names of `limits` must be header tokens (A-Z, a-z, 0-9, `_`, `-`; at most 64):
 * they are written into `X-RateLimit-*-<name>` headers.
 */
const responseRateLimitingSchema = t.record(
  {
    header_name: t.string({
      default: 'x-kong-limit',
      len_min: 1,
      custom_validator: (s: string) => schema.typedefs.headerNameError(s),
      description: 'The name of the response header used to increment the counters.',
    }),
    limit_by: t.string({
      default: 'consumer',
      one_of: ['consumer', 'credential', 'ip'] as const,
      description:
        'The entity that will be used when aggregating the limits: `consumer`, `credential`, `ip`. If the `consumer` or the `credential` cannot be determined, the system will always fallback to `ip`.',
    }),
    policy: t.string({
      default: 'local',
      one_of: POLICY_NAMES,
      description: 'The rate-limiting policies to use for retrieving and incrementing the limits.',
    }),
    fault_tolerant: t.boolean({
      required: true,
      default: true,
      description:
        'A boolean value that determines if the requests should be proxied even if Kong has troubles connecting a third-party datastore. If `true`, requests will be proxied anyway, effectively disabling the rate-limiting function until the datastore is working again. If `false`, then the clients will see `500` errors.',
    }),
    redis: redisRecord(),
    block_on_first_violation: t.boolean({
      required: true,
      default: false,
      description:
        'A boolean value that determines if the requests should be blocked as soon as one limit is being exceeded. This will block requests that are supposed to consume other limits too.',
    }),
    hide_client_headers: t.boolean({
      required: true,
      default: false,
      description: 'Optionally hide informative response headers.',
    }),
    limits: t.map(
      t.string({
        custom_validator: (s: string) =>
          LIMIT_NAME.test(s)
            ? null
            : `invalid limit name '${s}': use A-Z, a-z, 0-9, '_' and '-' (at most 64)`,
      }),
      t.record(
        {
          second: period(),
          minute: period(),
          hour: period(),
          day: period(),
          month: period(),
          year: period(),
        },
        {
          required: true,
          entity_checks: [
            { at_least_one_of: PERIODS },
            {
              custom_entity_check: {
                field_sources: PERIODS,
                fn: (c) => periodOrderError(c, PERIODS, false),
              },
            },
          ],
        },
      ),
      {
        required: true,
        len_min: 1,
        len_max: 64,
        description: 'A map that defines rate limits for the plugin.',
      },
    ),
  },
  {
    required: true,
    entity_checks: [
      {
        custom_entity_check: {
          field_sources: ['policy', 'redis'],
          fn: (c) => {
            const redis = redisRequiredErrors(c);
            return redis === null
              ? null
              : { redis, '@entity': ["failed conditional validation given value of field 'policy'"] };
          },
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const responseRateLimitingSpec = definePluginSpec({
  name: 'response-ratelimiting',
  version: '1.0.0',
  priority: 900,
  protocols: PROTOCOLS_HTTP_WS,
  schema: responseRateLimitingSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type ResponseRateLimitingConfig = PluginConfig<typeof responseRateLimitingSpec.schema>;
