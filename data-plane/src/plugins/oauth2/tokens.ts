/**
 * The oauth2 plugin's tokens: compact JWS (HS256) signed with the instance's first
 * `token_signing_secrets` entry and verified against all of them (by `kid`). Access tokens,
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
}

/** The key id of a secret: the first 16 base64url characters of its SHA-256 (names, never reveals it). */
export function keyId(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 16);
}

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs and verifies tokens with one instance's secrets (built once per snapshot). */
export class TokenKeys {
  private readonly signing: Key;
  private readonly byKid: ReadonlyMap<string, Key>;
  private readonly headers: string;

  constructor(secrets: readonly string[]) {
    const keys = secrets.map((s) => ({ kid: keyId(s), secret: Buffer.from(s) }));
    if (keys.length === 0) throw new Error('oauth2: no token signing secret');
    this.signing = keys[0]!;
    this.byKid = new Map(keys.map((k) => [k.kid, k]));
    this.headers = b64({ alg: 'HS256', typ: 'JWT', kid: this.signing.kid });
  }

  /** A new token id. */
  static jti(): string {
    return randomUUID();
  }

  sign(claims: TokenClaims): string {
    const input = `${this.headers}.${b64(claims)}`;
    const mac = createHmac('sha256', this.signing.secret).update(input).digest('base64url');
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
