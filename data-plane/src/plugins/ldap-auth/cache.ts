/**
 * What a data plane remembers between requests, shared by every ldap-auth instance of the process
 * (Kong's node-level cache) and kept across snapshots:
 *
 * - bind results (success and failure, as Kong caches both) for `cache_ttl` seconds, in a bounded
 *   LRU keyed by an HMAC (a random per-process key) of the server, base DN, attribute, TTL,
 *   username and password: the password is never kept, in clear or as a plain hash;
 * - failed binds per user and server, a token bucket: `FAILED_BINDS_BURST` failed binds, then one
 *   more every `FAILED_BIND_REFILL_MS`; past that, the user's binds are refused without asking the
 *   server (401) until a token is back. This caps password guessing through the gateway and keeps
 *   a client from locking the account in the directory. A right password cached earlier still
 *   passes (the cache is consulted first).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { LdapAuthConfig } from './schema.js';

export const RESULTS_MAX = 10_000;
export const FAILED_BINDS_BURST = 5;
export const FAILED_BIND_REFILL_MS = 12_000;
const USERS_MAX = 10_000;

const KEY = randomBytes(32);

const mac = (parts: readonly (string | number | boolean)[]): string => {
  const h = createHmac('sha256', KEY);
  for (const p of parts) h.update(String(p)).update('\0');
  return h.digest('base64');
};

const serverOf = (c: LdapAuthConfig) =>
  [c.ldap_host.toLowerCase(), c.ldap_port, c.ldaps, c.start_tls, c.base_dn, c.attribute] as const;

/** The cache key of a (config, username, password): an HMAC, never the password. */
export const resultKey = (c: LdapAuthConfig, username: string, password: string): string =>
  mac([...serverOf(c), c.cache_ttl, username, password]);

const userKey = (c: LdapAuthConfig, username: string): string => mac([...serverOf(c), username]);

interface Bucket {
  tokens: number;
  at: number;
}

export class LdapAuthCache {
  // ttlResolution 0: the clock is read at each lookup (an entry is never used past its ttl).
  private readonly results = new LRUCache<string, boolean>({ max: RESULTS_MAX, ttlResolution: 0 });
  private readonly failures = new LRUCache<string, Bucket>({ max: USERS_MAX });

  constructor(private readonly now: () => number = Date.now) {}

  /** A remembered bind result, or undefined. */
  result(key: string): boolean | undefined {
    return this.results.get(key);
  }

  remember(key: string, bound: boolean, ttlSeconds: number): void {
    const ttl = Math.floor(ttlSeconds * 1000);
    // lru-cache reads a ttl of 0 as "forever": cache_ttl 0 caches nothing.
    if (ttl >= 1) this.results.set(key, bound, { ttl });
  }

  /** Whether a bind for this user may be tried now (a token left for a failure). */
  mayBind(c: LdapAuthConfig, username: string): boolean {
    const b = this.failures.get(userKey(c, username));
    return b === undefined || this.refill(b) >= 1;
  }

  /** Spends a token for a failed bind. */
  failed(c: LdapAuthConfig, username: string): void {
    const k = userKey(c, username);
    const b = this.failures.get(k) ?? { tokens: FAILED_BINDS_BURST, at: this.now() };
    b.tokens = Math.max(0, this.refill(b) - 1);
    this.failures.set(k, b);
  }

  private refill(b: Bucket): number {
    const t = this.now();
    b.tokens = Math.min(FAILED_BINDS_BURST, b.tokens + (t - b.at) / FAILED_BIND_REFILL_MS);
    b.at = t;
    return b.tokens;
  }
}
