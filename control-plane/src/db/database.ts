import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { defineError, type Logger } from '@gatehouse/shared';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { initPgliteDir } from './pglite-init.js';
import { createSchemaEngine, NO_FILTERS, readMigrations } from './schema-engine.js';

export type { PrismaClient };

export interface OpenDatabaseOptions {
  /** Postgres URL; unset => embedded PGlite persisted in `dataDir`. */
  databaseUrl?: string | undefined;
  /** Folder holding the embedded database's files (created if missing; ignored with a URL). */
  dataDir: string;
  logger: Logger;
  /** Defaults to the control-plane package's `prisma/` folder. */
  prismaDir?: string;
}

export interface Database {
  readonly prisma: PrismaClient;
  readonly kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export const DatabaseErrors = {
  migrationFailed: defineError('GH_ERR_DB_MIGRATION_FAILED', 500),
  connectFailed: defineError('GH_ERR_DB_CONNECT_FAILED', 500),
} as const;

/**
 * Settings of the embedded Postgres, on top of PGlite's own. Its shared buffers live in the
 * process's WebAssembly memory, which never shrinks: Postgres's default of 128 MB was a quarter of
 * an idle control plane's RSS, for a database whose largest configurations (10,000 services,
 * routes and consumers) are a few tens of MB that the OS page cache keeps warm anyway.
 */
export const PGLITE_SETTINGS: readonly string[] = ['-c', 'shared_buffers=16MB'];

/**
 * V8 flags set before the embedded Postgres is compiled (they apply to the whole process, and to
 * WebAssembly compiled after them). PGlite is a 9 MB WebAssembly module; by default V8 runs its
 * functions with the baseline compiler (Liftoff) and recompiles the hot ones with the optimizing
 * one (TurboFan) on background threads. Optimizing Postgres's large functions (the executor,
 * the parser) takes ~90 MB of compiler memory at peak, malloc'ed on those threads, and glibc keeps
 * their arenas resident after the memory is freed: ~100 MB of a control plane's ~300 MB RSS when
 * idle after start, for no lasting use. With the baseline compiler only, the peak is ~16 MB.
 * The queries the control plane runs are small (an Admin API write is a few row reads and writes),
 * so the baseline code's speed is not what limits a write or an import (see test/bench/README.md,
 * "Control-plane memory", for the figures).
 */
export const PGLITE_V8_FLAGS: readonly string[] = ['--liftoff-only'];

/**
 * Query plans Prisma keeps (its default: 1,000). Prisma does not parameterize list values, so every
 * write of a route with new `paths`/`hosts`/`tags` compiles and caches a plan of its own, about
 * 15 KB each: with the default, a control plane's heap grew by ~15 MB over its first thousand
 * route writes and never gave it back. The parameterized plans every other query uses are a few
 * dozen, which this keeps.
 */
export const QUERY_PLAN_CACHE_SIZE = 100;

/**
 * What to do when DATABASE_URL names a database the server does not have (Postgres's
 * `invalid_catalog_name`): the control plane never creates databases (as Kong, it migrates the
 * one it is given), so say how to create it.
 */
export function missingDatabaseHint(error: unknown, databaseUrl: string | undefined): string {
  if (!databaseUrl) return '';
  let missing = false;
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === '3D000' || (typeof message === 'string' && /database .* does not exist/i.test(message)))
      missing = true;
  }
  if (!missing) return '';
  let name = 'gatehouse';
  let where = '';
  try {
    const url = new URL(databaseUrl);
    name = decodeURIComponent(url.pathname.slice(1)) || name;
    where = ` -h ${url.hostname}${url.port ? ` -p ${url.port}` : ''}${url.username ? ` -U ${decodeURIComponent(url.username)}` : ''}`;
  } catch {
    // an unparsable URL fails earlier, at connect; keep the generic hint
  }
  return ` (create it first: createdb${where} ${name})`;
}

/** `control-plane/prisma` whether we run from src/ (vitest, tsx) or dist/ (node). */
export const DEFAULT_PRISMA_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'prisma',
);

/**
 * Opens the control-plane database and brings its schema up to date with the migrations in
 * `prisma/migrations` (the wasm schema engine's applyMigrations — same bookkeeping table as
 * `prisma migrate deploy`). Real Postgres through @prisma/adapter-pg when `databaseUrl` is set,
 * otherwise embedded PGlite persisted in `dataDir`.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { logger } = options;
  const prismaDir = options.prismaDir ?? DEFAULT_PRISMA_DIR;
  let adapter: SqlMigrationAwareDriverAdapterFactory;
  let migrationAdapter: SqlMigrationAwareDriverAdapterFactory;
  let closeMigrationDriver = async () => {};
  let closeDriver: () => Promise<void>;
  let kind: Database['kind'];
  if (options.databaseUrl) {
    kind = 'postgres';
    // Pools we own, so closing them releases every connection (the migration connection holds
    // Prisma's advisory lock until it is closed).
    const pool = new pg.Pool({ connectionString: options.databaseUrl });
    const migrationPool = new pg.Pool({ connectionString: options.databaseUrl, max: 1 });
    // An idle connection that Postgres drops (restart, failover, admin kill) is reported on the
    // pool; without a listener that event would crash the control plane. The pool reconnects on
    // the next query, so it is only worth a warning.
    for (const p of [pool, migrationPool]) {
      p.on('error', (err) => logger.warn({ err }, 'idle Postgres connection lost; it will be reopened'));
    }
    adapter = new PrismaPg(pool);
    migrationAdapter = new PrismaPg(migrationPool);
    closeMigrationDriver = () => migrationPool.end();
    closeDriver = () => pool.end();
  } else {
    kind = 'pglite';
    const dir = options.dataDir;
    await mkdir(dir, { recursive: true });
    let pglite: PGlite;
    try {
      await initPgliteDir(dir);
      for (const flag of PGLITE_V8_FLAGS) setFlagsFromString(flag);
      pglite = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS] });
    } catch (e) {
      throw DatabaseErrors.connectFailed(
        `cannot open embedded database in ${dir}: ${(e as Error).message}`,
        { dir },
        { cause: e },
      );
    }
    adapter = new PrismaPGlite(pglite);
    migrationAdapter = adapter;
    closeDriver = () => pglite.close();
  }

  try {
    await migrate(migrationAdapter, prismaDir, logger);
  } catch (e) {
    await closeMigrationDriver();
    await closeDriver();
    throw DatabaseErrors.migrationFailed(
      `database migration failed: ${(e as Error).message}${missingDatabaseHint(e, options.databaseUrl)}`,
      { kind },
      { cause: e },
    );
  }

  await closeMigrationDriver();
  const prisma = new PrismaClient({ adapter, queryPlanCacheMaxSize: QUERY_PLAN_CACHE_SIZE });
  try {
    await prisma.$connect();
  } catch (e) {
    await closeDriver();
    throw DatabaseErrors.connectFailed(
      `cannot connect to the database: ${(e as Error).message}`,
      { kind },
      { cause: e },
    );
  }
  logger.info({ kind }, 'database ready');
  let closed = false;
  return {
    prisma,
    kind,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}

async function migrate(adapter: SqlMigrationAwareDriverAdapterFactory, prismaDir: string, logger: Logger) {
  const engine = await createSchemaEngine(adapter, path.join(prismaDir, 'schema.prisma'), (message) =>
    logger.debug({ engine: message }, 'schema engine'),
  );
  try {
    const migrationsList = await readMigrations(path.join(prismaDir, 'migrations'));
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTERS });
    if (appliedMigrationNames.length)
      logger.info({ migrations: appliedMigrationNames }, 'applied database migrations');
  } finally {
    engine.free();
  }
}
