import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t } = schema;

/** Kong's jwt schema (kong/plugins/jwt/schema.lua). */
const jwtSchema = t.record(
  {
    uri_param_names: t.set(t.string(), {
      default: ['jwt'],
      description: 'Query arguments searched for a token.',
    }),
    cookie_names: t.set(t.string(), { default: [], description: 'Cookies searched for a token.' }),
    key_claim_name: t.string({
      default: 'iss',
      description: 'Claim (or header field) naming the jwt secret key.',
    }),
    secret_is_base64: t.boolean({ required: true, default: false }),
    claims_to_verify: t.set(t.string({ one_of: ['exp', 'nbf'] }), {
      description: 'Claims that must be present and valid (present exp/nbf are always checked).',
    }),
    anonymous: t.anonymous(),
    run_on_preflight: t.boolean({ required: true, default: true }),
    maximum_expiration: t.number({ default: 0, between: [0, 31536000] }),
    header_names: t.set(t.string(), { default: ['authorization'] }),
    realm: t.string(),
  },
  {
    required: true,
    entity_checks: [
      {
        custom_entity_check: {
          field_sources: ['maximum_expiration', 'claims_to_verify'],
          fn: (r) =>
            typeof r.maximum_expiration === 'number' &&
            r.maximum_expiration > 0 &&
            !(Array.isArray(r.claims_to_verify) && r.claims_to_verify.includes('exp'))
              ? "'claims_to_verify' must contain 'exp' when 'maximum_expiration' is set"
              : null,
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const jwtSpec = definePluginSpec({
  name: 'jwt',
  version: '1.0.0',
  priority: 1450,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: jwtSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type JwtConfig = PluginConfig<typeof jwtSpec.schema>;
