/**
 * RBAC sets the request's actor (admin/actor.ts) to the user: what the audit log and the config
 * history read. An Admin API app with RBAC enforced and a router that answers `actorOf(req)`.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorOf } from '../../control-plane/src/admin/actor.js';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import { RbacStore } from '../../control-plane/src/rbac/rbac-store.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.js';

const TOKEN = 'actor-seed-token-0123456789abcdef';

describe('RBAC and the request actor', () => {
  let tdb: TestDatabase;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    tdb = await createTestDatabase('pglite');
    const logger = quietLogger();
    const rbac = new RbacStore(tdb.db.prisma, logger);
    await rbac.seed(TOKEN);
    const whoami = express.Router();
    whoami.get('/whoami', (req, res) => {
      res.json(actorOf(req));
    });
    const app = createAdminApp({
      store: new ConfigStore(tdb.db, { logger }),
      logger,
      rbac,
      access: { rbac },
      routers: [whoami],
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await tdb?.drop();
  });

  it('names the RBAC user whose token made the request', async () => {
    const r = await fetch(`${base}/whoami`, { headers: { 'kong-admin-token': TOKEN } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ name: 'kong_admin', kind: 'rbac-user' });

    const created = await fetch(`${base}/rbac/users`, {
      method: 'POST',
      headers: { 'kong-admin-token': TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice' }),
    });
    const alice = (await created.json()) as { user_token: string };
    await fetch(`${base}/rbac/users/alice/roles`, {
      method: 'POST',
      headers: { 'kong-admin-token': TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ roles: 'read-only' }),
    });
    const asAlice = await fetch(`${base}/whoami`, {
      headers: { authorization: `Bearer ${alice.user_token}` },
    });
    expect(await asAlice.json()).toEqual({ name: 'alice', kind: 'rbac-user' });
  });
});
