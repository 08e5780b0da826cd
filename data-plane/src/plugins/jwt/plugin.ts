/**
 * jwt (Kong's, priority 1450): a JWT whose `key_claim_name` claim names a consumer's jwt secret;
 * the algorithm is the credential's (never the token's: `alg: none` and HS/RS confusion fail),
 * the signature is checked with `jose`. Verified tokens are remembered per snapshot (bounded LRU
 * keyed by the token's SHA-256), and their time claims are re-checked on every use.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Consumer, JwtSecret } from '@gatehouse/shared';
import { definePlugin, type PluginContext, type SnapshotView } from '../api.js';
import {
  alreadyAuthenticated,
  digest,
  fail,
  skipPreflight,
  unauthorized,
  type AuthFailure,
} from '../runtime/auth.js';
import { Lru } from '../runtime/lru.js';
import { jwtSpec, type JwtConfig } from './schema.js';
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
  readonly payload: JWTPayload;
}

interface State {
  readonly conf: JwtConfig;
  readonly secrets: Map<string, SecretEntry>;
  /** Imported verification keys per jwt secret id (built on first use). */
  readonly keys: Map<string, Uint8Array | KeyObject | null>;
  readonly verified: Lru<Verified>;
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

/** exp / nbf / maximum_expiration (Kong's verify_registered_claims + check_maximum_expiration). */
function claimFailure(conf: JwtConfig, payload: JWTPayload, now: number): AuthFailure | null {
  const required = conf.claims_to_verify ?? [];
  for (const claim of ['exp', 'nbf'] as const) {
    const v = payload[claim];
    if (v === undefined) {
      if (required.includes(claim))
        return { status: 401, message: { [claim]: 'must be a number' }, reason: `${claim} missing` };
      continue;
    }
    if (typeof v !== 'number')
      return { status: 401, message: { [claim]: 'must be a number' }, reason: `${claim} not a number` };
    if (claim === 'exp' && v <= now)
      return { status: 401, message: { exp: 'token expired' }, reason: 'expired' };
    if (claim === 'nbf' && v > now)
      return { status: 401, message: { nbf: 'token not valid yet' }, reason: 'not yet valid' };
  }
  if (
    conf.maximum_expiration > 0 &&
    typeof payload.exp === 'number' &&
    payload.exp > now + conf.maximum_expiration
  ) {
    return { status: 401, message: { exp: 'exceeds maximum allowed expiration' }, reason: 'exp too far' };
  }
  return null;
}

function accept(ctx: PluginContext, state: State, v: Verified): void {
  const failure = claimFailure(state.conf, v.payload, Date.now() / 1000);
  if (failure !== null) {
    fail(ctx, state.conf.anonymous, failure, 'jwt');
    return;
  }
  ctx.shared.authenticated_jwt_token = v.payload;
  ctx.authenticate(v.entry.consumer, {
    id: v.entry.secret.id,
    type: 'jwt',
    identifier: v.entry.secret.key,
    consumerId: v.entry.consumer.id,
  });
}

async function verify(ctx: PluginContext, state: State, token: string, tokenDigest: string): Promise<void> {
  const conf = state.conf;
  const bad = (message: string, reason: string) =>
    fail(ctx, conf.anonymous, unauthorized(message, reason, { 'WWW-Authenticate': state.withError }), 'jwt');
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: JWTPayload;
  try {
    if (token.split('.').length !== 3) throw new Error('segments');
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    bad('Bad token; invalid serialized token', 'malformed token');
    return;
  }
  const keyName =
    (claims as Record<string, unknown>)[conf.key_claim_name] ??
    (header as Record<string, unknown>)[conf.key_claim_name];
  if (keyName === undefined || keyName === null) {
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
  if (header.alg !== alg) {
    bad('Invalid algorithm', `token alg ${String(header.alg)} != credential alg ${alg}`);
    return;
  }
  const key = keyFor(state, entry.secret);
  if (key === null) {
    bad('Invalid key/secret', 'credential key unusable');
    return;
  }
  try {
    // Time claims are checked by claimFailure (Kong's messages), not by jose.
    await jwtVerify(token, key, {
      algorithms: [alg],
      currentDate: new Date(0),
      clockTolerance: Number.MAX_SAFE_INTEGER,
    });
  } catch (e) {
    bad('Invalid signature', e instanceof joseErrors.JOSEError ? e.code : 'verify failed');
    return;
  }
  const v: Verified = { entry, payload: claims };
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
      verified: new Lru<Verified>(VERIFIED_MAX),
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
