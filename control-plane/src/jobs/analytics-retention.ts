/**
 * The analytics history's retention: deletes the `analytics_history` rows older than the
 * retention, on one CP replica at a time (the job's advisory lock, exclusive.ts). A replica that
 * finds the lock taken skips the run: another one is pruning the same rows.
 */
import type { PrismaClient } from '../db/index.js';
import { pruneHistory } from '../analytics/history-store.js';
import { runExclusive } from './exclusive.js';

export const ANALYTICS_RETENTION_JOB = 'analytics-retention';
/** How often each replica tries the job. */
export const ANALYTICS_RETENTION_INTERVAL_MS = 600_000;

/** Rows deleted, or null when another replica holds the job's lock. */
export async function pruneAnalyticsHistory(
  prisma: PrismaClient,
  retentionMs: number,
  now: number = Date.now(),
): Promise<number | null> {
  const run = await runExclusive(prisma, ANALYTICS_RETENTION_JOB, (tx) =>
    pruneHistory(tx, now - retentionMs),
  );
  return run.ran ? run.result : null;
}
