/**
 * A DATABASE_URL naming a database the server does not have: the control plane does not create
 * it (as Kong, it migrates the database it is given), and its error says how to create it.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '@gatehouse/shared';
import { openDatabase } from '../../control-plane/src/db/index.js';
import { POSTGRES_ADMIN_URL, quietLogger } from '../helpers/db.js';

describe('control plane database on Postgres, database missing', () => {
  it('fails with GH_ERR_DB_MIGRATION_FAILED naming the createdb command for that database', async () => {
    const url = new URL(POSTGRES_ADMIN_URL);
    const name = `gh_missing_${randomBytes(4).toString('hex')}`;
    url.pathname = `/${name}`;
    const error = await openDatabase({
      databaseUrl: url.toString(),
      dataDir: '/nonexistent',
      logger: quietLogger(),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isGatehouseError(error) && error.code).toBe('GH_ERR_DB_MIGRATION_FAILED');
    const expected = `createdb -h ${url.hostname}${url.port ? ` -p ${url.port}` : ''}${url.username ? ` -U ${url.username}` : ''} ${name}`;
    expect((error as Error).message).toContain(`(create it first: ${expected})`);
  });
});
