/**
 * Fresh control-plane databases for integration tests: a new Postgres database (created on the
 * server at GATEHOUSE_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres,
 * and dropped afterwards) or a PGlite database in a new temp folder, copied from a migrated
 * template (pglite-template.ts). Migrations are applied by openDatabase, exactly as the control
 * plane does at start (on a copy of the template there are none left to apply).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLogger, type Logger } from '@gatehouse/shared';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { seedPglite } from './pglite-template.js';

export type DbKind = 'postgres' | 'pglite';
export const DB_KINDS: readonly DbKind[] = ['postgres', 'pglite'];

export const POSTGRES_ADMIN_URL =
  process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  kind: DbKind;
  db: Database;
  /** Set for Postgres: the URL of the fresh database (DATABASE_URL for a CP process). */
  databaseUrl?: string;
  /** Temp folder (PGlite's data lives here; also usable as a CP data folder). */
  dataDir: string;
  /** Closes the connection and drops the database / removes the folder. */
  drop(): Promise<void>;
}

export function quietLogger(name = 'test'): Logger {
  return createLogger(name, { level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });
}

/** Creates an empty Postgres database; returns its URL and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gh_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`integration tests need Postgres at ${POSTGRES_ADMIN_URL}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A migrated control-plane database of the given kind, ready for a ConfigStore. */
export async function createTestDatabase(
  kind: DbKind,
  logger: Logger = quietLogger(),
): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-test-'));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (kind === 'pglite') {
    await seedPglite(dataDir);
    const db = await openDatabase({ dataDir, logger });
    return {
      kind,
      db,
      dataDir,
      async drop() {
        await db.close();
        await removeDir();
      },
    };
  }
  const pgdb = await createPostgresDatabase();
  let db: Database;
  try {
    db = await openDatabase({ databaseUrl: pgdb.url, dataDir, logger });
  } catch (e) {
    await pgdb.drop();
    await removeDir();
    throw e;
  }
  return {
    kind,
    db,
    databaseUrl: pgdb.url,
    dataDir,
    async drop() {
      await db.close();
      await pgdb.drop();
      await removeDir();
    },
  };
}
