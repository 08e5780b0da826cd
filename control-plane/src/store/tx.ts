import type { Prisma, PrismaClient } from '../generated/prisma/client.js';

/** An open transaction. */
export type Tx = Prisma.TransactionClient;

/** The client or an open transaction: what a read runs on. */
export type Db = PrismaClient | Tx;

/** Runs one configuration write: bumps the cluster-wide version first, in the same transaction. */
export type ConfigWriter = <T>(fn: (tx: Tx, version: bigint) => Promise<T>) => Promise<T>;
