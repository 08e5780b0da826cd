/**
 * hmac-auth (Kong's, priority 1030): `Authorization: hmac username="…", algorithm="…",
 * headers="…", signature="…"`, a Date/X-Date within `clock_skew`, the signature compared in
 * constant time, and (validate_request_body) the body against its `Digest: SHA-256=…` header.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Consumer, HmacAuthCredential } from '@gatehouse/shared';
import { definePlugin, type PluginContext, type SnapshotView } from '../api.js';
import { alreadyAuthenticated, fail, unauthorized } from '../runtime/auth.js';
import { hmacAuthSpec, type HmacAuthConfig } from './schema.js';
import { parseHmacAuthorization, sign, signingString, type HmacParams } from './signature.js';

const CANNOT_VERIFY = 'HMAC signature cannot be verified';
const NOT_SAME = 'HMAC signature does not match';
const DATE_REQUIRED =
  'HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication';

interface Entry {
  readonly credential: HmacAuthCredential;
  readonly consumer: Consumer;
}

function index(snapshot: SnapshotView): Map<string, Entry> {
  return snapshot.memo('hmac-auth:credentials', () => {
    const m = new Map<string, Entry>();
    for (const c of snapshot.config.hmacauth_credentials) {
      const consumer = snapshot.consumer(c.consumer.id);
      if (consumer !== undefined) m.set(c.username, { credential: c, consumer });
    }
    return m;
  });
}

interface State {
  readonly conf: HmacAuthConfig;
  readonly credentials: Map<string, Entry>;
  readonly challenge: Record<string, string>;
}

function dateWithinSkew(value: string | undefined, skew: number): boolean {
  if (value === undefined) return false;
  const t = Date.parse(value);
  return Number.isFinite(t) && Math.abs(Date.now() - t) <= skew * 1000;
}

/** Kong's `ngx.decode_base64`: up to the first `=`, base64 characters only; null when it is not. */
function decodeBase64(value: string): Buffer | null {
  const eq = value.indexOf('=');
  const data = eq < 0 ? value : value.slice(0, eq);
  if (data.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(data)) return null;
  return Buffer.from(data, 'base64');
}

function signatureMatches(ctx: PluginContext, params: HmacParams, secret: string): boolean {
  const given = decodeBase64(params.signature);
  if (given === null) return false;
  const req = ctx.request;
  const target = req.rawQuery === '' ? req.rawPath : `${req.rawPath}?${req.rawQuery}`;
  const expected = sign(
    params.algorithm,
    secret,
    signingString(
      { method: req.method, target, httpVersion: req.httpVersion, header: (n) => req.header(n) },
      params.headers,
    ),
  );
  return expected !== null && expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Kong's body check: no Digest header passes only an empty body; otherwise the header must be
 * exactly `SHA-256=` and the padded standard base64 of the body's SHA-256 (no other spelling,
 * case or whitespace: the client signed this header's bytes).
 */
function bodyMatches(ctx: PluginContext, body: Buffer): boolean {
  const digestHeader = ctx.request.header('digest');
  if (digestHeader === undefined) return body.length === 0;
  const expected = Buffer.from(`SHA-256=${createHash('sha256').update(body).digest('base64')}`);
  const given = Buffer.from(digestHeader);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export default definePlugin({
  ...hmacAuthSpec,
  init(conf, { snapshot }): State {
    return {
      conf,
      credentials: index(snapshot),
      challenge: { 'WWW-Authenticate': conf.realm === null ? 'hmac' : `hmac realm="${conf.realm}"` },
    };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    const no = (message: string, reason: string) =>
      fail(ctx, conf.anonymous, unauthorized(message, reason, state.challenge), 'hmac-auth');
    const req = ctx.request;
    const proxyAuth = req.header('proxy-authorization');
    const auth = req.header('authorization');
    if (proxyAuth === undefined && auth === undefined) return no('Unauthorized', 'no credentials');
    if (
      !dateWithinSkew(req.header('x-date'), conf.clock_skew) &&
      !dateWithinSkew(req.header('date'), conf.clock_skew)
    ) {
      return no(DATE_REQUIRED, 'date outside clock skew');
    }
    let params = parseHmacAuthorization(proxyAuth);
    if (params !== null) {
      if (conf.hide_credentials) ctx.removeUpstreamHeader('proxy-authorization');
    } else {
      params = parseHmacAuthorization(auth);
      if (params !== null && conf.hide_credentials) ctx.removeUpstreamHeader('authorization');
    }
    if (params === null) return no(CANNOT_VERIFY, 'malformed authorization');
    // As Kong: enforced headers and the algorithm are compared exactly as sent.
    for (const h of conf.enforce_headers) {
      if (!params.headers.includes(h)) return no(CANNOT_VERIFY, `enforced header ${h} not signed`);
    }
    if (!(conf.algorithms as string[]).includes(params.algorithm))
      return no(CANNOT_VERIFY, 'algorithm not allowed');
    const entry = state.credentials.get(params.username);
    if (entry === undefined) return no(CANNOT_VERIFY, 'unknown username');
    if (!signatureMatches(ctx, params, entry.credential.secret)) return no(NOT_SAME, 'signature mismatch');
    const ok = (): void =>
      ctx.authenticate(entry.consumer, {
        id: entry.credential.id,
        type: 'hmac-auth',
        identifier: entry.credential.username,
        consumerId: entry.consumer.id,
      });
    if (!conf.validate_request_body) return ok();
    return req.body().then((body) => (bodyMatches(ctx, body) ? ok() : no(NOT_SAME, 'body digest mismatch')));
  },
});
