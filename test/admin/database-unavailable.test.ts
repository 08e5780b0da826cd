/**
 * The Admin API when its Postgres database cannot be reached (chaos row F15 on one database):
 * connections to the test database are refused and the open ones terminated, so every request
 * fails at the database. Writes and reads answer 503 with Retry-After, and nothing is half
 * written; once the database takes connections again, the same server takes writes again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_ADMIN_URL } from '../helpers/db.js';
import { startAdminServer, type AdminServer } from './contract-server.js';

describe('Admin API with its database unreachable', () => {
  let admin: AdminServer;
  let name: string;

  const sql = async (text: string): Promise<void> => {
    const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  const cutOff = async (allow: boolean): Promise<void> => {
    await sql(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`);
    if (!allow)
      await sql(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`,
      );
  };

  beforeAll(async () => {
    admin = await startAdminServer('postgres');
    name = new URL(admin.tdb.databaseUrl!).pathname.slice(1);
  });
  afterAll(async () => {
    await cutOff(true).catch(() => {});
    await admin?.stop();
  });

  it('answers 503 with Retry-After while the database refuses connections, then takes writes again', async () => {
    expect(
      (await admin.call('POST', '/services', { name: 'before', url: 'http://example.com' })).status,
    ).toBe(201);
    await cutOff(false);
    const write = await admin.call('POST', '/services', { name: 'during', url: 'http://example.com' });
    expect(write.status).toBe(503);
    expect(write.body).toEqual({ message: 'The database is unavailable; try again later' });
    expect(write.headers.get('retry-after')).toBe('5');
    const read = await admin.call('GET', '/services');
    expect(read.status).toBe(503);
    await cutOff(true);
    let after = 0;
    for (let i = 0; i < 50 && after !== 201; i++) {
      after = (await admin.call('POST', '/services', { name: 'after', url: 'http://example.com' })).status;
      if (after !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(after).toBe(201);
    const names = ((await admin.call('GET', '/services')).body as { data: { name: string }[] }).data.map(
      (s) => s.name,
    );
    expect(names.sort()).toEqual(['after', 'before']);
  });
});
