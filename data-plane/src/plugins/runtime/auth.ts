/** Pieces every authentication plugin shares (Kong's anonymous handling, digests, compares). */
import crypto, { createHash, timingSafeEqual } from 'node:crypto';
import type { Consumer } from '@gatehouse/shared';
import type { CredentialRef, HeaderValue, PluginContext } from '../api.js';
import { ProxyErrorCode } from '../../proxy/errors.js';
import { respondError } from './gateway-errors.js';

/** SHA-256 of a secret, as the key of credential indexes (no secret-dependent lookup timing). */
export function digest(secret: string | Buffer): string {
  // crypto.hash (Node >= 20.12): one call, no Hash object per request.
  return oneShot === undefined
    ? createHash('sha256').update(secret).digest('base64')
    : oneShot('sha256', secret, 'base64');
}

const oneShot = (crypto as { hash?: (alg: string, data: string | Buffer, enc: 'base64') => string }).hash;

/** Constant-time equality of two strings or buffers (lengths compared through SHA-256). */
export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && Buffer.byteLength(a) === Buffer.byteLength(b);
}

export interface AuthFailure {
  status: number;
  message: string | Record<string, unknown>;
  headers?: Record<string, HeaderValue>;
  /** Logged (debug), never sent. */
  reason: string;
}

export const unauthorized = (
  message: string,
  reason: string,
  headers?: Record<string, HeaderValue>,
): AuthFailure => ({ status: 401, message, reason, ...(headers === undefined ? {} : { headers }) });

/**
 * Kong's skip rule for `anonymous`: when this plugin has an anonymous fallback and a previous
 * auth plugin already authenticated a real credential, this one does nothing (logical OR).
 */
export function alreadyAuthenticated(ctx: PluginContext, anonymous: string | null): boolean {
  return anonymous !== null && ctx.credential !== null;
}

/**
 * Ends a failed authentication as Kong does: the anonymous consumer when configured (Kong's 500
 * "anonymous consumer <anonymous> is configured but doesn't exist" when it names no consumer),
 * otherwise the failure response. Returns nothing either way.
 */
export function fail(
  ctx: PluginContext,
  anonymous: string | null,
  failure: AuthFailure,
  plugin: string,
): void {
  ctx.log.debug({ plugin, reason: failure.reason }, 'authentication failed');
  if (anonymous !== null) {
    const consumer = ctx.findConsumer(anonymous);
    if (consumer === null) {
      ctx.log.error(
        { plugin, anonymous, code: ProxyErrorCode.ANONYMOUS_NOT_FOUND },
        'anonymous consumer is configured but does not exist',
      );
      respondError(ctx, ProxyErrorCode.ANONYMOUS_NOT_FOUND, { subject: anonymous });
      return;
    }
    ctx.authenticate(consumer, null, { anonymous: true });
    return;
  }
  ctx.respond(failure.status, failure.message, failure.headers);
}

/** Sets the authenticated consumer for a matched credential. */
export function succeed(ctx: PluginContext, consumer: Consumer, credential: CredentialRef): void {
  ctx.authenticate(consumer, credential);
}

/** Is this a CORS preflight the plugin should let through (`run_on_preflight: false`)? */
export function skipPreflight(ctx: PluginContext, runOnPreflight: boolean): boolean {
  return !runOnPreflight && ctx.request.method === 'OPTIONS';
}

/** Parses a request body as Kong's `kong.request.get_body()` for form and JSON bodies. */
export function parseBody(contentType: string | undefined, body: Buffer): Record<string, unknown> | null {
  if (body.length === 0 || contentType === undefined) return null;
  const ct = contentType.toLowerCase();
  if (ct.startsWith('application/x-www-form-urlencoded')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(body.toString('latin1'))) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...(prev as string[]), v] : [prev, v];
    }
    return out;
  }
  if (ct.startsWith('application/json')) {
    try {
      const v = JSON.parse(body.toString('utf8')) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** Re-serialises a body without `names` (hide_credentials for body credentials). */
export function bodyWithout(
  contentType: string,
  parsed: Record<string, unknown>,
  names: readonly string[],
): Buffer {
  const copy: Record<string, unknown> = { ...parsed };
  for (const n of names) delete copy[n];
  if (contentType.toLowerCase().startsWith('application/json')) return Buffer.from(JSON.stringify(copy));
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(copy)) {
    if (Array.isArray(v)) for (const x of v) p.append(k, String(x));
    else p.append(k, String(v));
  }
  return Buffer.from(p.toString());
}

/** Seconds since the epoch. */
export const nowSeconds = (): number => Date.now() / 1000;
