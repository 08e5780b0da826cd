import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t, typedefs } = schema;

/** Kong's `typedefs.host` check (a host name or an IP address), as one validator. */
const HOST = typedefs.host();

/** An HTTP token (RFC 9110): `header_type` is both the credential's scheme and the challenge's. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** An attribute description (RFC 4512): a name (`uid`, `sAMAccountName`) or a numeric OID. */
const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)*)$/;
/** Control characters (never valid in a DN given in a config, nor in a header). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Kong's ldap-auth schema (kong/plugins/ldap-auth/schema.lua). Stricter than Kong where Kong's
 * value would end up in a header or a DN unchecked: `header_type` must be an HTTP token, `realm`
 * a quotable string, `attribute` an LDAP attribute name; `timeout`/`keepalive`/`cache_ttl` bounded.
 */
const ldapAuthSchema = t.record(
  {
    ldap_host: t.string({
      required: true,
      len_min: 1,
      len_max: typedefs.HOST_MAX,
      custom_validator: (v: string) => HOST.custom_validator?.(v) ?? null,
      description: 'Host on which the LDAP server is running.',
    }),
    ldap_port: t.integer({
      required: true,
      default: 389,
      between: [0, 65535],
      description: 'TCP port where the LDAP server is listening.',
    }),
    ldaps: t.boolean({
      required: true,
      default: false,
      description: 'Connect using LDAPS (LDAP over TLS); usually port 636.',
    }),
    start_tls: t.boolean({
      required: true,
      default: false,
      description: 'Issue the StartTLS extended operation over an `ldap` connection.',
    }),
    verify_ldap_host: t.boolean({
      required: true,
      default: false,
      description: "Verify the LDAP server's certificate (and name) against the trusted CAs.",
    }),
    base_dn: t.string({
      required: true,
      len_min: 1,
      len_max: 1024,
      custom_validator: (v: string) => (CONTROL.test(v) ? 'must not contain control characters' : null),
      description: 'Base DN as the starting point for the search; e.g., dc=example,dc=com',
    }),
    attribute: t.string({
      required: true,
      len_max: 256,
      custom_validator: (v: string) => (ATTRIBUTE.test(v) ? null : 'must be an LDAP attribute name or OID'),
      description: 'Attribute to be used to search the user; e.g. cn',
    }),
    cache_ttl: t.number({
      required: true,
      default: 60,
      between: [0, 100_000_000],
      description: 'Cache expiry time in seconds (0: results are not cached).',
    }),
    hide_credentials: t.boolean({
      required: true,
      default: false,
      description: 'Remove Authorization and Proxy-Authorization before proxying the request.',
    }),
    timeout: t.number({
      default: 10000,
      between: [1, typedefs.MAX_TIMEOUT],
      description: 'Timeout in milliseconds for connecting to and waiting for the LDAP server.',
    }),
    keepalive: t.number({
      default: 60000,
      between: [0, typedefs.MAX_TIMEOUT],
      description: 'Milliseconds an idle connection to the LDAP server lives before being closed.',
    }),
    anonymous: t.anonymous(),
    header_type: t.string({
      default: 'ldap',
      len_max: 64,
      custom_validator: (v: string) => (TOKEN.test(v) ? null : 'must be an HTTP token (e.g. ldap, Basic)'),
      description: 'The scheme of the Authorization header (and of the WWW-Authenticate challenge).',
    }),
    realm: t.string({
      len_max: 256,
      custom_validator: (v: string) =>
        CONTROL.test(v) || /["\\]/.test(v)
          ? 'must not contain quotes, backslashes or control characters'
          : null,
      description: 'The realm attribute of the WWW-Authenticate header sent when authentication fails.',
    }),
  },
  {
    required: true,
    entity_checks: [
      {
        // Kong's conditional with its then_err, as the one message Kong answers.
        custom_entity_check: {
          field_sources: ['ldaps', 'start_tls'],
          fn: (r: Record<string, unknown>) =>
            r.ldaps === true && r.start_tls === true
              ? "'ldaps' and 'start_tls' cannot be enabled simultaneously"
              : null,
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const ldapAuthSpec = definePluginSpec({
  name: 'ldap-auth',
  version: '1.0.0',
  priority: 1200,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: ldapAuthSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type LdapAuthConfig = PluginConfig<typeof ldapAuthSpec.schema>;
