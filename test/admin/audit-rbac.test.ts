/**
 * The audit log of the RBAC endpoints, against a real control plane with RBAC enforced on Postgres
 * in this process: user tokens given in `POST`/`PATCH /rbac/users` bodies are redacted in the
 * request entries (`removed_from_payload` names them), and no token (the bodies', the
 * `Kong-Admin-Token` header's, a refused one's, or a token's digest) is stored in any audit table;
 * every RBAC write (users, roles, role endpoints, user roles, the seed) leaves `audit_objects`
 * entries under Kong's table names with the token digest redacted, a restart's re-seed none, and
 * `gatehouse audit verify` still verifies both chains.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { runAuditCommand } from '../../control-plane/src/audit/verify-cli.js';
import { tokenHash } from '../../control-plane/src/rbac/tokens.js';
import { createPostgresDatabase, quietLogger } from '../helpers/db.js';
import { until } from '../helpers/until.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON, checked by assertions
type Json = any;

const SEED_TOKEN = 'seed-admin-token-AUDIT-0123456789';
const CAROL_TOKEN = 'carol-first-token-SECRET-0123456789';
const CAROL_ROTATED = 'carol-rotated-token-SECRET-987654321';
const WRONG_TOKEN = 'wrong-header-token-SECRET-55555555';

interface Reply {
  status: number;
  body: Json;
  requestId: string;
}

describe('audit log of the RBAC endpoints (RBAC enforced, postgres)', () => {
  let dataDir: string;
  let pgdb: { url: string; drop(): Promise<void> };
  let cp: ControlPlane;

  const call = async (method: string, path: string, body?: unknown, token = SEED_TOKEN): Promise<Reply> => {
    const headers: Record<string, string> = { 'kong-admin-token': token };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(cp.adminUrl + path, init);
    const text = await res.text();
    return {
      status: res.status,
      body: text ? JSON.parse(text) : undefined,
      requestId: res.headers.get('x-kong-admin-request-id')!,
    };
  };
  const ok = async (method: string, path: string, body?: unknown, status = 201) => {
    const r = await call(method, path, body);
    expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
    return r;
  };
  const requestEntry = (rid: string) =>
    until(async () => {
      const r = await ok('GET', `/audit/requests?request_id=${encodeURIComponent(rid)}`, undefined, 200);
      return (r.body.data as Record<string, Json>[])[0];
    }, `the audit entry of request ${rid}`);
  /** Every row of both audit tables, as text. */
  const auditTablesText = async (): Promise<string> => {
    const client = new pg.Client({ connectionString: pgdb.url });
    await client.connect();
    try {
      const rows: string[] = [];
      for (const table of ['audit_requests', 'audit_objects']) {
        const r = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${table} t`);
        rows.push(...r.rows.map((x) => x.row));
      }
      return rows.join('\n');
    } finally {
      await client.end();
    }
  };

  const objectsOf = async (rid: string) =>
    (
      (await ok('GET', `/audit/objects?request_id=${encodeURIComponent(rid)}`, undefined, 200)).body
        .data as Record<string, Json>[]
    ).reverse();
  const summary = (objects: Record<string, Json>[]) => objects.map((o) => `${o.operation} ${o.dao_name}`);
  const start = async () => {
    cp = await startControlPlane({
      adminListen: { host: '127.0.0.1', port: 0 },
      clusterListen: { host: '127.0.0.1', port: 0 },
      dataDir,
      databaseUrl: pgdb.url,
      dev: true,
      enforceRbac: true,
      adminToken: SEED_TOKEN,
      logger: quietLogger('cp'),
    });
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-rbac-'));
    pgdb = await createPostgresDatabase();
    await start();
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
    await pgdb?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('redacts user_token in POST and PATCH /rbac/users and stores no token anywhere', async () => {
    const created = await ok('POST', '/rbac/users', { name: 'audit-carol', user_token: CAROL_TOKEN });
    const createEntry = await requestEntry(created.requestId);
    expect(createEntry).toMatchObject({ method: 'POST', path: '/rbac/users', status: 201 });
    expect(JSON.parse(createEntry.payload)).toEqual({ name: 'audit-carol', user_token: '<redacted>' });
    expect(JSON.parse(createEntry.removed_from_payload)).toEqual(['user_token']);

    const patched = await ok('PATCH', '/rbac/users/audit-carol', { user_token: CAROL_ROTATED }, 200);
    const patchEntry = await requestEntry(patched.requestId);
    expect(patchEntry).toMatchObject({ method: 'PATCH', path: '/rbac/users/audit-carol', status: 200 });
    expect(JSON.parse(patchEntry.payload)).toEqual({ user_token: '<redacted>' });
    expect(JSON.parse(patchEntry.removed_from_payload)).toEqual(['user_token']);

    // A refused request (a wrong Kong-Admin-Token) is recorded too, without its header.
    const refused = await call('POST', '/rbac/users', { name: 'x', user_token: CAROL_TOKEN }, WRONG_TOKEN);
    expect(refused.status).toBe(401);
    expect((await requestEntry(refused.requestId)).status).toBe(401);

    const stored = await auditTablesText();
    expect(stored).toContain('audit-carol');
    for (const token of [CAROL_TOKEN, CAROL_ROTATED, SEED_TOKEN, WRONG_TOKEN]) {
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(tokenHash(token));
    }
  });

  it('seeds the bundled roles and the first super admin as system entries, once', async () => {
    const seeded = (
      await ok('GET', '/audit/objects?rbac_user_name=system&size=1000', undefined, 200)
    ).body.data.reverse() as Record<string, Json>[];
    const roles = seeded.filter((o) => o.dao_name === 'rbac_roles' && o.operation === 'create');
    expect(roles.map((o) => String(JSON.parse(o.entity).name)).sort()).toEqual([
      'admin',
      'operator',
      'read-only',
      'super-admin',
    ]);
    expect(seeded.some((o) => o.dao_name === 'rbac_role_endpoints' && o.operation === 'create')).toBe(true);
    const admin = seeded.find((o) => o.dao_name === 'rbac_users');
    expect(admin).toMatchObject({ operation: 'create' });
    expect(JSON.parse(admin!.entity)).toMatchObject({ name: 'kong_admin', user_token_hash: '<redacted>' });
    expect(
      seeded.some((o) => o.dao_name === 'rbac_user_roles' && o.entity_key.startsWith(admin!.entity_key)),
    ).toBe(true);

    // The listing filters by Kong's table name.
    const byDao = (await ok('GET', '/audit/objects?dao_name=rbac_roles&size=1000', undefined, 200)).body
      .data as Record<string, Json>[];
    expect(byDao.length).toBeGreaterThanOrEqual(4);
    expect(byDao.every((o) => o.dao_name === 'rbac_roles')).toBe(true);

    // A restart re-seeds the bundled roles: nothing changed, nothing recorded.
    await cp.stop();
    await start();
    const after = (await ok('GET', '/audit/objects?rbac_user_name=system&size=1000', undefined, 200)).body
      .data;
    expect(after).toHaveLength(seeded.length);
  }, 120_000);

  it('records every RBAC write as audit objects with the token digest redacted', async () => {
    const created = await ok('POST', '/rbac/users', {
      name: 'audit-dave',
      user_token: 'dave-token-0123456789abcdef',
    });
    const [create] = await objectsOf(created.requestId);
    expect(create).toMatchObject({
      dao_name: 'rbac_users',
      operation: 'create',
      entity_key: created.body.id,
      rbac_user_name: 'kong_admin',
      before: null,
    });
    const entity = JSON.parse(create!.entity);
    expect(entity).toMatchObject({ name: 'audit-dave', user_token_hash: '<redacted>', enabled: true });
    expect(entity.user_token_ident).toBe(created.body.user_token_ident);

    const patched = await ok(
      'PATCH',
      '/rbac/users/audit-dave',
      { comment: 'ops', user_token: 'dave-rotated-0123456789abcdef' },
      200,
    );
    const [update] = await objectsOf(patched.requestId);
    expect(update).toMatchObject({
      dao_name: 'rbac_users',
      operation: 'update',
      entity_key: created.body.id,
    });
    expect(JSON.parse(update!.before)).toMatchObject({ comment: null, user_token_hash: '<redacted>' });
    expect(JSON.parse(update!.entity)).toMatchObject({ comment: 'ops', user_token_hash: '<redacted>' });
    expect(JSON.parse(update!.entity).user_token_ident).not.toBe(entity.user_token_ident);

    const role = await ok('POST', '/rbac/roles', { name: 'auditors' });
    expect(summary(await objectsOf(role.requestId))).toEqual(['create rbac_roles']);
    const renamed = await ok('PATCH', '/rbac/roles/auditors', { comment: 'reads the log' }, 200);
    const [roleUpdate] = await objectsOf(renamed.requestId);
    expect(roleUpdate).toMatchObject({ operation: 'update', entity_key: role.body.id });
    expect(JSON.parse(roleUpdate!.entity).comment).toBe('reads the log');

    const ep = await ok('POST', '/rbac/roles/auditors/endpoints', { endpoint: '/audit/*', actions: 'read' });
    const [epCreate] = await objectsOf(ep.requestId);
    expect(epCreate).toMatchObject({
      dao_name: 'rbac_role_endpoints',
      operation: 'create',
      entity_key: `${role.body.id}:default:/audit/*`,
    });
    const epPatch = await ok(
      'PATCH',
      '/rbac/roles/auditors/endpoints/default/audit/*',
      { negative: true },
      200,
    );
    const [epUpdate] = await objectsOf(epPatch.requestId);
    expect(epUpdate).toMatchObject({ dao_name: 'rbac_role_endpoints', operation: 'update' });
    expect([JSON.parse(epUpdate!.before).negative, JSON.parse(epUpdate!.entity).negative]).toEqual([
      false,
      true,
    ]);
    const epDelete = await ok('DELETE', '/rbac/roles/auditors/endpoints/default/audit/*', undefined, 204);
    expect(summary(await objectsOf(epDelete.requestId))).toEqual(['delete rbac_role_endpoints']);
    await ok('POST', '/rbac/roles/auditors/endpoints', { endpoint: '/services', actions: 'read' });

    const linked = await ok('POST', '/rbac/users/audit-dave/roles', { roles: 'auditors,read-only' });
    const links = await objectsOf(linked.requestId);
    expect(summary(links)).toEqual(['create rbac_user_roles', 'create rbac_user_roles']);
    expect(links.map((l) => String(l.entity_key))).toContain(`${created.body.id}:${role.body.id}`);
    // Linking a role the user already holds changes nothing and records nothing.
    const again = await ok('POST', '/rbac/users/audit-dave/roles', { roles: 'read-only' });
    expect(await objectsOf(again.requestId)).toEqual([]);
    const unlinked = await ok('DELETE', '/rbac/users/audit-dave/roles?roles=read-only', undefined, 204);
    const [unlink] = await objectsOf(unlinked.requestId);
    expect(unlink).toMatchObject({
      dao_name: 'rbac_user_roles',
      operation: 'delete',
      rbac_user_name: 'kong_admin',
    });

    // A role's delete takes its endpoints and links along: each recorded.
    const roleDeleted = await ok('DELETE', '/rbac/roles/auditors', undefined, 204);
    expect(summary(await objectsOf(roleDeleted.requestId))).toEqual([
      'delete rbac_role_endpoints',
      'delete rbac_user_roles',
      'delete rbac_roles',
    ]);
    await ok('POST', '/rbac/users/audit-dave/roles', { roles: 'read-only' });
    const userDeleted = await ok('DELETE', '/rbac/users/audit-dave', undefined, 204);
    expect(summary(await objectsOf(userDeleted.requestId))).toEqual([
      'delete rbac_user_roles',
      'delete rbac_users',
    ]);

    // A refused write (a bundled role) records no object.
    const refused = await call('PATCH', '/rbac/roles/read-only', { comment: 'x' });
    expect(refused.status).toBe(400);
    expect(await objectsOf(refused.requestId)).toEqual([]);

    const stored = await auditTablesText();
    for (const token of ['dave-token-0123456789abcdef', 'dave-rotated-0123456789abcdef']) {
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(tokenHash(token));
    }
    expect(stored).not.toContain(tokenHash(SEED_TOKEN));

    let out = '';
    let err = '';
    const code = await runAuditCommand(['verify', '--database-url', pgdb.url], {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/audit_objects: \d+ rows verified/);
  });
});
