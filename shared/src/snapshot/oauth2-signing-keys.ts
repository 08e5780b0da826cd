/**
 * The oauth2 token signing keys in a snapshot (`_oauth2_signing_keys`): the control plane makes,
 * rotates and retires them (control-plane/src/oauth2/signing-keys.ts) and adds them to the config
 * it sends, never to what the Admin API, exports or the config history show. A data plane's
 * oauth2 plugin signs and verifies tokens with them when an instance has no
 * `token_signing_secrets` (docs/plugins.md, oauth2).
 *
 * The member is there in a CP's snapshot whenever an oauth2 instance has no secrets of its own (an
 * empty list before the first key is made), so its absence then tells a DB-less config apart. Keys are listed by `not_before`, then kid, so every
 * CP replica encodes the same bytes.
 */
import type { DigestedConfig, GatehouseConfig, OAuth2SigningKeys } from '../config/model.js';

/** One stored key (the CP's row, without timestamps). */
export interface OAuth2SigningKeyRecord {
  readonly kid: string;
  /** 32 random bytes, base64url. */
  readonly secret: string;
  /** Unix seconds. */
  readonly notBefore: number;
}

/** Kong's authorization code lifetime (seconds): the shortest a key must outlive its last code. */
export const OAUTH2_CODE_TTL_SECONDS = 300;

type PluginRow = GatehouseConfig['plugins'][number];

/** Does this oauth2 instance sign with the control plane's keys (it has no `token_signing_secrets`)? */
export function usesControlPlaneKeys(plugin: PluginRow): boolean {
  if (plugin.name !== 'oauth2') return false;
  const secrets = (plugin.config as Record<string, unknown> | null)?.token_signing_secrets;
  return !Array.isArray(secrets) || secrets.length === 0;
}

/** Does any oauth2 instance of `config` sign with the control plane's keys? */
export const needsControlPlaneKeys = (config: GatehouseConfig): boolean =>
  config.plugins.some(usesControlPlaneKeys);

const num = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;

/**
 * The longest a token signed with the control plane's keys can stay valid (seconds), over every
 * instance that uses them: access tokens (`token_expiration`), refresh tokens
 * (`refresh_token_ttl`, where a grant issues them) and codes (300 s). Null when one never expires
 * (0): a key that signed such a token is then never retired.
 */
export function controlPlaneTokenLifetime(config: GatehouseConfig): number | null {
  let longest = OAUTH2_CODE_TTL_SECONDS;
  for (const p of config.plugins) {
    if (!usesControlPlaneKeys(p)) continue;
    const c: Record<string, unknown> = p.config ?? {};
    const access = num(c.token_expiration, 7200);
    if (access === 0) return null;
    longest = Math.max(longest, access);
    if (c.enable_authorization_code === true || c.enable_password_grant === true) {
      const refresh = num(c.refresh_token_ttl, 1_209_600);
      if (refresh === 0) return null;
      longest = Math.max(longest, refresh);
    }
  }
  return Math.ceil(longest);
}

/**
 * `config` with `keys` as `_oauth2_signing_keys` when an oauth2 instance needs them; unchanged
 * otherwise, so a config a DB-less DP could serve encodes the same there and from a CP. The
 * input is not modified.
 */
export function withOAuth2SigningKeys<C extends GatehouseConfig>(
  config: C,
  keys: readonly OAuth2SigningKeyRecord[],
): C & Pick<DigestedConfig, '_oauth2_signing_keys'> {
  if (!needsControlPlaneKeys(config)) return config;
  const sorted = [...keys].sort((a, b) => a.notBefore - b.notBefore || (a.kid < b.kid ? -1 : 1));
  const member: OAuth2SigningKeys = {
    keys: sorted.map((k) => ({ kid: k.kid, secret: k.secret, not_before: k.notBefore })),
  };
  return { ...config, _oauth2_signing_keys: member };
}
