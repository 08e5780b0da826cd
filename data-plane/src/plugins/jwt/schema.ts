import { schema } from '@gatehouse/shared';

const { t } = schema;

/** Kong's jwt schema (kong/plugins/jwt/schema.lua). */
export const jwtSchema = t.record(
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

export interface JwtConfig {
  uri_param_names: string[];
  cookie_names: string[];
  key_claim_name: string;
  secret_is_base64: boolean;
  claims_to_verify: ('exp' | 'nbf')[] | null;
  anonymous: string | null;
  run_on_preflight: boolean;
  maximum_expiration: number;
  header_names: string[];
  realm: string | null;
}
