/**
 * Who the audit log names: with an admin token configured, a write that presents it is recorded as
 * `admin` (`actorOf(req)`, set by the access layer), and a write refused for a missing or wrong
 * token is still recorded, with its 401 and no entity change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { createPostgresDatabase, quietLogger } from '../helpers/db.js';

const TOKEN = 'audit-test-token-0123456789abcdef';

describe('audit log actors', () => {
  let dataDir: string;
  let pg: { url: string; drop(): Promise<void> };
  let cp: ControlPlane;
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers['kong-admin-token'] = token;
    const res = await fetch(cp.adminUrl + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, res };
  };
  const entry = async (rid: string) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await call('GET', `/audit/requests?request_id=${rid}`, undefined, TOKEN);
      const data = r.body.data as Record<string, unknown>[];
      if (data.length) return data[0]!;
      if (Date.now() > deadline) throw new Error(`no audit entry for ${rid}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-actor-'));
    pg = await createPostgresDatabase();
    cp = await startControlPlane({
      adminListen: { host: '127.0.0.1', port: 0 },
      clusterListen: { host: '127.0.0.1', port: 0 },
      dataDir,
      databaseUrl: pg.url,
      dev: true,
      adminToken: TOKEN,
      logger: quietLogger('cp'),
    });
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
    await pg?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('names the token holder on a write and on its entity changes', async () => {
    const r = await call('POST', '/services', { name: 'by-admin', url: 'http://a.internal' }, TOKEN);
    expect(r.status).toBe(201);
    const rid = r.res.headers.get('x-kong-admin-request-id')!;
    expect(await entry(rid)).toMatchObject({
      rbac_user_name: 'admin',
      actor_kind: 'admin-token',
      status: 201,
    });
    const objects = await call('GET', `/audit/objects?request_id=${rid}`, undefined, TOKEN);
    expect((objects.body.data as Record<string, unknown>[])[0]).toMatchObject({ rbac_user_name: 'admin' });
  });

  it('records a write refused for a wrong token, with no entity change', async () => {
    const r = await call('POST', '/services', { name: 'intruder', url: 'http://i.internal' }, 'wrong-token');
    expect(r.status).toBe(401);
    const rid = r.res.headers.get('x-kong-admin-request-id')!;
    expect(await entry(rid)).toMatchObject({ rbac_user_name: 'anonymous', status: 401, method: 'POST' });
    const objects = await call('GET', `/audit/objects?request_id=${rid}`, undefined, TOKEN);
    expect(objects.body.data).toEqual([]);
    expect((await call('GET', '/audit/objects', undefined, 'wrong-token')).status).toBe(401);
  });
});
