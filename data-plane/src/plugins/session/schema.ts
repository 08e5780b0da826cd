import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

/** lua-resty-session's MAX_TTL (400 days): the longest timeout a session cookie may carry. */
export const MAX_TIMEOUT = 34_560_000;

/** The shortest secret accepted (characters): 32 random characters are ≥ 190 bits. */
export const SECRET_MIN_LENGTH = 32;

/** Kong's `response_headers` / `request_headers` elements (lua-resty-session's HEADERS). */
export const SESSION_HEADERS = [
  'id',
  'audience',
  'subject',
  'timeout',
  'idling-timeout',
  'rolling-timeout',
  'absolute-timeout',
] as const;

/** RFC 6265 cookie-name (an RFC 7230 token): nothing that could end or extend a Set-Cookie. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A cookie attribute value (Path, Domain): printable ASCII without `;` (RFC 6265 av-octet). */
const ATTRIBUTE_VALUE = /^[\x21-\x3a\x3c-\x7e]+$/;

const cookieName = (v: string): string | null =>
  COOKIE_NAME.test(v) ? null : "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)";
const cookiePath = (v: string): string | null =>
  v.startsWith('/') && ATTRIBUTE_VALUE.test(v)
    ? null
    : "must start with '/' and hold no ';', space or control character";
const cookieDomain = (v: string): string | null =>
  ATTRIBUTE_VALUE.test(v) ? null : "must hold no ';', space or control character";
const storage = (v: string): string | null =>
  v === 'kong'
    ? "storage 'kong' needs a database on the data plane's request path; Gatehouse data planes have none: use 'cookie'"
    : null;

const timeout = (d: number, description: string) =>
  t.number({ required: true, default: d, between: [0, MAX_TIMEOUT], description });

const headers = t.set(t.string({ one_of: SESSION_HEADERS }), {
  description: 'List of information to include, as headers.',
});

/**
 * Kong's session schema (kong/plugins/session/schema.lua), field for field. Differences, each on
 * purpose (docs/plugins.md, docs/security.md): `secret` is required and at least 32 characters
 * (Kong makes a random default per node); `storage: kong` is refused (no database on a DP);
 * timeouts are between 0 and 400 days; cookie name, path and domain are checked so a config
 * cannot inject Set-Cookie attributes. The deprecated shorthands (`cookie_lifetime`, …) are not
 * accepted.
 */
const sessionSchema = t.record(
  {
    secret: t.string({
      required: true,
      len_min: SECRET_MIN_LENGTH,
      description:
        'The secret the cookie encryption key is derived from; the same on every data plane. At least 32 characters.',
    }),
    storage: t.string({
      required: true,
      default: 'cookie',
      one_of: ['cookie', 'kong'],
      custom_validator: storage,
      description: "Where the session data is stored: 'cookie' (encrypted in the cookie itself).",
    }),
    audience: t.string({
      required: true,
      default: 'default',
      description: 'The session audience, the intended target application.',
    }),
    idling_timeout: timeout(900, 'The session cookie idle time, in seconds (0 disables it).'),
    rolling_timeout: timeout(
      3600,
      'How long the session can be used until it needs to be renewed, in seconds.',
    ),
    absolute_timeout: timeout(
      86400,
      'How long the session can be used until it is no longer valid, in seconds.',
    ),
    stale_ttl: timeout(10, 'How long an old cookie stays usable after it was replaced, in seconds.'),
    cookie_name: t.string({
      required: true,
      default: 'session',
      custom_validator: cookieName,
      description: 'The name of the cookie.',
    }),
    cookie_path: t.string({
      required: true,
      default: '/',
      custom_validator: cookiePath,
      description: 'The resource in the host where the cookie is available.',
    }),
    cookie_domain: t.string({
      custom_validator: cookieDomain,
      description: 'The domain with which the cookie is intended to be exchanged.',
    }),
    cookie_same_site: t.string({
      required: true,
      default: 'Strict',
      one_of: ['Strict', 'Lax', 'None', 'Default'],
      description: 'Whether and how a cookie may be sent with cross-site requests.',
    }),
    cookie_http_only: t.boolean({ required: true, default: true, description: 'Applies the HttpOnly tag.' }),
    cookie_secure: t.boolean({ required: true, default: true, description: 'Applies the Secure directive.' }),
    remember: t.boolean({ required: true, default: false, description: 'Enables persistent sessions.' }),
    remember_cookie_name: t.string({
      required: true,
      default: 'remember',
      custom_validator: cookieName,
      description: 'Persistent session cookie name.',
    }),
    remember_rolling_timeout: timeout(604800, 'The persistent session rolling timeout window, in seconds.'),
    remember_absolute_timeout: timeout(2592000, 'The persistent session absolute timeout limit, in seconds.'),
    response_headers: headers,
    request_headers: headers,
    read_body_for_logout: t.boolean({ required: true, default: false }),
    logout_methods: t.set(t.string({ one_of: ['GET', 'POST', 'DELETE'] }), {
      default: ['POST', 'DELETE'],
      description: 'A set of HTTP methods that the plugin will respond to.',
    }),
    logout_query_arg: t.string({
      default: 'session_logout',
      description: 'The query argument passed to logout requests.',
    }),
    logout_post_arg: t.string({
      default: 'session_logout',
      description: 'The POST argument passed to logout requests.',
    }),
    hash_subject: t.boolean({ required: true, default: false }),
    store_metadata: t.boolean({ required: true, default: false }),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const sessionSpec = definePluginSpec({
  name: 'session',
  version: '1.0.0',
  priority: 1900,
  noConsumer: true,
  schema: sessionSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type SessionConfig = PluginConfig<typeof sessionSpec.schema>;
