/**
 * The audit log's retention (`--audit-retention`, default 30 days as Kong's
 * `audit_log_record_ttl`): deletes the entries recorded before the cutoff, on one CP replica at a
 * time (the job's advisory lock, exclusive.ts). Each table loses a prefix of its chain, never a
 * row in the middle (rows up to the newest `seq` whose timestamp is past the cutoff), and always
 * keeps its newest row, so `gatehouse audit verify` still walks an unbroken chain from the oldest
 * kept row.
 */
import type { PrismaClient } from '../db/index.js';
import type { Tx } from '../store/tx.js';
import type { AuditTable } from '../audit/chain.js';
import { runExclusive } from './exclusive.js';

export const AUDIT_RETENTION_JOB = 'audit-retention';
/** How often each replica tries the job. */
export const AUDIT_RETENTION_INTERVAL_MS = 600_000;

const TABLES: readonly AuditTable[] = ['audit_requests', 'audit_objects'];

async function prunePrefix(tx: Tx, table: AuditTable, cutoff: Date): Promise<number> {
  return tx.$executeRawUnsafe(
    `DELETE FROM ${table} WHERE seq <= (SELECT max(seq) FROM ${table} WHERE request_timestamp < $1::timestamptz)
       AND seq < (SELECT max(seq) FROM ${table})`,
    cutoff.toISOString(),
  );
}

/** Entries deleted, or null when another replica holds the job's lock. */
export async function pruneAuditLog(
  prisma: PrismaClient,
  retentionMs: number,
  now: number = Date.now(),
): Promise<number | null> {
  const cutoff = new Date(now - retentionMs);
  const run = await runExclusive(
    prisma,
    AUDIT_RETENTION_JOB,
    async (tx) => {
      let n = 0;
      for (const table of TABLES) n += await prunePrefix(tx, table, cutoff);
      return n;
    },
    { timeoutMs: 300_000 },
  );
  return run.ran ? run.result : null;
}
