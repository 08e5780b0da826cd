import { schema } from '@gatehouse/shared';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t } = schema;

/** The shortest token signing secret accepted (characters): 32 random characters are ≥ 190 bits. */
export const SIGNING_SECRET_MIN = 32;

const FLOWS = [
  'enable_authorization_code',
  'enable_implicit_grant',
  'enable_client_credentials',
  'enable_password_grant',
] as const;

/**
 * Kong's oauth2 schema (kong/plugins/oauth2/schema.lua): same fields, defaults and checks, plus
 * `token_signing_secrets` (Gatehouse: access tokens are signed JWTs, docs/plugins.md). Kong
 * generates `provision_key` when it is left out; here it is required, as the session plugin's
 * `secret` (a value every CP replica and DB-less file agrees on).
 */
const oauth2Schema = t.record(
  {
    scopes: t.array(t.string({ len_min: 1, len_max: 256, match: '^[!#-\\[\\]-~]+$' }), {
      len_max: 1000,
      description: 'The scopes a client may ask for (space-free, printable ASCII).',
    }),
    mandatory_scope: t.boolean({ required: true, default: false }),
    provision_key: t.string({
      required: true,
      len_min: 1,
      len_max: 512,
      encrypted: true,
      referenceable: true,
      description:
        'The key the authorization page and the password grant present (Kong generates it; give one).',
    }),
    token_expiration: t.number({ required: true, default: 7200, between: [0, 100_000_000] }),
    enable_authorization_code: t.boolean({ required: true, default: false }),
    enable_implicit_grant: t.boolean({ required: true, default: false }),
    enable_client_credentials: t.boolean({ required: true, default: false }),
    enable_password_grant: t.boolean({ required: true, default: false }),
    hide_credentials: t.boolean({ required: true, default: false }),
    accept_http_if_already_terminated: t.boolean({ required: true, default: false }),
    anonymous: t.anonymous(),
    global_credentials: t.boolean({ required: true, default: false }),
    auth_header_name: t.headerName({ default: 'authorization' }),
    refresh_token_ttl: t.number({ required: true, default: 1_209_600, between: [0, 100_000_000] }),
    reuse_refresh_token: t.boolean({ required: true, default: false }),
    pkce: t.string({ default: 'lax', one_of: ['none', 'lax', 'strict'] }),
    persistent_refresh_token: t.boolean({ required: true, default: false }),
    realm: t.string({ len_max: 256, description: 'Realm of the WWW-Authenticate header.' }),
    token_signing_secrets: t.array(
      t.string({ len_min: SIGNING_SECRET_MIN, len_max: 1024, encrypted: true, referenceable: true }),
      {
        required: true,
        len_min: 1,
        len_max: 8,
        description:
          'HS256 secrets of the tokens this instance issues: the first signs, every one verifies ' +
          '(rotate by putting a new one first, drop the old one once its tokens expired).',
      },
    ),
  },
  {
    required: true,
    custom_validator: (config: Record<string, unknown>) =>
      FLOWS.some((f) => config[f] === true)
        ? null
        : `at least one of these fields must be true: ${FLOWS.join(', ')}`,
    entity_checks: [
      {
        conditional: {
          if_field: 'mandatory_scope',
          if_match: { eq: true },
          then_field: 'scopes',
          then_match: { required: true },
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const oauth2Spec = definePluginSpec({
  name: 'oauth2',
  version: '1.0.0',
  priority: 1400,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: oauth2Schema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type OAuth2Config = PluginConfig<typeof oauth2Spec.schema>;
