/** `/services/{service}/routes/{route}`: a route within its service (generic nested endpoints). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.js';

describe('routes nested under their service', () => {
  let tdb: TestDatabase;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    tdb = await createTestDatabase('pglite');
    const logger = quietLogger('admin');
    server = createServer(createAdminApp({ store: new ConfigStore(tdb.db, { logger }), logger }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server?.close(() => resolve());
      server?.closeAllConnections();
    });
    await tdb?.drop();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return {
      status: res.status,
      body: res.status === 204 ? null : ((await res.json()) as Record<string, unknown>),
    };
  };

  it('reads, patches and deletes a route through its service, and 404s through another', async () => {
    await call('POST', '/services', { name: 'a', host: 'a.internal' });
    await call('POST', '/services', { name: 'b', host: 'b.internal' });
    const route = await call('POST', '/services/a/routes', { name: 'r', paths: ['/r'] });
    expect(route.status).toBe(201);
    expect((await call('GET', '/services/a/routes/r')).body).toMatchObject({ name: 'r' });
    expect((await call('GET', '/services/b/routes/r')).status).toBe(404);
    expect((await call('GET', '/services/nope/routes/r')).status).toBe(404);
    expect((await call('PATCH', '/services/a/routes/r', { paths: ['/s'] })).body).toMatchObject({
      paths: ['/s'],
    });
    expect((await call('DELETE', '/services/a/routes/r')).status).toBe(204);
    expect((await call('GET', '/routes/r')).status).toBe(404);
  });
});
