/**
 * The audit log of the RBAC endpoints, against a real control plane with RBAC enforced on Postgres
 * in this process: user tokens given in `POST`/`PATCH /rbac/users` bodies are redacted in the
 * request entries (`removed_from_payload` names them), and no token (the bodies', the
 * `Kong-Admin-Token` header's, a refused one's, or a token's digest) is stored in any audit table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { tokenHash } from '../../control-plane/src/rbac/tokens.js';
import { createPostgresDatabase, quietLogger } from '../helpers/db.js';

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

async function until<T>(fn: () => Promise<T | undefined | null | false>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
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

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-rbac-'));
    pgdb = await createPostgresDatabase();
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
});
