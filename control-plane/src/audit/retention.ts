/**
 * `--audit-retention` (GATEHOUSE_AUDIT_RETENTION): how long audit entries are kept, checked once
 * at start, and the timer that runs the retention job (jobs/audit-retention.ts) on every replica
 * (one at a time does the work).
 */
import type { Logger } from '@gatehouse/shared';
import type { PrismaClient } from '../db/index.js';
import { parseDuration } from '../analytics/query.js';
import { AUDIT_RETENTION_INTERVAL_MS, pruneAuditLog } from '../jobs/audit-retention.js';

/** Kong's `audit_log_record_ttl` default. */
export const DEFAULT_AUDIT_RETENTION = '30d';
export const DEFAULT_AUDIT_RETENTION_MS = 30 * 86_400_000;
const MIN_MS = 3_600_000;
const MAX_MS = 3650 * 86_400_000;

/** The retention in milliseconds (0: keep every entry); throws an Error naming what is wrong. */
export function parseAuditRetention(text: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const ms = parseDuration(t);
  if (ms === null)
    throw new Error(`expected a duration such as 30d, 90d or 720h, or 0 to keep every entry; got "${text}"`);
  if (ms < MIN_MS || ms > MAX_MS)
    throw new Error(`must be between 1h and 3650d (or 0 to keep every entry); got "${text}"`);
  return ms;
}

/** Runs the retention job now and every 10 minutes; returns the function that stops it. */
export function startAuditRetention(prisma: PrismaClient, retentionMs: number, logger: Logger): () => void {
  if (retentionMs <= 0) return () => {};
  const run = async () => {
    try {
      const n = await pruneAuditLog(prisma, retentionMs);
      if (n) logger.info({ rows: n }, 'audit: entries past the retention deleted');
    } catch (err) {
      logger.warn({ err }, 'audit: retention run failed');
    }
  };
  const timer = setInterval(() => void run(), AUDIT_RETENTION_INTERVAL_MS);
  timer.unref();
  void run();
  return () => clearInterval(timer);
}
