import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t } = schema;

/**
 * A documented subset of Kong Enterprise's openid-connect schema: bearer-token validation against
 * the issuer's JWKS (auth_methods ["bearer"] only). `jwks_uri` is ours (skips discovery).
 */
const openidConnectSchema = t.record(
  {
    issuer: t.url({
      required: true,
      description: 'The issuer URL; discovery at <issuer>/.well-known/openid-configuration.',
    }),
    jwks_uri: t.url({ description: 'JWKS URL, instead of the one discovery returns.' }),
    issuers_allowed: t.array(t.string(), { description: 'Accepted `iss` values (default: the issuer).' }),
    auth_methods: t.array(t.string({ one_of: ['bearer'] }), { default: ['bearer'] }),
    bearer_token_param_type: t.array(t.string({ one_of: ['header', 'query'] }), {
      default: ['header', 'query'],
    }),
    audience_required: t.array(t.string(), { description: 'The token must name one of these audiences.' }),
    audience_claim: t.array(t.string(), { default: ['aud'] }),
    scopes_required: t.array(t.string(), {
      description: 'Alternatives; each a space-separated set of scopes that must all be present.',
    }),
    scopes_claim: t.array(t.string(), { default: ['scope'] }),
    consumer_claim: t.array(t.string(), { description: 'Claim mapping the token to a consumer.' }),
    consumer_by: t.array(t.string({ one_of: ['id', 'username', 'custom_id'] }), {
      default: ['username', 'custom_id'],
    }),
    consumer_optional: t.boolean({ default: false }),
    anonymous: t.anonymous(),
    run_on_preflight: t.boolean({ default: true }),
    hide_credentials: t.boolean({ default: false }),
    leeway: t.number({ default: 0, between: [0, 3600] }),
    verify_claims: t.boolean({ default: true }),
    rediscovery_lifetime: t.number({
      default: 30,
      between: [0, 86400],
      description: 'Seconds between JWKS refetches triggered by an unknown kid.',
    }),
    timeout: t.number({ default: 10000, gt: 0, description: 'Discovery / JWKS request timeout (ms).' }),
    realm: t.string(),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const openidConnectSpec = definePluginSpec({
  name: 'openid-connect',
  version: '1.0.0',
  priority: 1050,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: openidConnectSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type OpenidConnectConfig = PluginConfig<typeof openidConnectSpec.schema>;
