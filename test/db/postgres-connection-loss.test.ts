/**
 * Postgres dropping the control plane's idle connections (restart, failover, an operator's
 * pg_terminate_backend) must not crash the process: the pool reports the loss and the next
 * query opens a new connection.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { createPostgresDatabase, POSTGRES_ADMIN_URL, quietLogger } from '../helpers/db.js';

describe('control plane database on Postgres', () => {
  let db: Database;
  let pgdb: { url: string; drop(): Promise<void> };
  let url: string;

  beforeAll(async () => {
    pgdb = await createPostgresDatabase();
    url = pgdb.url;
    db = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', logger: quietLogger() });
  });
  afterAll(async () => {
    await db?.close();
    await pgdb?.drop();
  });

  it('survives Postgres terminating its idle connections and keeps answering queries', async () => {
    const store = new ConfigStore(db);
    const before = await store.readConfig();
    const unhandled: unknown[] = [];
    const onError = (e: unknown) => unhandled.push(e);
    process.on('uncaughtException', onError);
    try {
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      const dbName = new URL(url).pathname.slice(1);
      const { rowCount } = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [dbName],
      );
      await admin.end();
      expect(rowCount).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      const after = await store.readConfig();
      expect(after.version).toBe(before.version);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
