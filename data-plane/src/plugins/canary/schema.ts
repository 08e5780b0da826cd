import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t, typedefs } = schema;

/** Kong's `typedefs.host` check (a host name or an IP address), as one validator. */
const HOST = typedefs.host();
const hostError = (v: string): string | null => HOST.custom_validator?.(v) ?? null;
/** Kong's `typedefs.cookie_name` check (an HTTP token), as one validator. */
const COOKIE = typedefs.cookieName();
const cookieError = (v: string): string | null => COOKIE.custom_validator?.(v) ?? null;

/** The most buckets a split may have (Kong's default is 1000). */
export const MAX_STEPS = 1_000_000;

/** An origin-form path: `/` then visible ASCII other than `"`, `#` and `?` (no query string). */
const UPSTREAM_URI = /^\/[\x21\x24-\x3e\x40-\x7e]*$/;

/**
 * Kong Enterprise's canary schema (developer.konghq.com/plugins/canary, reference): the same
 * fields, defaults and checks. `canary_by_header_name` is Kong's (2.8+); `start` left unset
 * starts the ramp when the plugin was created (Kong 3.2+ stamps the write time into it).
 * Gatehouse extension (Kong has no cookie options): `hash: cookie` with `hash_cookie`, and
 * `canary_by_cookie_name`, the cookie counterparts of `hash_header` and `canary_by_header_name`.
 */
const canarySchema = t.record(
  {
    start: t.number({
      between: [0, 253_402_300_799],
      description:
        'Time in seconds since epoch when the canary release starts. Ignored when `percentage` is set, or when `hash` is `allow` or `deny`. Unset: when the plugin was created.',
    }),
    duration: t.number({
      required: true,
      default: 3600,
      gt: 0,
      between: [0, 100 * 365 * 86_400],
      description: 'The duration of the canary release in seconds (the time the ramp takes from 0 to 100 %).',
    }),
    steps: t.integer({
      required: true,
      default: 1000,
      between: [1, MAX_STEPS],
      description:
        'The number of buckets the traffic is hashed into: the split (or, in a timed release, each increment) moves whole buckets.',
    }),
    percentage: t.number({
      between: [0, 100],
      description:
        'The percentage of traffic to be routed to the canary release (a fixed split; overrides `start`).',
    }),
    upstream_host: t.string({
      len_min: 1,
      len_max: typedefs.HOST_MAX,
      custom_validator: hostError,
      description:
        'The host the canary traffic goes to: a host name or IP address, or the name of an upstream entity (balanced over its targets).',
    }),
    upstream_port: t.integer({
      between: [0, 65535],
      description: 'The port the canary traffic goes to (default: the service port).',
    }),
    upstream_uri: t.string({
      len_min: 1,
      len_max: 4096,
      custom_validator: (v: string) =>
        UPSTREAM_URI.test(v) ? null : "must be a path starting with '/', without query string or fragment",
      description: 'The upstream path of the canary traffic (the query string is kept).',
    }),
    upstream_fallback: t.boolean({
      required: true,
      default: false,
      description:
        'Send the request to the primary service instead when `upstream_host` names an upstream with no healthy target.',
    }),
    hash: t.string({
      required: true,
      default: 'consumer',
      one_of: ['consumer', 'ip', 'header', 'cookie', 'allow', 'deny', 'none'],
      description:
        'What puts a request in a bucket: `consumer` (falls back to the client IP), `ip`, `header` (`hash_header`), `cookie` (`hash_cookie`; a Gatehouse extension), `none` (random per request); `allow`/`deny` send the consumers in `groups` (ACL groups) to the canary, or keep them off it.',
    }),
    hash_header: t.headerName({ description: 'The header hashed when `hash` is `header`.' }),
    hash_cookie: t.string({
      len_min: 1,
      custom_validator: cookieError,
      description:
        'The cookie whose value is hashed when `hash` is `cookie` (Gatehouse extension): one cookie value always goes the same way. A request without it is hashed by client IP.',
    }),
    canary_by_header_name: t.headerName({
      description:
        'A header that overrides the split: `always` sends the request to the canary, `never` to the primary service.',
    }),
    canary_by_cookie_name: t.string({
      len_min: 1,
      custom_validator: cookieError,
      description:
        'A cookie that overrides the split as `canary_by_header_name` does (Gatehouse extension): `always` sends the request to the canary, `never` to the primary service. The header wins when both are present.',
    }),
    groups: t.array(t.string({ len_min: 1, len_max: 255 }), {
      len_max: 1000,
      description: 'The ACL groups `hash` `allow` or `deny` apply to.',
    }),
  },
  {
    entity_checks: [
      { at_least_one_of: ['upstream_uri', 'upstream_host', 'upstream_port'] },
      {
        conditional: {
          if_field: 'hash',
          if_match: { eq: 'header' },
          then_field: 'hash_header',
          then_match: { required: true },
        },
      },
      {
        conditional: {
          if_field: 'hash',
          if_match: { eq: 'cookie' },
          then_field: 'hash_cookie',
          then_match: { required: true },
        },
      },
      {
        conditional: {
          if_field: 'hash',
          if_match: { one_of: ['allow', 'deny'] },
          then_field: 'groups',
          then_match: { required: true, len_min: 1 },
        },
      },
      {
        conditional: {
          if_field: 'upstream_fallback',
          if_match: { eq: true },
          then_field: 'upstream_host',
          then_match: { required: true },
        },
      },
    ],
  },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const canarySpec = definePluginSpec({
  name: 'canary',
  version: '1.0.0',
  priority: 20,
  schema: canarySchema,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
});

/** The validated config the handlers receive (inferred from the schema). */
export type CanaryConfig = PluginConfig<typeof canarySpec.schema>;
