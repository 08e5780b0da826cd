/**
 * key-auth (Kong's, priority 1250): an API key from a header, query argument or body field,
 * looked up by its keyed digest in an index built once per snapshot. Snapshots carry only the
 * digests (`keyAuthLookup`, shared/src/snapshot/credential-digests.ts): the key a client presents
 * is digested with the snapshot's digest key (HMAC-SHA-256). Keys that matched are remembered in a
 * bounded LRU (worker memory, per snapshot), so a returning client costs a map lookup, not an HMAC.
 */
import { keyAuthLookup, type Consumer, type KeyAuthCredential } from '@gatehouse/shared';
import { definePlugin, type PluginContext, type SnapshotView } from '../api.js';
import { headerByConfiguredName } from '../runtime/kong-headers.js';
import { LRUCache } from 'lru-cache';
import {
  alreadyAuthenticated,
  bodyWithout,
  fail,
  nowSeconds,
  parseBody,
  skipPreflight,
  succeed,
  unauthorized,
  type AuthFailure,
} from '../runtime/auth.js';
import { keyAuthSpec, type KeyAuthConfig } from './schema.js';

interface KeyEntry {
  readonly credential: KeyAuthCredential;
  readonly consumer: Consumer;
  /** Unix seconds, or Infinity. */
  readonly expiresAt: number;
}

/** Presented keys that matched, remembered per snapshot (at most this many). */
const MATCHED_MAX = 10_000;

interface KeyIndex {
  /** The credential of a presented key, or undefined. */
  find(presented: string): KeyEntry | undefined;
}

/** The key index, shared by every key-auth instance of a snapshot. */
export function keyIndex(snapshot: SnapshotView): KeyIndex {
  return snapshot.memo('key-auth:keys', () => {
    const lookup = keyAuthLookup(snapshot.config);
    const byDigest = new Map<string, KeyEntry>();
    for (const c of snapshot.config.keyauth_credentials) {
      const consumer = snapshot.consumer(c.consumer.id);
      if (consumer === undefined) continue;
      const expiresAt = c.ttl === null || c.ttl <= 0 ? Infinity : c.created_at + c.ttl;
      byDigest.set(lookup.indexKey(c.key), { credential: c, consumer, expiresAt });
    }
    // lru-cache: a hit moves the entry in its own list (no map delete + re-insert).
    const matched = new LRUCache<string, KeyEntry>({ max: MATCHED_MAX });
    return {
      find(presented) {
        const seen = matched.get(presented);
        if (seen !== undefined) return seen;
        const entry = byDigest.get(lookup.digest(presented));
        if (entry !== undefined) matched.set(presented, entry);
        return entry;
      },
    };
  });
}

interface State {
  readonly conf: KeyAuthConfig;
  readonly keys: KeyIndex;
  readonly wwwAuthenticate: string;
}

type Found = { key: string; where: 'header' | 'query' | 'body'; name: string } | 'duplicate' | null;

/** The query string names `name` without a value (`a&apikey&b`), which Kong reads as `true`. */
function isBareFlag(rawQuery: string, name: string): boolean {
  for (const part of rawQuery.split('&')) {
    if (part.includes('=')) continue;
    try {
      if (decodeURIComponent(part.replaceAll('+', ' ')) === name) return true;
    } catch {
      // not a name that decodes: not this one
    }
  }
  return false;
}

function findSync(ctx: PluginContext, conf: KeyAuthConfig): Found {
  const req = ctx.request;
  for (const name of conf.key_names) {
    if (conf.key_in_header) {
      const header = headerByConfiguredName(req, name);
      const values = header.values;
      if (values.length > 0) ctx.credentialInHeader(header.name);
      if (values.length > 1) return 'duplicate';
      // An empty header is a key, as in Kong: the search stops there (and fails: no key).
      if (values.length === 1) return { key: values[0]!, where: 'header', name: header.name };
    }
    if (conf.key_in_query && req.rawQuery !== '') {
      const values = req.query.getAll(name);
      if (values.length > 0) ctx.credentialInQuery(name);
      if (values.length > 1) return 'duplicate';
      // `?apikey=` is an empty key (the search stops); a bare `?apikey` is no key (Kong reads `true`).
      if (values.length === 1 && (values[0] !== '' || !isBareFlag(req.rawQuery, name)))
        return { key: values[0]!, where: 'query', name };
    }
  }
  return null;
}

function authenticate(ctx: PluginContext, state: State, found: Found): void {
  const conf = state.conf;
  let failure: AuthFailure | null = null;
  if (found === 'duplicate') {
    failure = unauthorized('Duplicate API key found', 'duplicate key', {
      'WWW-Authenticate': state.wwwAuthenticate,
    });
  } else if (found === null || found.key === '') {
    if (found !== null && conf.hide_credentials) hide(ctx, found);
    failure = unauthorized('No API key found in request', 'no key', {
      'WWW-Authenticate': state.wwwAuthenticate,
    });
  } else {
    if (conf.hide_credentials) hide(ctx, found);
    const entry = state.keys.find(found.key);
    if (entry === undefined || (entry.expiresAt !== Infinity && entry.expiresAt <= nowSeconds())) {
      failure = unauthorized('Unauthorized', entry === undefined ? 'unknown key' : 'expired key', {
        'WWW-Authenticate': state.wwwAuthenticate,
      });
    } else {
      succeed(ctx, entry.consumer, {
        id: entry.credential.id,
        type: 'key-auth',
        identifier: entry.credential.id,
        consumerId: entry.consumer.id,
      });
      return;
    }
  }
  fail(ctx, conf.anonymous, failure, 'key-auth');
}

/** hide_credentials for a key found in a header or the query (a body key is hidden when read). */
function hide(ctx: PluginContext, found: { where: 'header' | 'query' | 'body'; name: string }): void {
  if (found.where === 'header') ctx.removeUpstreamHeader(found.name);
  else if (found.where === 'query') ctx.removeUpstreamQueryArg(found.name);
}

async function fromBody(ctx: PluginContext, state: State): Promise<void> {
  const conf = state.conf;
  const contentType = ctx.request.header('content-type');
  const body = await ctx.request.body();
  const parsed = parseBody(contentType, body);
  let found: Found = null;
  if (parsed !== null) {
    for (const name of conf.key_names) {
      const v = parsed[name];
      if (Array.isArray(v)) {
        found = 'duplicate';
        break;
      }
      if (typeof v === 'string') {
        found = { key: v, where: 'body', name };
        if (conf.hide_credentials) ctx.setUpstreamBody(bodyWithout(contentType!, parsed, [name]));
        break;
      }
    }
  }
  authenticate(ctx, state, found);
}

export default definePlugin({
  ...keyAuthSpec,
  init(conf, { snapshot }): State {
    return {
      conf,
      keys: keyIndex(snapshot),
      wwwAuthenticate: conf.realm === null ? 'Key' : `Key realm="${conf.realm}"`,
    };
  },
  access(ctx, state) {
    const conf = state.conf;
    if (skipPreflight(ctx, conf.run_on_preflight)) return;
    if (alreadyAuthenticated(ctx, conf.anonymous)) return;
    const found = findSync(ctx, conf);
    if (found === null && conf.key_in_body) return fromBody(ctx, state);
    authenticate(ctx, state, found);
  },
});
