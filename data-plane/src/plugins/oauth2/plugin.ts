/**
 * oauth2 (Kong's, priority 1400): Kong as the OAuth 2.0 authorization server, built for hybrid
 * mode. `POST …/oauth2/authorize` and `POST …/oauth2/token` under the route issue codes and
 * tokens (endpoints.ts); every other request must carry an access token, verified here with the
 * instance's signing secrets (or the control plane's keys in the snapshot), the snapshot's
 * revocation list and its oauth2 credentials: no
 * database or control plane on the path (docs/plugins.md, oauth2).
 */
import type { DigestedConfig } from '@gatehouse/shared';
import { definePlugin, type PluginContext, type SnapshotView } from '../api.js';
import { alreadyAuthenticated, bodyWithout, fail, parseBody, type AuthFailure } from '../runtime/auth.js';
import { oauth2Index } from './clients.js';
import { audienceMatches, authorize, issueToken, type OAuth2State } from './endpoints.js';
import { readParams } from './params.js';
import { oauth2Spec, type OAuth2Config } from './schema.js';
import { expired, nowSeconds, TokenKeys } from './tokens.js';

const INVALID = 'The access token is invalid or has expired';

function invalidToken(state: OAuth2State, reason: string): AuthFailure {
  return {
    status: 401,
    message: { error: 'invalid_token', error_description: INVALID },
    headers: {
      'WWW-Authenticate': `Bearer realm="${state.conf.realm ?? 'service'}" error="invalid_token" error_description="${INVALID}"`,
    },
    reason,
  };
}

/** Kong's parse_access_token: `Bearer`/`Token` in the auth header, else `access_token` in the parameters. */
async function findToken(ctx: PluginContext, state: OAuth2State): Promise<string | null> {
  const name = state.conf.auth_header_name ?? 'authorization';
  const header = ctx.request.header(name);
  if (header !== undefined) {
    const parts = header.split(/\s+/).filter((p) => p !== '');
    if (parts.length === 2 && /^(bearer|token)$/i.test(parts[0]!)) {
      if (state.conf.hide_credentials) ctx.removeUpstreamHeader(name);
      return parts[1]!;
    }
    return header;
  }
  // The runtime's default body limit: a protected API's own bodies may be large.
  const params = await readParams(ctx, undefined);
  const token = params.access_token;
  if (token === undefined) return null;
  if (state.conf.hide_credentials) await hideParameter(ctx);
  return token;
}

/** hide_credentials for a parameter token: out of the query, and out of a form body (as Kong). */
async function hideParameter(ctx: PluginContext): Promise<void> {
  if (ctx.request.query.has('access_token')) ctx.removeUpstreamQueryArg('access_token');
  const type = ctx.request.header('content-type');
  if (ctx.request.method === 'GET' || !type?.toLowerCase().startsWith('application/x-www-form-urlencoded'))
    return;
  const parsed = parseBody(type, await ctx.request.body());
  if (parsed !== null && 'access_token' in parsed)
    ctx.setUpstreamBody(bodyWithout(type, parsed, ['access_token']));
}

async function authenticate(ctx: PluginContext, state: OAuth2State): Promise<void> {
  const conf = state.conf;
  const token = await findToken(ctx, state);
  let failure: AuthFailure;
  if (token === null) {
    failure = {
      status: 401,
      message: { error: 'invalid_request', error_description: 'The access token is missing' },
      headers: { 'WWW-Authenticate': `Bearer realm="${conf.realm ?? 'service'}"` },
      reason: 'no token',
    };
  } else {
    const now = nowSeconds();
    const claims = state.keys.verify(token, 'access');
    const client = claims === null ? undefined : state.index.byId(claims.sub);
    if (claims === null) failure = invalidToken(state, 'not a token of this instance');
    else if (claims.aud === '*' && !conf.global_credentials)
      failure = {
        status: 401,
        message: {
          error: 'invalid_token',
          error_description:
            "The access token is global, but the current plugin is configured without 'global_credentials'",
        },
        reason: 'global token',
      };
    else if (!audienceMatches(claims, ctx, conf)) failure = invalidToken(state, 'other service');
    else if (expired(claims, now)) failure = invalidToken(state, 'expired');
    else if (state.index.revoked(claims.jti, now)) failure = invalidToken(state, 'revoked');
    else if (client === undefined) failure = invalidToken(state, 'credential deleted');
    else {
      ctx.authenticate(client.consumer, {
        id: client.credential.id,
        type: 'oauth2',
        identifier: client.credential.id,
        consumerId: client.consumer.id,
      });
      if (claims.scope !== undefined) ctx.setUpstreamHeader('x-authenticated-scope', claims.scope);
      if (claims.authenticated_userid !== undefined)
        ctx.setUpstreamHeader('x-authenticated-userid', claims.authenticated_userid);
      return;
    }
  }
  fail(ctx, conf.anonymous, failure, 'oauth2');
}

/** Why an instance without secrets cannot run in a config that has no control plane's keys. */
export const NO_KEYS_WITHOUT_CP =
  'token_signing_secrets is required without a control plane (DB-less mode): only a control plane makes and rotates token signing keys';

/**
 * The keys of an instance: its own `token_signing_secrets`, else the control plane's from the
 * snapshot (one set shared by every such instance). A config with neither (a DB-less file) is
 * refused with NO_KEYS_WITHOUT_CP.
 */
function keysOf(conf: OAuth2Config, snapshot: SnapshotView): TokenKeys {
  const secrets = conf.token_signing_secrets;
  if (secrets !== null && secrets !== undefined && secrets.length > 0) return TokenKeys.fromSecrets(secrets);
  const member = (snapshot.config as DigestedConfig)._oauth2_signing_keys;
  if (member === undefined) throw new Error(NO_KEYS_WITHOUT_CP);
  return snapshot.memo('oauth2:signing-keys', () => TokenKeys.fromSnapshot(member));
}

const NO_KEY_YET = {
  error: 'temporarily_unavailable',
  error_description: 'The authorization server has no token signing key yet (the control plane makes one)',
};

export default definePlugin({
  ...oauth2Spec,
  init(conf, { snapshot }): OAuth2State {
    return {
      conf,
      keys: keysOf(conf, snapshot),
      index: oauth2Index(snapshot),
      scopes: conf.scopes === null ? null : new Set(conf.scopes),
    };
  },
  access(ctx, state) {
    if (alreadyAuthenticated(ctx, state.conf.anonymous)) return;
    if (ctx.request.method === 'POST') {
      const path = ctx.request.path;
      const endpoint = path.includes('/oauth2/token')
        ? issueToken
        : path.includes('/oauth2/authorize')
          ? authorize
          : null;
      if (endpoint !== null) {
        // Before the CP's first key reaches this DP (moments after the first oauth2 instance).
        if (!state.keys.canSign) return ctx.respond(503, NO_KEY_YET, { 'cache-control': 'no-store' });
        return endpoint(ctx, state);
      }
    }
    return authenticate(ctx, state);
  },
});
