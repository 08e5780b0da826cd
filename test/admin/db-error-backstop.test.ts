/**
 * Issue 8 item 4, the backstop: a value the database refuses as data (Postgres class 22, and
 * 54000 "index row too large") that got past the validators is answered 400 by the Admin API's
 * one error handler, not 500. Real Postgres errors, raised through the real store's Prisma client.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.js';

describe('database data errors are 400s', () => {
  let tdb: TestDatabase;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    tdb = await createTestDatabase('postgres');
    const logger = quietLogger('admin');
    const prisma = tdb.db.prisma;
    const raw = Router();
    raw.get('/raw/nul', async () => {
      await prisma.$queryRawUnsafe('SELECT $1::text AS v', 'a\u0000b');
    });
    raw.get('/raw/uuid', async () => {
      await prisma.$queryRawUnsafe(`SELECT 'not-a-uuid'::uuid AS v`);
    });
    raw.get('/raw/index-row', async () => {
      // Incompressible text over btree's 2704-byte limit, into a unique index.
      const username = randomBytes(6000).toString('base64');
      await prisma.consumer.create({ data: { id: randomUUID(), username } });
    });
    raw.get('/raw/syntax', async () => {
      await prisma.$queryRawUnsafe('SELEKT 1');
    });
    const app = createAdminApp({ store: new ConfigStore(tdb.db, { logger }), logger, routers: [raw] });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await tdb?.drop();
  });

  it.each([
    ['/raw/nul', '22021'],
    ['/raw/uuid', '22P02'],
    ['/raw/index-row', '54000'],
  ])('%s (SQLSTATE %s) answers 400', async (path) => {
    const res = await fetch(base + path);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/^invalid value/);
  });

  it('any other database error is still a 500 (it is not the client’s input)', async () => {
    expect((await fetch(`${base}/raw/syntax`)).status).toBe(500);
  });
});
