/**
 * basic-auth (Kong's, priority 1100): `Authorization: Basic base64(username:password)` (or
 * Proxy-Authorization), checked against the credential's scrypt hash. scrypt is deliberately
 * slow, so successful verifications are remembered per snapshot in a bounded LRU keyed by a
 * SHA-256 of (credential id, password, stored hash): a repeat request costs one hash + lookup.
 */
import type { BasicAuthCredential, Consumer } from '@gatehouse/shared';
import { definePlugin, type PluginContext, type SnapshotView } from '../api.js';
import { alreadyAuthenticated, digest, fail, unauthorized } from '../runtime/auth.js';
import { LRUCache } from 'lru-cache';
import { basicAuthSpec, type BasicAuthConfig } from './schema.js';
import { verifyPassword } from './verify.js';

interface Entry {
  readonly credential: BasicAuthCredential;
  readonly consumer: Consumer;
}

interface Index {
  readonly byUsername: Map<string, Entry>;
  /** digest(credential id, password, stored hash) of passwords already verified. */
  readonly verified: LRUCache<string, true>;
}

const VERIFIED_MAX = 10_000;

function index(snapshot: SnapshotView): Index {
  return snapshot.memo('basic-auth:credentials', () => {
    const byUsername = new Map<string, Entry>();
    for (const c of snapshot.config.basicauth_credentials) {
      const consumer = snapshot.consumer(c.consumer.id);
      if (consumer !== undefined) byUsername.set(c.username, { credential: c, consumer });
    }
    return { byUsername, verified: new LRUCache<string, true>({ max: VERIFIED_MAX }) };
  });
}

interface State {
  readonly conf: BasicAuthConfig;
  readonly index: Index;
  readonly challenge: Record<string, string>;
}

/** username and password of a `Basic` header value, or null when it is not one. */
export function parseBasic(value: string): [string, string] | null {
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(value);
  if (m === null) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

function authorizationOf(ctx: PluginContext): { value: string; header: string } | null {
  const a = ctx.request.header('authorization');
  if (a !== undefined) return { value: a, header: 'authorization' };
  const p = ctx.request.header('proxy-authorization');
  return p === undefined ? null : { value: p, header: 'proxy-authorization' };
}

function accept(ctx: PluginContext, entry: Entry): void {
  ctx.authenticate(entry.consumer, {
    id: entry.credential.id,
    type: 'basic-auth',
    identifier: entry.credential.username,
    consumerId: entry.consumer.id,
  });
}

export default definePlugin({
  ...basicAuthSpec,
  init(conf, { snapshot }): State {
    return { conf, index: index(snapshot), challenge: { 'WWW-Authenticate': `Basic realm="${conf.realm}"` } };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    const auth = authorizationOf(ctx);
    if (auth === null) {
      fail(
        ctx,
        conf.anonymous,
        unauthorized('Unauthorized', 'no credentials', state.challenge),
        'basic-auth',
      );
      return;
    }
    if (conf.hide_credentials) ctx.removeUpstreamHeader(auth.header);
    const pair = parseBasic(auth.value);
    const entry = pair === null ? undefined : state.index.byUsername.get(pair[0]);
    if (pair === null || entry === undefined) {
      fail(
        ctx,
        conf.anonymous,
        unauthorized(
          'Unauthorized',
          pair === null ? 'malformed header' : 'unknown username',
          state.challenge,
        ),
        'basic-auth',
      );
      return;
    }
    const key = digest(`${entry.credential.id}\0${pair[1]}\0${entry.credential.password}`);
    if (state.index.verified.get(key) === true) {
      accept(ctx, entry);
      return;
    }
    return verifyPassword(pair[1], entry.credential.password).then((ok) => {
      if (!ok) {
        fail(
          ctx,
          conf.anonymous,
          unauthorized('Unauthorized', 'wrong password', state.challenge),
          'basic-auth',
        );
        return;
      }
      state.index.verified.set(key, true);
      accept(ctx, entry);
    });
  },
});
