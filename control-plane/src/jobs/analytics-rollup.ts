/**
 * The analytics history's hourly rollup: merges the 5-minute rows of each final hour into the
 * hourly tier (history-store.ts, rollUpHours), on one CP replica at a time (the job's advisory
 * lock, exclusive.ts; a replica that finds it taken skips the run). Idempotent: an hour rolled up
 * twice is written twice with the same rows.
 */
import type { PrismaClient } from '../db/index.js';
import { rollUpHours, type RollupRun } from '../analytics/history-store.js';
import { runExclusive } from './exclusive.js';

export const ANALYTICS_ROLLUP_JOB = 'analytics-rollup';
/** How often each replica tries the job (an hour is ready ~2 h 05 min after its start). */
export const ANALYTICS_ROLLUP_INTERVAL_MS = 300_000;
/** Runs (transactions) one call makes at most while more hours are ready (a first run's backlog). */
const MAX_RUNS_PER_CALL = 20;

/** What the runs rolled up, or null when another replica holds the job's lock. */
export async function rollUpAnalyticsHistory(
  prisma: PrismaClient,
  now: number = Date.now(),
): Promise<RollupRun | null> {
  let total: RollupRun | null = null;
  for (let i = 0; i < MAX_RUNS_PER_CALL; i++) {
    const run = await runExclusive(prisma, ANALYTICS_ROLLUP_JOB, (tx) => rollUpHours(tx, now), {
      timeoutMs: 120_000,
    });
    if (!run.ran) return total;
    const r = run.result;
    total = total
      ? { hours: total.hours + r.hours, rows: total.rows + r.rows, through: r.through, more: r.more }
      : r;
    if (!r.more) break;
  }
  return total;
}
