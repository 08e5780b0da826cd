/**
 * openid-connect (bearer subset of Kong EE's, priority 1050): an access token (JWT) verified
 * against the issuer's JWKS (jose's remote key set: fetched once, refetched on an unknown `kid`
 * with a cooldown), issuer / audience / scope checks, optional consumer mapping. Works in hybrid
 * mode: the DP only needs to reach the issuer's JWKS URL.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Consumer } from '@gatehouse/shared';
import { definePlugin, type PluginContext } from '../api.js';
import {
  alreadyAuthenticated,
  digest,
  fail,
  skipPreflight,
  unauthorized,
  type AuthFailure,
} from '../runtime/auth.js';
import { findBearer, hideBearer } from '../runtime/bearer.js';
import { respondError } from '../runtime/gateway-errors.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { LRUCache } from 'lru-cache';
import { openidConnectSpec, type OpenidConnectConfig } from './schema.js';

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

interface State {
  readonly conf: OpenidConnectConfig;
  jwks: ReturnType<typeof createRemoteJWKSet> | null;
  jwksPending: Promise<ReturnType<typeof createRemoteJWKSet>> | null;
  readonly verified: LRUCache<string, JWTPayload>;
  readonly findConsumer: (value: string) => Consumer | undefined;
  readonly challenge: string;
}

async function discoverJwks(state: State): Promise<ReturnType<typeof createRemoteJWKSet>> {
  const conf = state.conf;
  let uri = conf.jwks_uri;
  if (uri === null) {
    const res = await fetch(`${conf.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(conf.timeout),
    });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    const doc = (await res.json()) as { jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    uri = doc.jwks_uri;
  }
  return createRemoteJWKSet(new URL(uri), {
    timeoutDuration: conf.timeout,
    cooldownDuration: conf.rediscovery_lifetime * 1000,
    cacheMaxAge: 600_000,
  });
}

function jwksOf(state: State): Promise<ReturnType<typeof createRemoteJWKSet>> {
  if (state.jwks !== null) return Promise.resolve(state.jwks);
  state.jwksPending ??= discoverJwks(state).then(
    (j) => (state.jwks = j),
    (e: unknown) => {
      state.jwksPending = null; // retried by the next request
      throw e;
    },
  );
  return state.jwksPending;
}

function claimValues(payload: JWTPayload, names: readonly string[]): string[] {
  for (const n of names) {
    const v = payload[n];
    if (typeof v === 'string') return v.split(' ').filter((x) => x !== '');
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  }
  return [];
}

/** Checks that run on every use of a (possibly cached) token. */
function check(state: State, payload: JWTPayload): AuthFailure | null {
  const conf = state.conf;
  const now = Date.now() / 1000;
  if (conf.verify_claims) {
    if (typeof payload.exp === 'number' && payload.exp + conf.leeway <= now)
      return unauthorized('Unauthorized', 'expired');
    if (typeof payload.nbf === 'number' && payload.nbf - conf.leeway > now)
      return unauthorized('Unauthorized', 'not yet valid');
  }
  if (conf.audience_required !== null && conf.audience_required.length > 0) {
    const aud = claimValues(payload, conf.audience_claim);
    if (!conf.audience_required.some((a) => aud.includes(a)))
      return { status: 403, message: 'Forbidden', reason: 'audience' };
  }
  if (conf.scopes_required !== null && conf.scopes_required.length > 0) {
    const scopes = new Set(claimValues(payload, conf.scopes_claim));
    const ok = conf.scopes_required.some((alt) =>
      alt
        .split(' ')
        .filter((s) => s !== '')
        .every((s) => scopes.has(s)),
    );
    if (!ok) return { status: 403, message: 'Forbidden', reason: 'scopes' };
  }
  return null;
}

function accept(ctx: PluginContext, state: State, payload: JWTPayload): void {
  const conf = state.conf;
  const failure = check(state, payload);
  if (failure !== null) return fail(ctx, conf.anonymous, failure, 'openid-connect');
  let consumer: Consumer | null = null;
  if (conf.consumer_claim !== null && conf.consumer_claim.length > 0) {
    const value = conf.consumer_claim.map((c) => payload[c]).find((v): v is string => typeof v === 'string');
    consumer = (value === undefined ? undefined : state.findConsumer(value)) ?? null;
    if (consumer === null && !conf.consumer_optional) {
      return fail(
        ctx,
        conf.anonymous,
        { status: 403, message: 'Forbidden', reason: 'no consumer for token' },
        'openid-connect',
      );
    }
  }
  ctx.shared.authenticated_jwt_token = payload;
  ctx.authenticate(consumer, {
    id: typeof payload.jti === 'string' ? payload.jti : (payload.sub ?? ''),
    type: 'openid-connect',
    identifier: payload.sub ?? null,
    consumerId: consumer?.id ?? null,
  });
}

export default definePlugin({
  ...openidConnectSpec,
  init(conf, { snapshot }): State {
    const byField = conf.consumer_by;
    const consumers = snapshot.config.consumers;
    const maps = byField.map((f) => new Map(consumers.filter((c) => c[f] !== null).map((c) => [c[f]!, c])));
    return {
      conf,
      jwks: null,
      jwksPending: null,
      // ttlResolution 0: the clock is read at each lookup (an entry is never used past its expiry).
      verified: new LRUCache<string, JWTPayload>({ max: 10_000, ttlResolution: 0 }),
      findConsumer: (v) => {
        for (const m of maps) {
          const c = m.get(v);
          if (c !== undefined) return c;
        }
        return undefined;
      },
      challenge: conf.realm === null ? 'Bearer' : `Bearer realm="${conf.realm}"`,
    };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (skipPreflight(ctx, conf.run_on_preflight)) return;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    const found = findBearer(
      ctx,
      conf.bearer_token_param_type.includes('header'),
      conf.bearer_token_param_type.includes('query'),
    );
    if (found === null) {
      return fail(
        ctx,
        conf.anonymous,
        unauthorized('Unauthorized', 'no token', { 'WWW-Authenticate': state.challenge }),
        'openid-connect',
      );
    }
    if (conf.hide_credentials) hideBearer(ctx, found);
    const d = digest(found.token);
    const cached = state.verified.get(d);
    if (cached !== undefined) return accept(ctx, state, cached);
    const invalid = {
      'WWW-Authenticate': `${state.challenge}${conf.realm === null ? ' ' : ', '}error="invalid_token"`,
    };
    return jwksOf(state).then(
      (jwks) =>
        jwtVerify(found.token, jwks, {
          issuer: conf.issuers_allowed ?? conf.issuer,
          algorithms: ALGORITHMS,
          clockTolerance: conf.leeway,
        }).then(
          ({ payload }) => {
            const ttl =
              typeof payload.exp === 'number' ? Math.floor(payload.exp * 1000 - Date.now()) : 300_000;
            // lru-cache reads a ttl of 0 as "forever": a token already past its exp is not kept.
            if (ttl >= 1) state.verified.set(d, payload, { ttl: Math.min(ttl, 300_000) });
            accept(ctx, state, payload);
          },
          (e: unknown) =>
            fail(
              ctx,
              conf.anonymous,
              unauthorized(
                'Unauthorized',
                e instanceof joseErrors.JOSEError ? e.code : 'verify failed',
                invalid,
              ),
              'openid-connect',
            ),
        ),
      (e: unknown) => {
        ctx.log.error({ err: e, issuer: conf.issuer }, 'openid-connect: cannot load the issuer keys');
        respondError(ctx, ProxyErrorCode.INTERNAL);
      },
    );
  },
});
