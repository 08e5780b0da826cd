/**
 * Periodic jobs that must not run on two CP replicas at once (registry cleanup, retention):
 * each run takes a Postgres advisory lock, `pg_try_advisory_xact_lock(namespace, hashtext(job))`,
 * in the transaction that does the work. A replica that does not get the lock skips that run
 * (another replica is doing it); the lock ends with the transaction, so a replica that dies
 * mid-run releases it with its connection. No leader, no lease table: Postgres is the arbiter.
 * On PGlite (one process) the lock is always free.
 */
import type { PrismaClient } from '../db/index.js';
import type { Tx } from '../store/tx.js';

/** The first key of every Gatehouse job lock ("GH" + 1), so they stay clear of other users' locks. */
export const JOB_LOCK_NAMESPACE = 0x4748_0001;

export type ExclusiveRun<T> = { ran: true; result: T } | { ran: false };

/**
 * Runs `fn` in a transaction holding the job's advisory lock; `{ ran: false }` (without calling
 * `fn`) when another session holds it.
 */
export async function runExclusive<T>(
  prisma: PrismaClient,
  job: string,
  fn: (tx: Tx) => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<ExclusiveRun<T>> {
  return prisma.$transaction(
    async (tx) => {
      const rows = await tx.$queryRaw<{ locked: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(${JOB_LOCK_NAMESPACE}::int, hashtext(${job})) AS locked`;
      if (rows[0]?.locked !== true) return { ran: false } as const;
      return { ran: true, result: await fn(tx) } as const;
    },
    { timeout: options.timeoutMs ?? 60_000, maxWait: 10_000 },
  );
}
