/**
 * Kong's oauth2 endpoints (kong/plugins/oauth2/access.lua `authorize` and `issue_token`), with
 * the same checks in the same order, the same error bodies and status codes, and tokens that are
 * signed JWTs (tokens.ts) instead of database rows. Codes and refresh tokens are single use
 * through the grant ledger (ledger.ts).
 */
import type { PluginContext } from '../api.js';
import { safeEqual } from '../runtime/auth.js';
import { verifyOAuth2ClientSecret } from '@gatehouse/shared';
import type { Client, OAuth2Index } from './clients.js';
import { grantLedger, type LedgerEntry } from './ledger.js';
import { clientCredentials, readParams, type Params } from './params.js';
import { challengeMethod, verifierMatches } from './pkce.js';
import type { OAuth2Config } from './schema.js';
import { expired, ISSUER, nowSeconds, TokenKeys, type TokenClaims } from './tokens.js';

/** Kong's authorization code lifetime (oauth2_authorization_codes ttl). */
export const CODE_TTL_SECONDS = 300;
/** The most of a request body the endpoints read. */
const PARAMS_BODY_LIMIT = 64 * 1024;
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

export interface OAuth2State {
  readonly conf: OAuth2Config;
  readonly keys: TokenKeys;
  readonly index: OAuth2Index;
  /** The scopes a client may ask for, or null (any scope, as Kong without `scopes`). */
  readonly scopes: ReadonlySet<string> | null;
}

type OAuthError = { error: string; error_description: string };
const err = (error: string, error_description: string): OAuthError => ({ error, error_description });

/** Kong's check_https: TLS, or (accept_http_if_already_terminated) a trusted proxy's X-Forwarded-Proto. */
function httpsError(ctx: PluginContext, conf: OAuth2Config): OAuthError | null {
  if (ctx.request.scheme === 'https') return null;
  if (conf.accept_http_if_already_terminated) {
    if (ctx.request.headerValues('x-forwarded-proto').length > 1)
      return err('access_denied', 'Only one X-Forwarded-Proto header allowed');
    if (ctx.request.forwardedProto.toLowerCase() === 'https') return null;
  }
  return err('access_denied', 'You must use HTTPS');
}

/** Kong's retrieve_scope: the space-separated scopes asked for, each in `scopes`. */
function scopeOf(params: Params, state: OAuth2State): { scope: string | undefined } | OAuthError {
  const raw = params.scope;
  if (state.scopes !== null && raw !== undefined) {
    const asked = raw.split(/\s+/).filter((s) => s !== '');
    for (const s of asked)
      if (!state.scopes.has(s)) return err('invalid_scope', `"${s}" is an invalid scope`);
    return { scope: asked.length > 0 ? asked.join(' ') : undefined };
  }
  if (raw === undefined && state.conf.mandatory_scope)
    return err('invalid_scope', 'You must specify a scope');
  return { scope: undefined };
}

const provisionKeyOk = (params: Params, conf: OAuth2Config): boolean =>
  params.provision_key !== undefined && safeEqual(params.provision_key, conf.provision_key);

const blank = (s: string | undefined): boolean => s === undefined || s.trim() === '';

/** The audience of the tokens this instance issues: the service, or `*` with global_credentials. */
const audienceOf = (ctx: PluginContext, conf: OAuth2Config): string =>
  conf.global_credentials ? '*' : (ctx.service?.id ?? '*');

/** A token of this instance's service (or a global one where global_credentials allows it). */
export const audienceMatches = (claims: TokenClaims, ctx: PluginContext, conf: OAuth2Config): boolean =>
  claims.aud === '*' ? conf.global_credentials : claims.aud === ctx.service?.id;

interface Issued {
  access_token: string;
  token_type: 'bearer';
  expires_in?: number;
  refresh_token?: string;
}

/** Kong's generate_token: an access token, and a refresh token unless disabled or never expiring. */
function issueTokens(
  ctx: PluginContext,
  state: OAuth2State,
  client: Client,
  grant: { userid: string | undefined; scope: string | undefined; refresh: boolean | string },
): Issued {
  const conf = state.conf;
  const now = nowSeconds();
  const base = {
    iss: ISSUER,
    sub: client.credential.id,
    aud: audienceOf(ctx, conf),
    client_id: client.credential.client_id,
    iat: now,
    ...(grant.scope === undefined ? {} : { scope: grant.scope }),
    ...(grant.userid === undefined ? {} : { authenticated_userid: grant.userid }),
  };
  const ttl = conf.token_expiration;
  const accessJti = TokenKeys.jti();
  const accessExp = ttl > 0 ? now + Math.ceil(ttl) : undefined;
  const out: Issued = {
    access_token: state.keys.sign({
      ...base,
      use: 'access',
      jti: accessJti,
      ...(accessExp ? { exp: accessExp } : {}),
    }),
    token_type: 'bearer',
  };
  if (ttl > 0) out.expires_in = ttl;
  if (typeof grant.refresh === 'string') {
    out.refresh_token = grant.refresh;
  } else if (grant.refresh && ttl > 0) {
    const rttl = conf.refresh_token_ttl;
    out.refresh_token = state.keys.sign({
      ...base,
      use: 'refresh',
      jti: TokenKeys.jti(),
      ...(rttl > 0 ? { exp: now + Math.ceil(rttl) } : {}),
      access_jti: accessJti,
      ...(accessExp ? { access_exp: accessExp } : {}),
    });
  }
  return out;
}

const entryOf = (c: TokenClaims): LedgerEntry => ({ jti: c.jti, credentialId: c.sub, expiresAt: c.exp ?? 0 });

const LEDGER_DOWN = err(
  'temporarily_unavailable',
  'The authorization server cannot redeem codes or refresh tokens now (control plane unreachable)',
);

type Outcome = { status: number; body: Record<string, unknown>; headers?: Record<string, string> };

type Grant = Parameters<typeof issueTokens>[3];

/** 200 with the tokens of `grant` (and the request's `state`). */
function granted(
  ctx: PluginContext,
  state: OAuth2State,
  client: Client,
  grant: Grant,
  params: Params,
): Outcome {
  const issued = issueTokens(ctx, state, client, grant);
  return { status: 200, body: { ...issued, ...(params.state === undefined ? {} : { state: params.state }) } };
}

/** Redeems at the ledger: null when redeemed, else the refusal (`invalid` when already used). */
async function redemptionRefused(
  entry: LedgerEntry,
  alsoRevoke: readonly LedgerEntry[],
  invalid: OAuthError,
  fail: (e: OAuthError, status?: number) => Outcome,
): Promise<Outcome | null> {
  const redeemed = await grantLedger().redeem(entry, alsoRevoke);
  if (redeemed === 'already-used') return fail(invalid);
  if (redeemed === 'unavailable') return fail(LEDGER_DOWN, 503);
  return null;
}

/** Is a refresh token kept across refreshes (not spent, answered again) rather than replaced? */
export const keepsRefreshToken = (conf: OAuth2Config): boolean =>
  conf.reuse_refresh_token || conf.persistent_refresh_token;

/** POST …/oauth2/token. */
export async function issueToken(ctx: PluginContext, state: OAuth2State): Promise<void> {
  const o = await tokenOutcome(ctx, state);
  ctx.respond(o.status, o.body, { ...NO_STORE, ...o.headers });
}

async function tokenOutcome(ctx: PluginContext, state: OAuth2State): Promise<Outcome> {
  const conf = state.conf;
  const params = await readParams(ctx, PARAMS_BODY_LIMIT);
  const stateParam = params.state === undefined ? {} : { state: params.state };
  const fail = (e: OAuthError, status = 400, headers?: Record<string, string>): Outcome => ({
    status,
    body: { ...e, ...stateParam },
    ...(headers ? { headers } : {}),
  });
  const https = httpsError(ctx, conf);
  if (https) return fail(https);

  const grantType = params.grant_type;
  const grantOk =
    grantType === 'authorization_code' ||
    grantType === 'refresh_token' ||
    (conf.enable_client_credentials && grantType === 'client_credentials') ||
    (conf.enable_password_grant && grantType === 'password');
  let error: OAuthError | null = grantOk ? null : err('unsupported_grant_type', 'Invalid grant_type');

  const creds = clientCredentials(params, ctx.request.header(conf.auth_header_name ?? 'authorization'));
  const client = creds.id === undefined ? undefined : state.index.byClientId(creds.id);
  const badClient = (): Outcome =>
    creds.fromHeader
      ? fail(err('invalid_client', 'Invalid client authentication'), 401, {
          'www-authenticate': 'Basic realm="OAuth2.0"',
        })
      : fail(err('invalid_client', 'Invalid client authentication'));
  if (grantType !== 'client_credentials') {
    const uris = client?.credential.redirect_uris;
    if (client === undefined || !uris || uris.length === 0) return badClient();
    if (!uris.includes(params.redirect_uri ?? uris[0]!))
      error = err(
        'invalid_request',
        'Invalid redirect_uri that does not match with any redirect_uri created with the application',
      );
  }
  // A public client has no secret to keep: it proves a code with PKCE, and a refresh token is
  // single use (rotated at each refresh, as OAuth 2.1 asks of public clients).
  const publicRedemption =
    client?.credential.client_type === 'public' &&
    (grantType === 'authorization_code' || (grantType === 'refresh_token' && !keepsRefreshToken(state.conf)));
  if (client !== undefined && !publicRedemption) {
    if (creds.secret === undefined || !(await verifyOAuth2ClientSecret(creds.secret, client.credential)))
      return badClient();
  }
  if (error) return fail(error);

  switch (grantType) {
    case 'authorization_code':
      return redeemCode(ctx, state, client!, params, fail);
    case 'refresh_token':
      return refresh(ctx, state, client!, params, fail);
    case 'client_credentials': {
      if (params.authenticated_userid !== undefined && !provisionKeyOk(params, conf))
        return fail(err('invalid_provision_key', 'Invalid provision_key'));
      if (client === undefined) return badClient();
      const scope = scopeOf(params, state);
      if ('error' in scope) return fail(scope);
      const grant = { userid: params.authenticated_userid, scope: scope.scope, refresh: false };
      return granted(ctx, state, client, grant, params);
    }
    default: {
      // password
      if (!provisionKeyOk(params, conf)) return fail(err('invalid_provision_key', 'Invalid provision_key'));
      if (blank(params.authenticated_userid))
        return fail(err('invalid_authenticated_userid', 'Missing authenticated_userid parameter'));
      const scope = scopeOf(params, state);
      if ('error' in scope) return fail(scope);
      const grant = { userid: params.authenticated_userid, scope: scope.scope, refresh: true };
      return granted(ctx, state, client!, grant, params);
    }
  }
}

/** Does the code's PKCE challenge (or the lack of one) pass? An error when not. */
function pkceError(
  state: OAuth2State,
  client: Client,
  code: TokenClaims,
  verifier: string | undefined,
): OAuthError | null {
  const required =
    state.conf.pkce === 'strict' ||
    (state.conf.pkce !== 'none' && client.credential.client_type === 'public');
  if (code.code_challenge === undefined) {
    return required
      ? err('invalid_request', 'code_verifier is required for PKCE authorization requests')
      : null;
  }
  if (verifier === undefined)
    return err('invalid_request', 'code_verifier is required for PKCE authorization requests');
  return verifierMatches(verifier, code.code_challenge, code.code_challenge_method ?? 'S256')
    ? null
    : err('invalid_grant', 'code_verifier does not match the code_challenge');
}

async function redeemCode(
  ctx: PluginContext,
  state: OAuth2State,
  client: Client,
  params: Params,
  fail: (e: OAuthError, status?: number) => Outcome,
): Promise<Outcome> {
  const now = nowSeconds();
  const code = params.code === undefined ? null : state.keys.verify(params.code, 'code');
  if (
    code === null ||
    expired(code, now) ||
    state.index.revoked(code.jti, now) ||
    !audienceMatches(code, ctx, state.conf) ||
    code.sub !== client.credential.id ||
    (code.redirect_uri !== undefined && (params.redirect_uri ?? code.redirect_uri) !== code.redirect_uri)
  )
    return fail(err('invalid_request', 'Invalid code'));
  const pkce = pkceError(state, client, code, params.code_verifier);
  if (pkce) return fail(pkce);
  const refused = await redemptionRefused(entryOf(code), [], err('invalid_request', 'Invalid code'), fail);
  if (refused) return refused;
  return granted(
    ctx,
    state,
    client,
    { userid: code.authenticated_userid, scope: code.scope, refresh: true },
    params,
  );
}

async function refresh(
  ctx: PluginContext,
  state: OAuth2State,
  client: Client,
  params: Params,
  fail: (e: OAuthError, status?: number) => Outcome,
): Promise<Outcome> {
  const now = nowSeconds();
  const token =
    params.refresh_token === undefined ? null : state.keys.verify(params.refresh_token, 'refresh');
  if (
    token === null ||
    expired(token, now) ||
    state.index.revoked(token.jti, now) ||
    !audienceMatches(token, ctx, state.conf)
  )
    return fail(err('invalid_request', 'Invalid refresh_token'));
  if (token.sub !== client.credential.id) return fail(err('invalid_client', 'Invalid client authentication'));
  // Kong's reuse_refresh_token and persistent_refresh_token both keep the refresh token: it is
  // not spent at the ledger and the answer carries it again (docs/plugins.md, oauth2).
  const keep = keepsRefreshToken(state.conf);
  if (!keep) {
    const previous: LedgerEntry[] =
      token.access_jti === undefined
        ? []
        : [{ jti: token.access_jti, credentialId: token.sub, expiresAt: token.access_exp ?? 0 }];
    const invalid = err('invalid_request', 'Invalid refresh_token');
    const refused = await redemptionRefused(entryOf(token), previous, invalid, fail);
    if (refused) return refused;
  }
  const refreshWith = keep ? params.refresh_token! : true;
  return granted(
    ctx,
    state,
    client,
    { userid: token.authenticated_userid, scope: token.scope, refresh: refreshWith },
    params,
  );
}

/** POST …/oauth2/authorize. */
export async function authorize(ctx: PluginContext, state: OAuth2State): Promise<void> {
  const conf = state.conf;
  const params = await readParams(ctx, PARAMS_BODY_LIMIT);
  let response: Record<string, unknown> = {};
  let redirectUri: string | undefined;
  let implicit = false;
  const https = httpsError(ctx, conf);
  if (https) {
    response = { ...https };
  } else if (!provisionKeyOk(params, conf)) {
    response = err('invalid_provision_key', 'Invalid provision_key');
  } else if (blank(params.authenticated_userid)) {
    response = err('invalid_authenticated_userid', 'Missing authenticated_userid parameter');
  } else {
    const responseType = params.response_type;
    let error: OAuthError | null = null;
    if (!(
      (responseType === 'code' && conf.enable_authorization_code) ||
      (responseType === 'token' && conf.enable_implicit_grant)
    ))
      error = err('unsupported_response_type', 'Invalid response_type');
    const scoped = scopeOf(params, state);
    let scope: string | undefined;
    if ('error' in scoped) error = scoped;
    else scope = scoped.scope;
    const client = params.client_id === undefined ? undefined : state.index.byClientId(params.client_id);
    const uris = client?.credential.redirect_uris;
    if (client === undefined || !uris || uris.length === 0) {
      error = err('invalid_client', 'Invalid client authentication');
    } else {
      redirectUri = params.redirect_uri ?? uris[0]!;
      if (!uris.includes(redirectUri)) {
        error = err(
          'invalid_request',
          'Invalid redirect_uri that does not match with any redirect_uri created with the application',
        );
        redirectUri = uris[0]!;
      }
    }
    let challenge: { code_challenge: string; code_challenge_method: 'S256' | 'plain' } | null = null;
    if (error === null && responseType === 'code') {
      const c = challengeOf(params, conf, client!);
      if ('error' in c) error = c;
      else challenge = c.challenge;
    }
    if (error !== null) {
      response = { ...error };
    } else if (responseType === 'code') {
      const now = nowSeconds();
      response = {
        code: state.keys.sign({
          iss: ISSUER,
          sub: client!.credential.id,
          aud: audienceOf(ctx, conf),
          client_id: client!.credential.client_id,
          use: 'code',
          jti: TokenKeys.jti(),
          iat: now,
          exp: now + CODE_TTL_SECONDS,
          authenticated_userid: params.authenticated_userid!,
          redirect_uri: redirectUri!,
          ...(scope === undefined ? {} : { scope }),
          ...(challenge ?? {}),
        }),
      };
    } else {
      implicit = true;
      response = {
        ...issueTokens(ctx, state, client!, {
          userid: params.authenticated_userid,
          scope,
          refresh: false,
        }),
      };
    }
  }
  if (params.state !== undefined) response.state = params.state;
  const status = 'error' in response ? 400 : 200;
  const body =
    redirectUri === undefined ? response : { redirect_uri: withParams(redirectUri, response, implicit) };
  ctx.respond(status, body, NO_STORE);
}

/** PKCE on an authorize request: the challenge to bind to the code, or why it is refused. */
function challengeOf(
  params: Params,
  conf: OAuth2Config,
  client: Client,
): { challenge: { code_challenge: string; code_challenge_method: 'S256' | 'plain' } | null } | OAuthError {
  const challenge = params.code_challenge;
  if (challenge === undefined || challenge === '') {
    const required =
      conf.pkce === 'strict' || (conf.pkce !== 'none' && client.credential.client_type === 'public');
    return required ? err('invalid_request', 'code_challenge is required') : { challenge: null };
  }
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(challenge)) return err('invalid_request', 'Invalid code_challenge');
  // Kong reads a missing method as S256; plain only where PKCE is not strict.
  const method =
    params.code_challenge_method === undefined ? 'S256' : challengeMethod(params.code_challenge_method);
  if (method === null || (method === 'plain' && conf.pkce === 'strict'))
    return err('invalid_request', 'code_challenge_method is not supported');
  return { challenge: { code_challenge: challenge, code_challenge_method: method } };
}

/** The redirect_uri with the response merged into its query (or fragment, implicit grant), as Kong. */
function withParams(uri: string, response: Record<string, unknown>, fragment: boolean): string {
  const u = new URL(uri);
  const merged = new URLSearchParams(fragment ? u.hash.replace(/^#/, '') : u.search);
  for (const [k, v] of Object.entries(response))
    if (typeof v === 'string' || typeof v === 'number') merged.set(k, String(v));
  if (fragment) u.hash = merged.toString();
  else u.search = merged.toString();
  return u.toString();
}
