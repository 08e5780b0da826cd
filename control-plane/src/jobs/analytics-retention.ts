/**
 * The analytics history's retention: deletes the rows older than each tier's retention (the
 * 5-minute rows after `--analytics-retention-5m`, once their hour is rolled up; the hourly rows
 * after `--analytics-retention`), on one CP replica at a time (the job's advisory lock,
 * exclusive.ts). A replica that finds the lock taken skips the run: another one is pruning the
 * same rows.
 */
import type { PrismaClient } from '../db/index.js';
import { pruneHistory } from '../analytics/history-store.js';
import { runExclusive } from './exclusive.js';

export const ANALYTICS_RETENTION_JOB = 'analytics-retention';
/** How often each replica tries the job. */
export const ANALYTICS_RETENTION_INTERVAL_MS = 600_000;

/** How long each tier keeps rows (milliseconds). */
export interface HistoryRetention {
  /** The history's: the hourly tier's (`--analytics-retention`). */
  retentionMs: number;
  /** The 5-minute tier's (`--analytics-retention-5m`, at most retentionMs). */
  fiveMinuteRetentionMs: number;
}

/** Rows deleted, or null when another replica holds the job's lock. */
export async function pruneAnalyticsHistory(
  prisma: PrismaClient,
  retention: HistoryRetention,
  now: number = Date.now(),
): Promise<number | null> {
  const run = await runExclusive(prisma, ANALYTICS_RETENTION_JOB, (tx) =>
    pruneHistory(tx, {
      fiveMinuteBeforeMs: now - retention.fiveMinuteRetentionMs,
      hourlyBeforeMs: now - retention.retentionMs,
    }),
  );
  return run.ran ? run.result : null;
}
