/**
 * oauth2 access tokens revoked outside the configuration: the one a refresh token came with,
 * revoked when the refresh token is redeemed. The control plane pushes them on the cluster stream
 * (OAuth2Revocations: each as it happens, the whole live list after Hello); the DP primary keeps
 * the node's list and passes it to every worker (a worker that starts gets the whole list), where
 * the oauth2 plugin refuses a listed token until it expires (clients.ts). Revocations made
 * through the Admin API are configuration and come in the snapshot instead.
 *
 * Bounded: at most `max` entries (MAX_OAUTH2_REVOCATIONS); expired ones are dropped first, then
 * (only past the bound) the ones that expire soonest. Whatever arrives is checked here, so a
 * malformed entry is ignored, never stored.
 */
import { MAX_OAUTH2_REVOCATIONS } from '@gatehouse/proto/src/limits';
import { nowSeconds } from './tokens.js';

export interface RevokedToken {
  readonly jti: string;
  /** Unix seconds; 0 when the token never expires. */
  readonly expiresAt: number;
}

/** Longest jti kept (ours are 22 characters). */
export const MAX_REVOKED_JTI_LENGTH = 200;
const JTI = /^[\x21-\x7e]+$/;
/** Past the bound, eviction frees this share of `max` at once (so it runs rarely). */
const EVICT_SHARE = 0.1;

/** `value` as a revoked token (jti and expiry only), or null when it is not one. */
export function revokedToken(value: unknown): RevokedToken | null {
  if (typeof value !== 'object' || value === null) return null;
  const { jti, expiresAt } = value as { jti?: unknown; expiresAt?: unknown };
  const exp = typeof expiresAt === 'bigint' ? Number(expiresAt) : expiresAt;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_REVOKED_JTI_LENGTH || !JTI.test(jti))
    return null;
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp) || exp < 0) return null;
  return { jti, expiresAt: exp };
}

const live = (expiresAt: number, now: number) => expiresAt === 0 || expiresAt > now;

export class RevokedTokens {
  private readonly until = new Map<string, number>();
  /** Entries dropped while still live because the list was full. */
  evicted = 0;

  constructor(readonly max: number = MAX_OAUTH2_REVOCATIONS) {}

  get size(): number {
    return this.until.size;
  }

  /**
   * Adds what is valid and not yet expired among `tokens` (anything else is ignored); returns
   * the entries that were new, to pass on.
   */
  add(tokens: Iterable<unknown>, now: number = nowSeconds()): RevokedToken[] {
    const added: RevokedToken[] = [];
    for (const value of tokens) {
      const t = revokedToken(value);
      if (t === null || !live(t.expiresAt, now) || this.until.has(t.jti)) continue;
      this.until.set(t.jti, t.expiresAt);
      added.push(t);
    }
    if (this.until.size > this.max) this.makeRoom(now);
    return added;
  }

  /** True while `jti` is listed and has not expired. */
  has(jti: string, now: number = nowSeconds()): boolean {
    const exp = this.until.get(jti);
    if (exp === undefined) return false;
    if (live(exp, now)) return true;
    this.until.delete(jti);
    return false;
  }

  /** Every live entry (what a starting worker is sent). */
  list(now: number = nowSeconds()): RevokedToken[] {
    const out: RevokedToken[] = [];
    for (const [jti, expiresAt] of this.until) if (live(expiresAt, now)) out.push({ jti, expiresAt });
    return out;
  }

  /** Drops expired entries; still over the bound, the soonest to expire, down to 90 % of it. */
  private makeRoom(now: number): void {
    for (const [jti, exp] of this.until) if (!live(exp, now)) this.until.delete(jti);
    if (this.until.size <= this.max) return;
    const target = Math.max(0, Math.floor(this.max * (1 - EVICT_SHARE)));
    const bySoonest = [...this.until].sort(
      ([, a], [, b]) => (a === 0 ? Infinity : a) - (b === 0 ? Infinity : b),
    );
    for (const [jti] of bySoonest.slice(0, this.until.size - target)) {
      this.until.delete(jti);
      this.evicted++;
    }
  }
}

let current = new RevokedTokens();

/** This process's list (a worker's: filled by the primary; the oauth2 plugin reads it). */
export function revokedTokens(): RevokedTokens {
  return current;
}

/** Replaces this process's list (tests). */
export function setRevokedTokens(list: RevokedTokens): void {
  current = list;
}
