/**
 * The config history's retention (`--config-history-retention`): deletes the published versions
 * beyond the newest `count` or older than `maxAgeMs` (never the newest one), the rows of writes
 * that were coalesced into a later snapshot and never published (once a newer version is recorded
 * and they are an hour old), then the contents no version references any more. On one CP replica
 * at a time (the job's advisory lock, exclusive.ts).
 */
import type { PrismaClient } from '../db/index.js';
import type { ConfigHistoryRetention } from '../history/retention-setting.js';
import { runExclusive } from './exclusive.js';

export const CONFIG_HISTORY_RETENTION_JOB = 'config-history-retention';
/** How often each replica tries the job. */
export const CONFIG_HISTORY_RETENTION_INTERVAL_MS = 600_000;
/** A write's row left unpublished this long, below a recorded version, is a coalesced one. */
const UNPUBLISHED_GRACE_MS = 3_600_000;

/** Versions (published or not) deleted, or null when another replica holds the job's lock. */
export async function pruneConfigHistory(
  prisma: PrismaClient,
  retention: ConfigHistoryRetention,
  now: number = Date.now(),
): Promise<number | null> {
  const run = await runExclusive(prisma, CONFIG_HISTORY_RETENTION_JOB, async (tx) => {
    const newest = await tx.configHistory.findFirst({
      where: { hash: { not: null } },
      orderBy: { version: 'desc' },
      select: { version: true },
    });
    if (!newest) return 0;
    let deleted = 0;
    if (retention.count !== null) {
      const keep = await tx.configHistory.findMany({
        where: { hash: { not: null } },
        orderBy: { version: 'desc' },
        skip: retention.count - 1,
        take: 1,
        select: { version: true },
      });
      const oldestKept = keep[0]?.version;
      if (oldestKept !== undefined)
        deleted += (
          await tx.configHistory.deleteMany({
            where: { version: { lt: oldestKept }, hash: { not: null } },
          })
        ).count;
    }
    if (retention.maxAgeMs !== null)
      deleted += (
        await tx.configHistory.deleteMany({
          where: {
            version: { lt: newest.version },
            hash: { not: null },
            created_at: { lt: new Date(now - retention.maxAgeMs) },
          },
        })
      ).count;
    deleted += (
      await tx.configHistory.deleteMany({
        where: {
          version: { lt: newest.version },
          hash: null,
          created_at: { lt: new Date(now - UNPUBLISHED_GRACE_MS) },
        },
      })
    ).count;
    await tx.configHistoryContent.deleteMany({ where: { versions: { none: {} } } });
    return deleted;
  });
  return run.ran ? run.result : null;
}
