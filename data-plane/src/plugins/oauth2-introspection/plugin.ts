/**
 * oauth2-introspection (Kong EE's, priority 1700): the bearer token is sent to the authorization
 * server's RFC 7662 endpoint; active results are cached (bounded LRU keyed by the token's SHA-256,
 * `ttl` seconds, never past the token's `exp`). The token's claims go upstream as X-Credential-*.
 */
import type { Consumer } from '@gatehouse/shared';
import { definePlugin, type PluginContext } from '../api.js';
import { alreadyAuthenticated, digest, fail, skipPreflight } from '../runtime/auth.js';
import { findBearer, hideBearer } from '../runtime/bearer.js';
import { respondError } from '../runtime/gateway-errors.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { LRUCache } from 'lru-cache';
import { introspectionSpec, type IntrospectionConfig } from './schema.js';

type Introspection = Record<string, unknown> & { active?: unknown };

interface State {
  readonly conf: IntrospectionConfig;
  readonly cache: LRUCache<string, Introspection>;
  readonly byUsername: Map<string, Consumer>;
  readonly byCustomId: Map<string, Consumer>;
}

const MISSING = { error: 'invalid_request', error_description: 'The access token is missing' };
const INVALID = { error: 'invalid_token', error_description: 'The access token is invalid or has expired' };

const FORWARDED: [string, string][] = [
  ['scope', 'X-Credential-Scope'],
  ['client_id', 'X-Credential-Client-ID'],
  ['username', 'X-Credential-Username'],
  ['token_type', 'X-Credential-Token-Type'],
  ['exp', 'X-Credential-Exp'],
  ['iat', 'X-Credential-Iat'],
  ['nbf', 'X-Credential-Nbf'],
  ['sub', 'X-Credential-Sub'],
  ['aud', 'X-Credential-Aud'],
  ['iss', 'X-Credential-Iss'],
  ['jti', 'X-Credential-Jti'],
];

async function introspect(conf: IntrospectionConfig, token: string): Promise<Introspection> {
  const form = new URLSearchParams({ token });
  if (conf.token_type_hint !== null) form.set('token_type_hint', conf.token_type_hint);
  const res = await fetch(conf.introspection_url, {
    method: 'POST',
    headers: {
      ...conf.custom_introspection_headers,
      authorization: conf.authorization_value,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: form.toString(),
    signal: AbortSignal.timeout(conf.timeout),
  });
  if (res.status !== 200) throw new Error(`introspection endpoint answered ${res.status}`);
  return (await res.json()) as Introspection;
}

function asHeader(v: unknown): string {
  if (Array.isArray(v)) return v.join(' ');
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

function accept(ctx: PluginContext, state: State, result: Introspection): void {
  const conf = state.conf;
  for (const [claim, header] of FORWARDED) {
    const v = result[claim];
    if (v === undefined || v === null) ctx.removeUpstreamHeader(header);
    else ctx.setUpstreamHeader(header, asHeader(v));
  }
  for (const claim of conf.custom_claims_forward) {
    const v = result[claim];
    // An absent claim removes the header, so a client-sent one never passes for it.
    if (v === undefined || v === null) ctx.removeUpstreamHeader(`X-Credential-${claim}`);
    else ctx.setUpstreamHeader(`X-Credential-${claim}`, asHeader(v));
  }
  const key = conf.consumer_by === 'username' ? result.username : result.client_id;
  const consumer =
    typeof key === 'string'
      ? ((conf.consumer_by === 'username' ? state.byUsername.get(key) : state.byCustomId.get(key)) ?? null)
      : null;
  const id =
    typeof result.jti === 'string'
      ? result.jti
      : typeof result.client_id === 'string'
        ? result.client_id
        : '';
  ctx.authenticate(consumer, {
    id,
    type: 'oauth2-introspection',
    identifier: typeof result.client_id === 'string' ? result.client_id : null,
    consumerId: consumer?.id ?? null,
  });
}

function active(result: Introspection, now: number): boolean {
  return result.active === true && !(typeof result.exp === 'number' && result.exp <= now / 1000);
}

export default definePlugin({
  ...introspectionSpec,
  init(conf, { snapshot }): State {
    const consumers = snapshot.config.consumers;
    return {
      conf,
      // ttlResolution 0: the clock is read at each lookup (an entry is never used past its ttl).
      cache: new LRUCache<string, Introspection>({ max: 10_000, ttlResolution: 0 }),
      byUsername: new Map(consumers.filter((c) => c.username !== null).map((c) => [c.username!, c])),
      byCustomId: new Map(consumers.filter((c) => c.custom_id !== null).map((c) => [c.custom_id!, c])),
    };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (skipPreflight(ctx, conf.run_on_preflight)) return;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    const found = findBearer(ctx, true, true);
    if (found === null) {
      return fail(
        ctx,
        conf.anonymous,
        {
          status: 401,
          message: MISSING,
          headers: { 'WWW-Authenticate': 'Bearer realm="service"' },
          reason: 'no token',
        },
        'oauth2-introspection',
      );
    }
    if (conf.hide_credentials) hideBearer(ctx, found);
    const d = digest(found.token);
    const now = Date.now();
    const cached = state.cache.get(d);
    if (cached !== undefined && active(cached, now)) return accept(ctx, state, cached);
    const invalid = () =>
      fail(
        ctx,
        conf.anonymous,
        {
          status: 401,
          message: INVALID,
          headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
          reason: 'inactive token',
        },
        'oauth2-introspection',
      );
    return introspect(conf, found.token).then(
      (result) => {
        const t = Date.now();
        if (!active(result, t)) return invalid();
        if (conf.ttl > 0) {
          const untilExp = typeof result.exp === 'number' ? result.exp * 1000 - t : Infinity;
          const ttl = Math.floor(Math.min(conf.ttl * 1000, untilExp));
          // lru-cache reads a ttl of 0 as "forever": a result already past its exp is not kept.
          if (ttl >= 1) state.cache.set(d, result, { ttl });
        }
        accept(ctx, state, result);
      },
      (err: unknown) => {
        ctx.log.error(
          { err: (err as Error).message, url: conf.introspection_url },
          'oauth2-introspection: introspection failed',
        );
        respondError(ctx, ProxyErrorCode.INTERNAL);
      },
    );
  },
});
