/**
 * The configuration model shared by the control plane (storage, Admin API, snapshot builder)
 * and the data plane (router, proxy). Field names, types and defaults are Kong 3.x's, so a
 * Kong user's entities carry over unchanged. Timestamps are Unix seconds, as Kong returns them.
 */
import type { EntityLists } from '../entities/registry.js';

export type ServiceProtocol =
  'http' | 'https' | 'grpc' | 'grpcs' | 'tcp' | 'tls' | 'tls_passthrough' | 'udp' | 'ws' | 'wss';
export type RouteProtocol =
  'http' | 'https' | 'grpc' | 'grpcs' | 'tcp' | 'tls' | 'tls_passthrough' | 'udp' | 'ws' | 'wss';

export interface ForeignKey {
  id: string;
}

export interface Service {
  id: string;
  name: string | null;
  protocol: ServiceProtocol;
  host: string;
  port: number;
  path: string | null;
  retries: number;
  connect_timeout: number;
  write_timeout: number;
  read_timeout: number;
  enabled: boolean;
  tags: string[] | null;
  client_certificate: ForeignKey | null;
  tls_verify: boolean | null;
  tls_verify_depth: number | null;
  ca_certificates: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Route {
  id: string;
  name: string | null;
  protocols: RouteProtocol[];
  methods: string[] | null;
  hosts: string[] | null;
  paths: string[] | null;
  /** Header name (lower-case) -> accepted values; a value starting with `~*` is a regex. */
  headers: Record<string, string[]> | null;
  snis: string[] | null;
  sources: { ip?: string; port?: number }[] | null;
  destinations: { ip?: string; port?: number }[] | null;
  regex_priority: number;
  strip_path: boolean;
  path_handling: 'v0' | 'v1';
  preserve_host: boolean;
  https_redirect_status_code: 301 | 302 | 307 | 308 | 426;
  request_buffering: boolean;
  response_buffering: boolean;
  service: ForeignKey | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export type UpstreamAlgorithm = 'round-robin' | 'consistent-hashing' | 'least-connections' | 'latency';
export type HashOn = 'none' | 'consumer' | 'ip' | 'header' | 'cookie' | 'path' | 'query_arg' | 'uri_capture';

export interface ActiveHealthcheck {
  type: 'http' | 'https' | 'tcp' | 'grpc' | 'grpcs';
  timeout: number;
  concurrency: number;
  http_path: string;
  https_verify_certificate: boolean;
  https_sni: string | null;
  headers: Record<string, string[]> | null;
  healthy: { interval: number; http_statuses: number[]; successes: number };
  unhealthy: {
    interval: number;
    http_statuses: number[];
    tcp_failures: number;
    timeouts: number;
    http_failures: number;
  };
}

export interface PassiveHealthcheck {
  type: 'http' | 'https' | 'tcp' | 'grpc' | 'grpcs';
  healthy: { http_statuses: number[]; successes: number };
  unhealthy: { http_statuses: number[]; tcp_failures: number; timeouts: number; http_failures: number };
}

export interface Upstream {
  id: string;
  name: string;
  algorithm: UpstreamAlgorithm;
  hash_on: HashOn;
  hash_fallback: HashOn;
  hash_on_header: string | null;
  hash_fallback_header: string | null;
  hash_on_cookie: string | null;
  hash_on_cookie_path: string;
  hash_on_query_arg: string | null;
  hash_fallback_query_arg: string | null;
  hash_on_uri_capture: string | null;
  hash_fallback_uri_capture: string | null;
  slots: number;
  healthchecks: { active: ActiveHealthcheck; passive: PassiveHealthcheck; threshold: number };
  host_header: string | null;
  client_certificate: ForeignKey | null;
  use_srv_name: boolean;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Target {
  id: string;
  upstream: ForeignKey;
  /** host:port (port defaults to 8000, as Kong). */
  target: string;
  /** 0-65535; 0 disables the target. */
  weight: number;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Consumer {
  id: string;
  username: string | null;
  custom_id: string | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface ConsumerGroup {
  id: string;
  name: string;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Membership of a consumer in a consumer group (Kong's consumer_group_consumers). */
export interface ConsumerGroupConsumer {
  /** Deterministic: derived from the pair, so the same membership has the same id everywhere. */
  id: string;
  consumer_group: ForeignKey;
  consumer: ForeignKey;
  created_at: number;
}

export type PluginProtocol =
  'grpc' | 'grpcs' | 'http' | 'https' | 'tcp' | 'tls' | 'tls_passthrough' | 'udp' | 'ws' | 'wss';

export interface Plugin {
  id: string;
  name: string;
  instance_name: string | null;
  /** Validated against the plugin's schema, defaults filled in. */
  config: Record<string, unknown>;
  protocols: PluginProtocol[];
  enabled: boolean;
  service: ForeignKey | null;
  route: ForeignKey | null;
  consumer: ForeignKey | null;
  consumer_group: ForeignKey | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Certificate {
  id: string;
  /** PEM */
  cert: string;
  /** PEM private key. Never returned by list endpoints. */
  key: string;
  cert_alt: string | null;
  key_alt: string | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface Sni {
  id: string;
  /** Host name, may start with a wildcard (`*.example.com`). */
  name: string;
  certificate: ForeignKey;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface CaCertificate {
  id: string;
  cert: string;
  cert_digest: string;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Kong's key_sets: a named group of keys. */
export interface KeySet {
  id: string;
  name: string | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Kong's keys: JWK (a JSON string) or PEM material, optionally in a key set. */
export interface Key {
  id: string;
  set: ForeignKey | null;
  name: string | null;
  kid: string;
  jwk: string | null;
  pem: { private_key: string | null; public_key: string | null } | null;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

/** Kong's vaults (sm_vaults): a secret backend configuration, referenced as `{vault://<prefix>/…}`. */
export interface Vault {
  id: string;
  prefix: string;
  name: string;
  description: string | null;
  config: Record<string, unknown>;
  tags: string[] | null;
  created_at: number;
  updated_at: number;
}

export interface KeyAuthCredential {
  id: string;
  consumer: ForeignKey;
  key: string;
  /** Seconds to live from created_at; null = forever. */
  ttl: number | null;
  tags: string[] | null;
  created_at: number;
}

export interface BasicAuthCredential {
  id: string;
  consumer: ForeignKey;
  username: string;
  /** scrypt hash (`$scrypt$N$r$p$salt$hash`, base64); the clear password is never stored. */
  password: string;
  tags: string[] | null;
  created_at: number;
}

export interface JwtSecret {
  id: string;
  consumer: ForeignKey;
  /** Matched against the token's `iss` (or the plugin's key_claim_name). */
  key: string;
  /** HMAC secret (HS*); the snapshot carries it, signed and sent only to authenticated DPs. */
  secret: string | null;
  rsa_public_key: string | null;
  algorithm:
    | 'HS256'
    | 'HS384'
    | 'HS512'
    | 'RS256'
    | 'RS384'
    | 'RS512'
    | 'ES256'
    | 'ES384'
    | 'ES512'
    | 'PS256'
    | 'PS384'
    | 'PS512'
    | 'EdDSA';
  tags: string[] | null;
  created_at: number;
}

export interface HmacAuthCredential {
  id: string;
  consumer: ForeignKey;
  username: string;
  secret: string;
  tags: string[] | null;
  created_at: number;
}

/**
 * Kong's oauth2_credentials: an OAuth 2.0 client application of a consumer (the oauth2 plugin).
 * `client_secret` is a scrypt hash (`$scrypt$…`) when `hash_secret` is true.
 */
export interface OAuth2Credential {
  id: string;
  consumer: ForeignKey;
  name: string;
  client_id: string;
  client_secret: string;
  hash_secret: boolean;
  redirect_uris: string[] | null;
  client_type: 'confidential' | 'public';
  tags: string[] | null;
  created_at: number;
}

/**
 * A revoked oauth2 token (access or refresh token, or authorization code), by its `jti`. Sent to
 * every data plane in the snapshot; kept only until the token would have expired (`expires_at`).
 */
export interface OAuth2TokenRevocation {
  id: string;
  credential: ForeignKey;
  jti: string;
  /** Unix seconds: the revoked token's own expiry; the entry is purged after it. */
  expires_at: number;
  tags: string[] | null;
  created_at: number;
}

/** Kong Enterprise's mtls_auth_credentials: a certificate subject name mapped to a consumer. */
export interface MtlsAuthCredential {
  id: string;
  consumer: ForeignKey;
  /** Matched against the certificate's subject CN and SAN names. */
  subject_name: string;
  /** Only certificates verified through this CA certificate match; null = any of the plugin's CAs. */
  ca_certificate: ForeignKey | null;
  tags: string[] | null;
  created_at: number;
}

export interface Acl {
  id: string;
  consumer: ForeignKey;
  group: string;
  tags: string[] | null;
  created_at: number;
}

/**
 * The whole configuration a data plane needs: one list per entity kind of the entity registry
 * (`entities/registry.ts`). Entities are sorted by id so the same configuration always encodes
 * to the same bytes. Key names are Kong's DAO names.
 */
export type GatehouseConfig = EntityLists;

/**
 * A config as data planes receive it (snapshots, a DB-less DP's compiled config): credential
 * secrets are keyed digests, described by `_credential_digests` (`snapshot/credential-digests.ts`).
 * Never in the CP's store or the Admin API.
 */
export type DigestedConfig = GatehouseConfig & {
  _credential_digests?: CredentialDigests;
  /** Snapshots from a CP only (absent in a DB-less DP's config): `snapshot/oauth2-signing-keys.ts`. */
  _oauth2_signing_keys?: OAuth2SigningKeys;
};

/**
 * The control plane's oauth2 token signing keys as a snapshot carries them. Each key signs from
 * `not_before` (Unix seconds) until a newer key's `not_before`, and verifies while it is listed.
 */
export interface OAuth2SigningKeys {
  keys: { kid: string; secret: string; not_before: number }[];
}

/** How the credential secrets of a config were digested (see `withCredentialDigests`). */
export interface CredentialDigests {
  /** key-auth: each `keyauth_credentials[].key` is base64(HMAC-SHA-256(key, clear key)). */
  key_auth: { algorithm: 'hmac-sha256'; key: string };
}

/** Kong's defaults for fields a client may omit. */
export const SERVICE_DEFAULTS = {
  protocol: 'http',
  port: 80,
  path: null,
  retries: 5,
  connect_timeout: 60000,
  write_timeout: 60000,
  read_timeout: 60000,
  enabled: true,
  tags: null,
  client_certificate: null,
  tls_verify: null,
  tls_verify_depth: null,
  ca_certificates: null,
} as const satisfies Partial<Service>;

export const ROUTE_DEFAULTS = {
  protocols: ['http', 'https'],
  methods: null,
  hosts: null,
  paths: null,
  headers: null,
  snis: null,
  sources: null,
  destinations: null,
  regex_priority: 0,
  strip_path: true,
  path_handling: 'v0',
  preserve_host: false,
  https_redirect_status_code: 426,
  request_buffering: true,
  response_buffering: true,
  tags: null,
} as const satisfies Partial<Route>;
