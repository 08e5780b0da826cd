/**
 * The oauth2 plugin's tokens: compact JWS (HS256) signed with the instance's first
 * `token_signing_secrets` entry, or with the control plane's current key from the snapshot, and
 * verified against every key of the set (by `kid`; an unknown kid is not ours). Access tokens,
 * refresh tokens and authorization codes are all such tokens, told apart by the `use` claim, so
 * any data plane holding the snapshot verifies what another issued, with no store on the path.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export type TokenUse = 'access' | 'refresh' | 'code';

/** The claims of every token (docs/plugins.md, oauth2: token format). */
export interface TokenClaims {
  /** `gatehouse-oauth2`. */
  readonly iss: string;
  /** The oauth2 credential's id. */
  readonly sub: string;
  /** The service id the token is for, or `*` for a global_credentials token. */
  readonly aud: string;
  readonly client_id: string;
  readonly use: TokenUse;
  readonly jti: string;
  readonly iat: number;
  /** Absent when the token never expires (token_expiration 0). */
  readonly exp?: number;
  readonly scope?: string;
  readonly authenticated_userid?: string;
  /** Codes: the redirect_uri the code was issued for, and the PKCE challenge. */
  readonly redirect_uri?: string;
  readonly code_challenge?: string;
  readonly code_challenge_method?: 'S256' | 'plain';
  /** Refresh tokens: the jti and expiry of the access token issued with it. */
  readonly access_jti?: string;
  readonly access_exp?: number;
}

export const ISSUER = 'gatehouse-oauth2';
/** Longest token a client may present (a larger one is not ours). */
const MAX_TOKEN_LENGTH = 8192;

interface Key {
  readonly kid: string;
  readonly secret: Buffer;
  /** Unix seconds from which it signs (0: operator secrets, the first of which signs). */
  readonly notBefore: number;
  /** The encoded JWS header of the tokens it signs. */
  readonly header: string;
}

/** The key id of a secret: the first 16 base64url characters of its SHA-256 (names, never reveals it). */
export function keyId(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 16);
}

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Most keys a snapshot's `_oauth2_signing_keys` may list (more are ignored). */
export const MAX_SNAPSHOT_KEYS = 64;
/** Shortest CP key secret accepted (bytes). */
const MIN_KEY_BYTES = 32;
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL = /^[A-Za-z0-9_-]{43,512}$/;

/** Thrown by `sign` when there is no key to sign with (the CP has not made one yet). */
export class NoSigningKeyError extends Error {}

/**
 * Signs and verifies tokens with one instance's keys (built once per snapshot): its own
 * `token_signing_secrets`, or the control plane's keys from the snapshot (shared by every
 * instance without secrets). Every key listed verifies; the newest whose `not_before` has come
 * signs (ties: the first listed), so a key the CP just made is held by every DP before any DP
 * signs with it.
 */
export class TokenKeys {
  private readonly keys: readonly Key[];
  private readonly byKid: ReadonlyMap<string, Key>;

  private constructor(keys: { kid: string; secret: Buffer; notBefore: number }[]) {
    this.keys = keys.map((k) => ({ ...k, header: b64({ alg: 'HS256', typ: 'JWT', kid: k.kid }) }));
    this.byKid = new Map(this.keys.map((k) => [k.kid, k]));
  }

  /** An instance's `token_signing_secrets`: the first signs, every one verifies. */
  static fromSecrets(secrets: readonly string[]): TokenKeys {
    if (secrets.length === 0) throw new Error('oauth2: no token signing secret');
    return new TokenKeys(secrets.map((s) => ({ kid: keyId(s), secret: Buffer.from(s), notBefore: 0 })));
  }

  /**
   * The control plane's keys (a snapshot's `_oauth2_signing_keys`); entries that are not well
   * formed are left out, so hostile input yields fewer keys, never a crash.
   */
  static fromSnapshot(member: unknown): TokenKeys {
    const list = (member as { keys?: unknown } | null)?.keys;
    const keys: { kid: string; secret: Buffer; notBefore: number }[] = [];
    const seen = new Set<string>();
    if (Array.isArray(list))
      for (const e of list.slice(0, MAX_SNAPSHOT_KEYS) as unknown[]) {
        if (typeof e !== 'object' || e === null) continue;
        const { kid, secret, not_before } = e as Record<string, unknown>;
        if (typeof kid !== 'string' || !KID.test(kid) || seen.has(kid)) continue;
        if (typeof secret !== 'string' || !BASE64URL.test(secret)) continue;
        if (typeof not_before !== 'number' || !Number.isSafeInteger(not_before) || not_before < 0) continue;
        const bytes = Buffer.from(secret, 'base64url');
        if (bytes.length < MIN_KEY_BYTES) continue;
        seen.add(kid);
        keys.push({ kid, secret: bytes, notBefore: not_before });
      }
    return new TokenKeys(keys);
  }

  /** A new token id. */
  static jti(): string {
    return randomUUID();
  }

  /** False when there is no key at all (tokens can be neither issued nor verified). */
  get canSign(): boolean {
    return this.keys.length > 0;
  }

  /** The kids known (tests, logs: never the secrets). */
  get kids(): string[] {
    return this.keys.map((k) => k.kid);
  }

  /** The key that signs at `now`: the newest started one, else (none started yet) the earliest. */
  signingKey(now: number = nowSeconds()): Key {
    let best: Key | undefined;
    for (const k of this.keys) {
      if (k.notBefore > now) continue;
      if (best === undefined || k.notBefore > best.notBefore) best = k;
    }
    if (best !== undefined) return best;
    for (const k of this.keys) if (best === undefined || k.notBefore < best.notBefore) best = k;
    if (best === undefined) throw new NoSigningKeyError('oauth2: no token signing key');
    return best;
  }

  sign(claims: TokenClaims, now: number = nowSeconds()): string {
    const key = this.signingKey(now);
    const input = `${key.header}.${b64(claims)}`;
    const mac = createHmac('sha256', key.secret).update(input).digest('base64url');
    return `${input}.${mac}`;
  }

  /**
   * The claims of `token` when it is one of ours (known kid, HS256, signature matches) of the
   * `use` asked for; null otherwise. Expiry and revocation are the caller's to check.
   */
  verify(token: string, use: TokenUse): TokenClaims | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) return null;
    const header = parseJson(token.slice(0, first));
    if (header === null || header.alg !== 'HS256' || typeof header.kid !== 'string') return null;
    const key = this.byKid.get(header.kid);
    if (key === undefined) return null;
    const expected = createHmac('sha256', key.secret).update(token.slice(0, second)).digest();
    const presented = Buffer.from(token.slice(second + 1), 'base64url');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
    const claims = parseJson(token.slice(first + 1, second));
    if (claims === null || claims.use !== use || claims.iss !== ISSUER) return null;
    if (typeof claims.sub !== 'string' || typeof claims.jti !== 'string' || typeof claims.aud !== 'string')
      return null;
    if (claims.exp !== undefined && typeof claims.exp !== 'number') return null;
    return claims as unknown as TokenClaims;
  }
}

function parseJson(segment: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return null;
  try {
    const v = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Seconds since the epoch, whole. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** True when the token has expired (a token without `exp` never does). */
export const expired = (claims: { exp?: number }, now: number): boolean =>
  claims.exp !== undefined && claims.exp <= now;
