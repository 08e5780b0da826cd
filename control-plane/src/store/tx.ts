import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { ChangeLog } from '../audit/objects.js';

/** An open transaction. */
export type Tx = Prisma.TransactionClient;

/** The client or an open transaction: what a read runs on. */
export type Db = PrismaClient | Tx;

/**
 * Runs one configuration write: bumps the cluster-wide version first, in the same transaction;
 * the write notes each entity it changes in `log`, which the audit log records before the commit.
 */
export type ConfigWriter = <T>(fn: (tx: Tx, version: bigint, log: ChangeLog) => Promise<T>) => Promise<T>;
