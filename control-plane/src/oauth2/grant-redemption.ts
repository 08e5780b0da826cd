/**
 * The control plane's side of the oauth2 plugin (docs/plugins.md, oauth2): the grant ledger that
 * makes authorization codes and refresh tokens single use across every data plane, and the purge
 * that keeps the revocation list bounded. A redeemed or revoked token id is an
 * oauth2_token_revocations row, so it reaches every DP in the snapshot, as an Admin API
 * revocation does.
 */
import { isGatehouseError, type Logger } from '@gatehouse/shared';
import type { OAuth2GrantRedemption, OAuth2TokenId } from '@gatehouse/proto';
import type { ConfigStore } from '../store/index.js';

/** How often the CP deletes revocations whose tokens have expired. */
export const REVOCATION_PURGE_INTERVAL_MS = 60_000;
/** Rows deleted per purge run (the rest wait for the next run). */
const PURGE_BATCH = 500;

const row = (t: OAuth2TokenId) => ({
  credential: { id: t.credentialId },
  jti: t.jti,
  expires_at: Number(t.expiresAt),
});

/**
 * Redeems a grant: records its jti (and the ones revoked with it) as revoked. True when it was
 * already there, or cannot be (its credential was deleted, the id is malformed): the DP then
 * refuses the grant. Two DPs redeeming the same grant at once: the unique jti lets one win.
 */
export function grantRedeemer(store: ConfigStore): (r: OAuth2GrantRedemption) => Promise<boolean> {
  const repo = store.entities.oauth2_token_revocations;
  return async (r) => {
    if (r.grant === undefined) return true;
    try {
      await repo.create(row(r.grant));
    } catch (e) {
      if (isGatehouseError(e) && e.status < 500) return true;
      throw e;
    }
    for (const t of r.alsoRevoke) {
      try {
        await repo.create(row(t));
      } catch (e) {
        // Already revoked (or its credential is gone): nothing left to do for it.
        if (!(isGatehouseError(e) && e.status < 500)) throw e;
      }
    }
    return false;
  };
}

/** Deletes revocations whose token has expired (a never-expiring one, 0, stays). Returns how many. */
export async function purgeExpiredRevocations(store: ConfigStore, now = Date.now()): Promise<number> {
  const cutoff = Math.floor(now / 1000);
  const expired = await store.prisma.oauth2TokenRevocation.findMany({
    where: { expires_at: { gt: 0, lte: cutoff } },
    select: { id: true },
    take: PURGE_BATCH,
  });
  const repo = store.entities.oauth2_token_revocations;
  let n = 0;
  for (const { id } of expired) {
    try {
      await repo.delete(id);
      n++;
    } catch (e) {
      // Deleted meanwhile (another replica, or its credential): fine.
      if (!(isGatehouseError(e) && e.status === 404)) throw e;
    }
  }
  return n;
}

/** Runs the purge every REVOCATION_PURGE_INTERVAL_MS; returns its stop. */
export function startRevocationPurge(
  store: ConfigStore,
  logger: Logger,
  intervalMs = REVOCATION_PURGE_INTERVAL_MS,
): () => void {
  const timer = setInterval(() => {
    purgeExpiredRevocations(store).then(
      (n) => {
        if (n > 0) logger.info({ purged: n }, 'purged expired oauth2 token revocations');
      },
      (err: unknown) => logger.warn({ err }, 'purging expired oauth2 token revocations failed'),
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
