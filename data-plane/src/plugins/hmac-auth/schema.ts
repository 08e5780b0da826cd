import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t } = schema;

export const HMAC_ALGORITHMS = ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;

/** Kong's hmac-auth schema (kong/plugins/hmac-auth/schema.lua). */
const hmacAuthSchema = t.record(
  {
    hide_credentials: t.boolean({ required: true, default: false }),
    clock_skew: t.number({
      default: 300,
      gt: 0,
      description: 'Allowed clock skew in seconds (replay window).',
    }),
    anonymous: t.anonymous(),
    validate_request_body: t.boolean({ required: true, default: false }),
    enforce_headers: t.array(t.string(), { default: [] }),
    algorithms: t.array(t.string({ one_of: HMAC_ALGORITHMS }), { default: [...HMAC_ALGORITHMS] }),
    realm: t.string(),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const hmacAuthSpec = definePluginSpec({
  name: 'hmac-auth',
  version: '1.0.0',
  priority: 1030,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: hmacAuthSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type HmacAuthConfig = PluginConfig<typeof hmacAuthSpec.schema>;
