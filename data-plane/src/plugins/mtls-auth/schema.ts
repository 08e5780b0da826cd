import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t } = schema;

/** Kong Enterprise's mtls-auth schema: same fields, defaults and allowed values. */
const mtlsAuthSchema = t.record(
  {
    anonymous: t.anonymous(),
    consumer_by: t.array(t.string({ one_of: ['username', 'custom_id'] }), {
      required: false,
      default: ['username', 'custom_id'],
      description:
        "Match the certificate's subject name against the consumer's username and/or custom_id; [] disables it.",
    }),
    ca_certificates: t.array(t.string({ uuid: true }), {
      required: true,
      len_min: 1,
      len_max: 64,
      description: 'Ids of the CA certificates a client certificate must chain to (at least one).',
    }),
    cache_ttl: t.number({
      required: true,
      default: 60,
      between: [0, 31_536_000],
      description: 'Seconds a verified certificate and its consumer are remembered.',
    }),
    skip_consumer_lookup: t.boolean({
      required: true,
      default: false,
      description: 'Any certificate that verifies is let in, with no consumer.',
    }),
    default_consumer: t.string({
      len_min: 1,
      description: 'Consumer (id or username) for a verified certificate that matches none.',
    }),
    authenticated_group_by: t.string({
      one_of: ['CN', 'DN'],
      default: 'CN',
      description: 'What of the subject becomes X-Authenticated-Groups with skip_consumer_lookup.',
    }),
    revocation_check_mode: t.string({
      required: true,
      one_of: ['SKIP', 'IGNORE_CA_ERROR', 'STRICT'],
      default: 'IGNORE_CA_ERROR',
      description:
        'SKIP: no CRL check; IGNORE_CA_ERROR: a CRL that cannot be had lets the certificate in; STRICT: refuses it.',
    }),
    http_timeout: t.number({
      required: true,
      default: 30_000,
      between: [1, 600_000],
      description: 'Milliseconds to wait for a CRL download.',
    }),
    cert_cache_ttl: t.number({
      required: true,
      default: 60_000,
      between: [0, 86_400_000],
      description: 'Milliseconds a downloaded CRL (and a failed download) is kept.',
    }),
    send_ca_dn: t.boolean({
      required: true,
      default: false,
      description: 'Not supported (must be false): the certificate request names no CA.',
    }),
    allow_partial_chain: t.boolean({
      required: true,
      default: false,
      description: 'A chain that ends at a configured intermediate CA (not a self-signed root) verifies.',
    }),
    http_proxy_host: t.string({ description: 'Not supported: CRLs are fetched directly.' }),
    http_proxy_port: t.integer({ between: [0, 65535] }),
    https_proxy_host: t.string({ description: 'Not supported: CRLs are fetched directly.' }),
    https_proxy_port: t.integer({ between: [0, 65535] }),
    ssl_verify: t.boolean({
      required: true,
      default: true,
      description: 'Verify the server certificate of an https CRL distribution point.',
    }),
  },
  {
    required: true,
    entity_checks: [
      {
        custom_entity_check: {
          field_sources: ['send_ca_dn'],
          fn: (v: Record<string, unknown>) =>
            v.send_ca_dn === true
              ? 'send_ca_dn is not supported by this gateway: the certificate request names no CA'
              : null,
        },
      },
      {
        custom_entity_check: {
          field_sources: ['http_proxy_host', 'https_proxy_host'],
          fn: (v: Record<string, unknown>) =>
            v.http_proxy_host != null || v.https_proxy_host != null
              ? 'http_proxy_host and https_proxy_host are not supported by this gateway (CRLs are fetched directly)'
              : null,
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const mtlsAuthSpec = definePluginSpec({
  name: 'mtls-auth',
  version: '1.0.0',
  priority: 1600,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: mtlsAuthSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type MtlsAuthConfig = PluginConfig<typeof mtlsAuthSpec.schema>;
