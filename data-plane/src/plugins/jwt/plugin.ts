/**
 * jwt (Kong's, priority 1450): a JWT whose `key_claim_name` claim names a consumer's jwt secret;
 * the algorithm is the credential's (never the token's: `alg: none` and HS/RS confusion fail),
 * the signature is checked with `jose`. Verified tokens are remembered per snapshot (bounded LRU
 * keyed by the token's SHA-256), and their time claims are re-checked on every use.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import type { Consumer, JwtSecret } from '@gatehouse/shared';
import { definePlugin, type PluginContext, type SnapshotView } from '../api.js';
import { alreadyAuthenticated, digest, fail, skipPreflight, unauthorized } from '../runtime/auth.js';
import { LRUCache } from 'lru-cache';
import { jwtSpec, type JwtConfig } from './schema.js';
import { decodeToken, type DecodedToken } from './decode.js';
import { findTokens } from './tokens.js';

interface SecretEntry {
  readonly secret: JwtSecret;
  readonly consumer: Consumer;
}

function secretIndex(snapshot: SnapshotView): Map<string, SecretEntry> {
  return snapshot.memo('jwt:secrets', () => {
    const m = new Map<string, SecretEntry>();
    for (const s of snapshot.config.jwt_secrets) {
      const consumer = snapshot.consumer(s.consumer.id);
      if (consumer !== undefined) m.set(s.key, { secret: s, consumer });
    }
    return m;
  });
}

interface Verified {
  readonly entry: SecretEntry;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly token: string;
}

interface State {
  readonly conf: JwtConfig;
  readonly secrets: Map<string, SecretEntry>;
  /** Imported verification keys per jwt secret id (built on first use). */
  readonly keys: Map<string, Uint8Array | KeyObject | null>;
  readonly verified: LRUCache<string, Verified>;
  readonly base: string;
  readonly withError: string;
}

const VERIFIED_MAX = 10_000;

function keyFor(state: State, s: JwtSecret): Uint8Array | KeyObject | null {
  let key = state.keys.get(s.id);
  if (key !== undefined) return key;
  try {
    if (s.algorithm.startsWith('HS')) {
      if (s.secret === null) key = null;
      else
        key = state.conf.secret_is_base64
          ? new Uint8Array(Buffer.from(s.secret, 'base64'))
          : new TextEncoder().encode(s.secret);
    } else {
      key = s.rsa_public_key === null ? null : createPublicKey(s.rsa_public_key);
    }
  } catch {
    key = null;
  }
  state.keys.set(s.id, key);
  return key;
}

const TIME_CLAIMS = ['exp', 'nbf'] as const;
type TimeClaim = (typeof TIME_CLAIMS)[number];

/** Kong's check of one registered claim (jwt_parser.lua `registered_claims`), or null. */
function timeClaimError(claim: TimeClaim, value: unknown, now: number): string | null {
  if (typeof value !== 'number') return 'must be a number';
  if (claim === 'exp') return value <= now ? 'token expired' : null;
  return value > now ? 'token not valid yet' : null;
}

/**
 * Kong's `verify_registered_claims` then `check_maximum_expiration`: every failing claim is
 * reported (`{"nbf":"must be a number","exp":"must be a number"}`), the maximum expiration only
 * once they pass. Ours also checks an `exp`/`nbf` the token carries when `claims_to_verify` does
 * not name it (docs/plugins.md, a difference from Kong).
 */
export function claimErrors(
  conf: Pick<JwtConfig, 'claims_to_verify' | 'maximum_expiration'>,
  claims: Readonly<Record<string, unknown>>,
  now: number,
): Record<string, string> | null {
  let errors: Record<string, string> | null = null;
  const required = conf.claims_to_verify ?? [];
  const checked = [
    ...required,
    ...TIME_CLAIMS.filter((c) => !required.includes(c) && Object.hasOwn(claims, c)),
  ];
  for (const claim of checked) {
    const error = timeClaimError(claim, Object.hasOwn(claims, claim) ? claims[claim] : undefined, now);
    if (error !== null) (errors ??= {})[claim] = error;
  }
  if (errors !== null) return errors;
  if (conf.maximum_expiration > 0) {
    const exp = claims.exp;
    if (typeof exp !== 'number' || exp - now > conf.maximum_expiration)
      return { exp: 'exceeds maximum allowed expiration' };
  }
  return null;
}

function accept(ctx: PluginContext, state: State, v: Verified): void {
  const errors = claimErrors(state.conf, v.claims, Date.now() / 1000);
  if (errors !== null) {
    // As Kong: the claim errors are the whole body, with WWW-Authenticate.
    fail(
      ctx,
      state.conf.anonymous,
      {
        status: 401,
        message: errors,
        headers: { 'WWW-Authenticate': state.withError },
        reason: 'claims',
      },
      'jwt',
    );
    return;
  }
  // Kong's kong.ctx.shared.authenticated_jwt_token: the token as presented.
  ctx.shared.authenticated_jwt_token = v.token;
  ctx.authenticate(v.entry.consumer, {
    id: v.entry.secret.id,
    type: 'jwt',
    identifier: v.entry.secret.key,
    consumerId: v.entry.consumer.id,
  });
}

/** A field of the claims, else of the header (Kong: `claims[name] or header[name]`), own keys only. */
function keyClaim(token: DecodedToken, name: string): unknown {
  const fromClaims = Object.hasOwn(token.claims, name) ? token.claims[name] : undefined;
  if (fromClaims !== undefined && fromClaims !== null && fromClaims !== false) return fromClaims;
  return Object.hasOwn(token.header, name) ? token.header[name] : undefined;
}

async function verify(ctx: PluginContext, state: State, token: string, tokenDigest: string): Promise<void> {
  const conf = state.conf;
  const bad = (message: string, reason: string) =>
    fail(ctx, conf.anonymous, unauthorized(message, reason, { 'WWW-Authenticate': state.withError }), 'jwt');
  const decoded = decodeToken(token);
  if (typeof decoded === 'string') {
    bad(`Bad token; ${decoded}`, 'malformed token');
    return;
  }
  const keyName = keyClaim(decoded, conf.key_claim_name);
  if (keyName === undefined || keyName === null || keyName === false) {
    bad(`No mandatory '${conf.key_claim_name}' in claims`, 'no key claim');
    return;
  }
  if (typeof keyName !== 'string' || keyName === '') {
    bad(`Invalid '${conf.key_claim_name}' in claims`, 'invalid key claim');
    return;
  }
  const entry = state.secrets.get(keyName);
  if (entry === undefined) {
    bad(`No credentials found for given '${conf.key_claim_name}'`, 'unknown key');
    return;
  }
  const alg = entry.secret.algorithm;
  if (decoded.header.alg !== alg) {
    bad('Invalid algorithm', `token alg ${String(decoded.header.alg)} != credential alg ${alg}`);
    return;
  }
  const key = keyFor(state, entry.secret);
  if (key === null) {
    bad('Invalid key/secret', 'credential key unusable');
    return;
  }
  try {
    // The signature only: time claims are checked by claimErrors (Kong's messages).
    await compactVerify(token, key, { algorithms: [alg] });
  } catch (e) {
    bad('Invalid signature', e instanceof joseErrors.JOSEError ? e.code : 'verify failed');
    return;
  }
  const v: Verified = { entry, claims: decoded.claims, token };
  state.verified.set(tokenDigest, v);
  accept(ctx, state, v);
}

export default definePlugin({
  ...jwtSpec,
  init(conf, { snapshot }): State {
    const base = conf.realm === null ? 'Bearer' : `Bearer realm="${conf.realm}"`;
    return {
      conf,
      secrets: secretIndex(snapshot),
      keys: new Map(),
      verified: new LRUCache<string, Verified>({ max: VERIFIED_MAX }),
      base,
      withError: conf.realm === null ? 'Bearer error="invalid_token"' : `${base}, error="invalid_token"`,
    };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (skipPreflight(ctx, conf.run_on_preflight)) return;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    const tokens = findTokens(ctx, conf);
    if (tokens.length === 0) {
      fail(
        ctx,
        conf.anonymous,
        unauthorized('Unauthorized', 'no token', { 'WWW-Authenticate': state.base }),
        'jwt',
      );
      return;
    }
    if (tokens.length > 1) {
      fail(
        ctx,
        conf.anonymous,
        unauthorized('Multiple tokens provided', 'several tokens', { 'WWW-Authenticate': state.withError }),
        'jwt',
      );
      return;
    }
    const token = tokens[0]!;
    const d = digest(token);
    const cached = state.verified.get(d);
    if (cached !== undefined) {
      accept(ctx, state, cached);
      return;
    }
    return verify(ctx, state, token, d);
  },
});
