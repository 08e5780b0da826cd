/**
 * The control plane's side of the oauth2 plugin (docs/plugins.md, oauth2): the grant ledger that
 * makes authorization codes and refresh tokens single use across every data plane, and the purge
 * that keeps the used-token table and the revocation list bounded.
 *
 * A redemption is not a config write: the grant's jti (and the access token revoked with it) go
 * to oauth2_used_tokens (store/oauth2-used-tokens.ts), so the config version, history and
 * snapshots are untouched. The revoked access token reaches DPs on the cluster stream instead
 * (`onRevoked`: this replica's DPs and, over NATS, the other replicas'; oauth2/revocations.ts).
 */
import { ENTITIES, type Logger } from '@gatehouse/shared';
import type { OAuth2GrantRedemption, OAuth2TokenId } from '@gatehouse/proto';
import { runExclusive } from '../jobs/exclusive.js';
import type { ConfigStore } from '../store/index.js';
import { entityFromRow, type Row } from '../store/generic-rows.js';
import { insertUsedTokenOnce, purgeExpiredUsedTokens, type UsedToken } from '../store/oauth2-used-tokens.js';

/** How often each replica tries the purge (one replica runs it: the job's advisory lock). */
export const REVOCATION_PURGE_INTERVAL_MS = 60_000;
/** The purge's job name (its advisory lock, jobs/exclusive.ts). */
export const OAUTH2_PURGE_JOB = 'oauth2-purge';
/** Revocations deleted per purge run, in one config write (the rest wait for the next run). */
const PURGE_BATCH = 500;

const usedToken = (t: OAuth2TokenId): UsedToken => ({
  jti: t.jti,
  credentialId: t.credentialId,
  expiresAt: Number(t.expiresAt),
});

/** Told the access tokens a redemption revoked (to push them to every DP). */
export type RevokedListener = (tokens: UsedToken[]) => void;

/**
 * Redeems a grant: records its jti as used and the ones revoked with it, in one transaction.
 * True when it was used before, revoked through the Admin API, or cannot be (its credential was
 * deleted, the id is malformed): the DP then refuses the grant. Two redemptions of one grant at
 * once, on any replicas: the jti's primary key lets exactly one win.
 */
export function grantRedeemer(
  store: ConfigStore,
  onRevoked: RevokedListener = () => {},
): (r: OAuth2GrantRedemption) => Promise<boolean> {
  return async (r) => {
    if (r.grant === undefined) return true;
    const grant = usedToken(r.grant);
    const revoked = await store.prisma.$transaction(async (tx) => {
      if (!(await insertUsedTokenOnce(tx, grant))) return null;
      const written: UsedToken[] = [];
      for (const t of r.alsoRevoke.map(usedToken))
        if (await insertUsedTokenOnce(tx, t, true)) written.push(t);
      return written;
    });
    if (revoked === null) return true;
    if (revoked.length > 0) onRevoked(revoked);
    return false;
  };
}

export interface PurgeResult {
  /** oauth2_used_tokens rows deleted. */
  used: number;
  /** oauth2_token_revocations deleted (one config write for all of them). */
  revocations: number;
}

/** Rolls back a purge write that found nothing left to delete (no version bump). */
class NothingToPurge extends Error {}

/**
 * Deletes used tokens and revocations whose tokens have expired (never-expiring ones, 0, stay),
 * on one CP replica at a time. Null when another replica holds the job's lock.
 */
export async function purgeExpiredOAuth2(store: ConfigStore, now = Date.now()): Promise<PurgeResult | null> {
  const cutoff = Math.floor(now / 1000);
  const expired = { expires_at: { gt: 0, lte: cutoff } };
  // The lock's transaction holds a connection (on PGlite the only one): the config write that
  // deletes revocations runs after it, and finds nothing when another replica got there first.
  const run = await runExclusive(store.prisma, OAUTH2_PURGE_JOB, async (tx) => ({
    used: await purgeExpiredUsedTokens(tx, cutoff),
    due: await tx.oauth2TokenRevocation.count({ where: expired }),
  }));
  if (!run.ran) return null;
  let revocations = 0;
  if (run.result.due > 0) {
    try {
      revocations = await store.write(async (tx, _version, log) => {
        const rows = await tx.oauth2TokenRevocation.findMany({ where: expired, take: PURGE_BATCH });
        if (rows.length === 0) throw new NothingToPurge();
        await tx.oauth2TokenRevocation.deleteMany({ where: { id: { in: rows.map((x) => x.id) } } });
        const def = ENTITIES.oauth2_token_revocations;
        for (const row of rows) log.deleted(def.kind, entityFromRow(def, row as Row));
        return rows.length;
      });
    } catch (e) {
      if (!(e instanceof NothingToPurge)) throw e;
    }
  }
  return { used: run.result.used, revocations };
}

/** Runs the purge every `intervalMs`; returns its stop. */
export function startOAuth2Purge(
  store: ConfigStore,
  logger: Logger,
  intervalMs = REVOCATION_PURGE_INTERVAL_MS,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    purgeExpiredOAuth2(store)
      .then(
        (r) => {
          if (r !== null && r.used + r.revocations > 0)
            logger.info(r, 'purged expired oauth2 used tokens and revocations');
        },
        (err: unknown) => logger.warn({ err }, 'purging expired oauth2 tokens failed'),
      )
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
