/**
 * oauth2_used_tokens: the jtis of redeemed oauth2 grants (authorization codes, refresh tokens)
 * and of the access tokens revoked with them. Not configuration: a row never bumps the config
 * version, never enters the config history or a snapshot. Each jti is written once
 * (`INSERT … ON CONFLICT DO NOTHING`), so of two redemptions of one grant, on any CP replica,
 * exactly one wins; rows go once their token has expired (purgeExpiredUsedTokens).
 */
import { isUuid } from '@gatehouse/shared';
import type { Db } from './tx.js';

/** One token id: the jti, the oauth2_credentials id it belongs to, its expiry. */
export interface UsedToken {
  readonly jti: string;
  readonly credentialId: string;
  /** Unix seconds; 0 when the token never expires (the row then lives as long as its credential). */
  readonly expiresAt: number;
}

/** Longest jti stored (ours are 22 characters; anything near this is not one of ours). */
export const MAX_JTI_LENGTH = 200;
/** Latest expiry stored (year 2286): beyond it the value is not a time. */
const MAX_EXPIRES_AT = 9_999_999_999;

/** Can `t` be stored (a jti of printable ASCII, a credential UUID, a whole expiry in range)? */
export function isStorableToken(t: UsedToken): boolean {
  return (
    typeof t.jti === 'string' &&
    t.jti.length > 0 &&
    t.jti.length <= MAX_JTI_LENGTH &&
    /^[\x21-\x7e]+$/.test(t.jti) &&
    typeof t.credentialId === 'string' &&
    isUuid(t.credentialId) &&
    Number.isSafeInteger(t.expiresAt) &&
    t.expiresAt >= 0 &&
    t.expiresAt <= MAX_EXPIRES_AT
  );
}

/**
 * Records `token` as used (`revoked`: an access token DPs must refuse). True when this call
 * wrote it; false when the jti was there already, was revoked through the Admin API
 * (oauth2_token_revocations), its credential is gone, or the token is not storable.
 */
export async function insertUsedTokenOnce(db: Db, token: UsedToken, revoked = false): Promise<boolean> {
  if (!isStorableToken(token)) return false;
  const credentialId = token.credentialId.toLowerCase();
  const written = await db.$executeRaw`
    INSERT INTO oauth2_used_tokens (jti, credential_id, expires_at, revoked)
    SELECT ${token.jti}, ${credentialId}::uuid, ${BigInt(token.expiresAt)}, ${revoked}
    WHERE EXISTS (SELECT 1 FROM oauth2_credentials WHERE id = ${credentialId}::uuid)
      AND NOT EXISTS (SELECT 1 FROM oauth2_token_revocations WHERE jti = ${token.jti})
    ON CONFLICT (jti) DO NOTHING`;
  return written === 1;
}

/**
 * The revoked access tokens not yet expired at `nowSeconds` (never-expiring ones first, then the
 * latest to expire), at most `limit`: what a DP that (re)connects is sent.
 */
export async function liveRevokedTokens(db: Db, nowSeconds: number, limit: number): Promise<UsedToken[]> {
  const select = { jti: true, credential_id: true, expires_at: true } as const;
  const forever = await db.oauth2UsedToken.findMany({
    where: { revoked: true, expires_at: 0n },
    select,
    take: limit,
  });
  const expiring = await db.oauth2UsedToken.findMany({
    where: { revoked: true, expires_at: { gt: BigInt(nowSeconds) } },
    select,
    orderBy: { expires_at: 'desc' },
    take: Math.max(0, limit - forever.length),
  });
  return [...forever, ...expiring].map((r) => ({
    jti: r.jti,
    credentialId: r.credential_id,
    expiresAt: Number(r.expires_at),
  }));
}

/** Deletes the rows whose token expired at or before `nowSeconds` (never-expiring ones stay). */
export async function purgeExpiredUsedTokens(db: Db, nowSeconds: number): Promise<number> {
  const { count } = await db.oauth2UsedToken.deleteMany({
    where: { expires_at: { gt: 0n, lte: BigInt(nowSeconds) } },
  });
  return count;
}

/** A row as `/oauth2_tokens` lists it. */
export interface UsedTokenRow extends UsedToken {
  /** True: an access token DPs refuse; false: a redeemed code or refresh token. */
  readonly revoked: boolean;
  /** Unix seconds: when it was redeemed or revoked. */
  readonly usedAt: number;
}

const rowOf = (r: {
  jti: string;
  credential_id: string;
  expires_at: bigint;
  revoked: boolean;
  used_at: Date;
}): UsedTokenRow => ({
  jti: r.jti,
  credentialId: r.credential_id,
  expiresAt: Number(r.expires_at),
  revoked: r.revoked,
  usedAt: Math.floor(r.used_at.getTime() / 1000),
});

/** A page of rows by jti (keyset: those after `after`), of one credential when given. */
export async function listUsedTokens(
  db: Db,
  o: { size: number; after?: string | undefined; credentialId?: string | undefined },
): Promise<{ rows: UsedTokenRow[]; more: boolean }> {
  const rows = await db.oauth2UsedToken.findMany({
    where: {
      ...(o.after === undefined ? {} : { jti: { gt: o.after } }),
      ...(o.credentialId === undefined ? {} : { credential_id: o.credentialId.toLowerCase() }),
    },
    orderBy: { jti: 'asc' },
    take: o.size + 1,
  });
  return { rows: rows.slice(0, o.size).map(rowOf), more: rows.length > o.size };
}

/** The row of `jti`, or null. */
export async function getUsedToken(db: Db, jti: string): Promise<UsedTokenRow | null> {
  if (jti.length === 0 || jti.length > MAX_JTI_LENGTH) return null;
  const r = await db.oauth2UsedToken.findUnique({ where: { jti } });
  return r === null ? null : rowOf(r);
}

/**
 * Marks `jti` revoked (DPs then refuse it as an access token, code or refresh token); the row
 * after the change, or null when there is none. Not configuration: no version bump.
 */
export async function markRevoked(db: Db, jti: string): Promise<UsedTokenRow | null> {
  if (jti.length === 0 || jti.length > MAX_JTI_LENGTH) return null;
  const { count } = await db.oauth2UsedToken.updateMany({ where: { jti }, data: { revoked: true } });
  return count === 0 ? null : getUsedToken(db, jti);
}
