/**
 * The audit log against a real control plane in this process (`startControlPlane`, every Admin API
 * router mounted) on the given database kind: every write path leaves its entries (Admin API entity
 * writes of every sort, memberships, `POST /config`, `gatehouse config import` through the Admin
 * API and on the database, staged rollouts and their rollback, upstream health PUTs, refused
 * writes), secrets are redacted, the two
 * listings filter and page as Kong's, nothing alters an entry, retention keeps the chain whole, and
 * `gatehouse audit verify` names a row altered with raw SQL.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { runConfigCommand } from '../../control-plane/src/config-cli.js';
import { runAuditCommand } from '../../control-plane/src/audit/verify-cli.js';
import { verifyChain } from '../../control-plane/src/audit/chain.js';
import { pruneAuditLog } from '../../control-plane/src/jobs/audit-retention.js';
import { databaseDir } from '../../control-plane/src/data-folder.js';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { createPostgresDatabase, quietLogger, type DbKind } from '../helpers/db.js';
import { seedPglite } from '../helpers/pglite-template.js';
import { loadPluginSchemas } from '../../data-plane/src/plugins/schemas.js';
import { until } from '../helpers/until.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON, checked by assertions
type Json = any;
/** An audit entry as the listings answer it. */
type Entry = Record<string, Json>;

interface Reply {
  status: number;
  body: Json;
  headers: Headers;
}

async function capture(
  run: (io: { stdout: (t: string) => void; stderr: (t: string) => void }) => Promise<number>,
) {
  let out = '';
  let err = '';
  const code = await run({ stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

export function auditLogContract(kind: DbKind): void {
  describe(`audit log (${kind})`, () => {
    let dataDir: string;
    let pg: { url: string; drop(): Promise<void> } | undefined;
    let cp: ControlPlane | null = null;

    const start = async () => {
      cp = await startControlPlane({
        adminListen: { host: '127.0.0.1', port: 0 },
        clusterListen: { host: '127.0.0.1', port: 0 },
        dataDir,
        databaseUrl: pg?.url,
        dev: true,
        logger: quietLogger('cp'),
      });
    };
    const stop = async () => {
      await cp?.stop();
      cp = null;
    };
    const call = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Reply> => {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const res = await fetch(cp!.adminUrl + path, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed, headers: res.headers };
    };
    const ok = async (method: string, path: string, body?: unknown, status = 201) => {
      const r = await call(method, path, body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
      return r;
    };
    const requestId = (r: Reply) => r.headers.get('x-kong-admin-request-id')!;
    const objectsOf = async (rid: string) =>
      (
        (await ok('GET', `/audit/objects?request_id=${encodeURIComponent(rid)}`, undefined, 200)).body
          .data as Entry[]
      ).reverse() as [Entry, ...Entry[]];
    const requestEntry = (rid: string) =>
      until(async () => {
        const r = await ok('GET', `/audit/requests?request_id=${encodeURIComponent(rid)}`, undefined, 200);
        return (r.body.data as Entry[])[0];
      }, `the audit entry of request ${rid}`);
    /** Opens the database while the CP is stopped (PGlite allows one process). */
    const withDatabase = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
      const db = await openDatabase({
        databaseUrl: pg?.url,
        dataDir: databaseDir(dataDir),
        logger: quietLogger(),
      });
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };
    const where = () => (pg ? ['--database-url', pg.url] : ['--data-dir', dataDir]);

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-'));
      if (kind === 'postgres') pg = await createPostgresDatabase();
      else await seedPglite(databaseDir(dataDir));
      await start();
    }, 120_000);
    afterAll(async () => {
      await stop();
      await pg?.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('records an entity create, update, upsert and delete with who, where, before and after', async () => {
      const created = await ok('POST', '/services', { name: 'audit-svc', url: 'http://a.internal' });
      const rid = requestId(created);
      expect(rid).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const [create] = await objectsOf(rid);
      expect(create).toMatchObject({
        dao_name: 'services',
        operation: 'create',
        entity_key: created.body.id,
        rbac_user_name: 'anonymous',
        client_ip: expect.stringMatching(/127\.0\.0\.1/),
        before: null,
      });
      expect(JSON.parse(create.entity)).toMatchObject({ name: 'audit-svc', host: 'a.internal' });
      const req = await requestEntry(rid);
      expect(req).toMatchObject({
        method: 'POST',
        path: '/services',
        status: 201,
        request_source: 'admin-api',
      });
      expect(JSON.parse(req.payload)).toEqual({ name: 'audit-svc', url: 'http://a.internal' });
      expect(typeof req.request_timestamp).toBe('number');

      const patched = await ok('PATCH', '/services/audit-svc', { retries: 2 }, 200);
      const [update] = await objectsOf(requestId(patched));
      expect(update.operation).toBe('update');
      expect(JSON.parse(update.before).retries).toBe(5);
      expect(JSON.parse(update.entity).retries).toBe(2);

      const put = await ok('PUT', '/services/audit-put', { url: 'http://b.internal' }, 200);
      expect((await objectsOf(requestId(put)))[0].operation).toBe('create');

      const deleted = await ok('DELETE', '/services/audit-put', undefined, 204);
      const [del] = await objectsOf(requestId(deleted));
      expect(del).toMatchObject({ operation: 'delete', dao_name: 'services', entity_key: put.body.id });
      expect(JSON.parse(del.before).name).toBe('audit-put');
      expect((await requestEntry(requestId(deleted))).status).toBe(204);
    });

    it('redacts credential secrets and encrypted plugin fields in entities and payloads', async () => {
      await ok('POST', '/consumers', { username: 'audit-alice' });
      const key = await ok('POST', '/consumers/audit-alice/key-auth', { key: 'super-secret-key-1' });
      const [cred] = await objectsOf(requestId(key));
      expect(cred.dao_name).toBe('keyauth_credentials');
      expect(JSON.parse(cred.entity).key).toBe('<redacted>');
      const basic = await ok('POST', '/consumers/audit-alice/basic-auth', {
        username: 'audit-alice',
        password: 'hunter2-password',
      });
      const [b] = await objectsOf(requestId(basic));
      expect(JSON.parse(b.entity).password).toBe('<redacted>');
      const entry = await requestEntry(requestId(basic));
      expect(entry.payload).not.toContain('hunter2');
      expect(entry.removed_from_payload).toBe('["password"]');
      const plugin = await ok('POST', '/plugins', {
        name: 'rate-limiting',
        config: { minute: 10, policy: 'redis', redis: { host: 'r.internal', password: 'redis-pass-1' } },
      });
      const [p] = await objectsOf(requestId(plugin));
      const config = JSON.parse(p.entity).config;
      expect(config.redis.password).toBe('<redacted>');
      expect(config.redis.host).toBe('r.internal');
      const all = JSON.stringify((await ok('GET', '/audit/objects?size=1000', undefined, 200)).body);
      for (const secret of ['super-secret-key-1', 'hunter2-password', 'redis-pass-1'])
        expect(all).not.toContain(secret);
    });

    it('records consumer-group memberships added and removed', async () => {
      await ok('POST', '/consumers', { username: 'audit-bob' });
      await ok('POST', '/consumer_groups', { name: 'audit-gold' });
      const added = await ok('POST', '/consumer_groups/audit-gold/consumers', { consumer: 'audit-bob' });
      const [link] = await objectsOf(requestId(added));
      expect(link).toMatchObject({ dao_name: 'consumer_group_consumers', operation: 'create' });
      const removed = await ok('DELETE', '/consumer_groups/audit-gold/consumers/audit-bob', undefined, 204);
      const [unlink] = await objectsOf(requestId(removed));
      expect(unlink).toMatchObject({ dao_name: 'consumer_group_consumers', operation: 'delete' });
    });

    it('records every entity of a POST /config import, one request entry with the redacted document', async () => {
      const doc = {
        _format_version: '3.0',
        services: [
          {
            name: 'imported',
            url: 'http://imported.internal',
            routes: [{ name: 'imported-r', paths: ['/imported'] }],
          },
        ],
        consumers: [{ username: 'imported-c', keyauth_credentials: [{ key: 'imported-key-secret' }] }],
      };
      const r = await ok('POST', '/config', doc);
      const objects = await objectsOf(requestId(r));
      const summary = objects.map((o) => `${o.operation} ${o.dao_name}`);
      // POST /config replaces everything: the entities of the earlier tests are deleted.
      expect(summary).toEqual(
        expect.arrayContaining([
          'create services',
          'create routes',
          'create consumers',
          'create keyauth_credentials',
          'delete services',
        ]),
      );
      const entry = await requestEntry(requestId(r));
      expect(entry).toMatchObject({ method: 'POST', path: '/config', status: 201 });
      expect(entry.payload).not.toContain('imported-key-secret');
      expect(JSON.stringify(objects)).not.toContain('imported-key-secret');
    });

    it('records `gatehouse config import` through the Admin API', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-cli-'));
      try {
        const file = join(dir, 'kong.yaml');
        await writeFile(
          file,
          '_format_version: "3.0"\nservices:\n- name: via-cli\n  url: http://cli.internal\n',
        );
        const run = await capture((io) =>
          runConfigCommand(['import', file, '--admin-url', cp!.adminUrl], {
            ...io,
            loadPlugins: (dirs) => loadPluginSchemas({ customDirs: dirs }),
          }),
        );
        expect(run.code, run.err).toBe(0);
        const entry = await until(async () => {
          const r = await ok('GET', '/audit/requests?path=%2Fconfig&method=POST&size=1', undefined, 200);
          return (r.body.data as Entry[]).find((e) => String(e.payload).includes('via-cli'));
        }, 'the import request');
        const objects = await objectsOf(entry.request_id);
        expect(
          objects.some((o) => o.dao_name === 'services' && JSON.parse(o.entity).name === 'via-cli'),
        ).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("records a staged rollout's change and its abort's rollback", async () => {
      const started = await call('POST', '/config/rollouts', {
        config: { _format_version: '3.0', services: [{ name: 'rolled', url: 'http://rolled.internal' }] },
        waves: [{ percentage: 10 }],
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const change = await objectsOf(requestId(started));
      expect(
        change.some(
          (o) => o.operation === 'create' && o.dao_name === 'services' && o.entity.includes('rolled'),
        ),
      ).toBe(true);
      const aborted = await call('POST', `/config/rollouts/${started.body.id}/abort`);
      expect(aborted.status).toBe(200);
      const rollback = await objectsOf(requestId(aborted));
      expect(
        rollback.some(
          (o) => o.operation === 'delete' && o.dao_name === 'services' && o.entity.includes('rolled'),
        ),
      ).toBe(true);
      expect((await requestEntry(requestId(aborted))).path).toBe(`/config/rollouts/${started.body.id}/abort`);
    });

    it('records upstream health PUTs and refused writes (405 on the audit log itself)', async () => {
      await ok('POST', '/upstreams', {
        name: 'audit-up',
        healthchecks: { active: { healthy: { interval: 5 }, unhealthy: { interval: 5 } } },
      });
      await ok('POST', '/upstreams/audit-up/targets', { target: '10.0.0.1:80' });
      const health = await call('PUT', '/upstreams/audit-up/targets/10.0.0.1:80/unhealthy');
      expect(health.status).toBe(204);
      expect(await requestEntry(requestId(health))).toMatchObject({
        method: 'PUT',
        path: '/upstreams/audit-up/targets/10.0.0.1:80/unhealthy',
        status: 204,
      });
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        for (const path of ['/audit/requests', '/audit/objects']) {
          const r = await call(method, path, method === 'DELETE' ? undefined : {});
          expect(r.status, `${method} ${path}`).toBe(405);
          expect(r.body).toMatchObject({ message: 'Method not allowed' });
          expect((await requestEntry(requestId(r))).status).toBe(405);
        }
      }
      const bad = await call('POST', '/services', { name: 'x', url: 'not a url at all' });
      expect(bad.status).toBe(400);
      expect(await objectsOf(requestId(bad))).toEqual([]);
      expect((await requestEntry(requestId(bad))).status).toBe(400);
    });

    it('filters by fields and time and pages newest first with offset and next', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(requestId(await ok('POST', '/services', { name: `page-${i}`, url: 'http://p.internal' })));
      await requestEntry(ids[4]!);
      const seen: string[] = [];
      let next: string | null = '/audit/objects?dao_name=services&operation=create&size=2';
      while (next && seen.length < 1000) {
        const page: Json = (await ok('GET', next, undefined, 200)).body;
        expect(page.data.length).toBeLessThanOrEqual(2);
        for (const e of page.data) {
          expect(e).toMatchObject({ dao_name: 'services', operation: 'create' });
          seen.push(e.request_id);
        }
        next = page.next;
        if (next) expect(next).toContain('dao_name=services');
      }
      // Newest first: the five just made lead, in reverse order.
      expect(seen.slice(0, 5)).toEqual([...ids].reverse());
      const seqs = new Set(seen);
      expect(seqs.size).toBe(seen.length);

      const future = Math.floor(Date.now() / 1000) + 3600;
      expect((await ok('GET', `/audit/requests?after=${future}`, undefined, 200)).body.data).toEqual([]);
      const recent = (await ok('GET', `/audit/requests?before=${future}&method=POST&size=3`, undefined, 200))
        .body;
      expect(recent.data).toHaveLength(3);
      expect(recent.next).toMatch(/^\/audit\/requests\?.*offset=/);
      expect(
        (await ok('GET', '/audit/requests?after=2000-01-01T00:00:00Z&status=201&size=1', undefined, 200)).body
          .data[0].status,
      ).toBe(201);

      for (const [query, name] of [
        ['dao=services', 'dao'],
        ['after=yesterday', 'after'],
        ['before=2024-02-30T00:00:00Z', 'before'],
        ['status=abc', 'status'],
        ['operation=drop', 'operation'],
        ['size=0', 'size'],
        ['method=POST&method=PUT', 'method'],
      ] as const) {
        const path = name === 'operation' || name === 'dao' ? '/audit/objects' : '/audit/requests';
        const r = await call('GET', `${path}?${query}`);
        expect(r.status, query).toBe(400);
        expect(r.body.message, query).toContain(name);
      }
      const badOffset = await call('GET', '/audit/objects?offset=not-an-offset');
      expect(badOffset.status).toBe(400);
    });

    it('keeps one unforked chain under concurrent writes', async () => {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          call('POST', '/services', { name: `concurrent-${i}`, url: 'http://c.internal' }),
        ),
      );
      for (const r of results) expect(r.status).toBe(201);
      await Promise.all(results.map((r) => requestEntry(requestId(r))));
    });

    it('records `gatehouse config import` on the database, keeps the chain through retention and names a tampered row', async () => {
      await stop();
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-db-'));
      try {
        const file = join(dir, 'kong.yaml');
        await writeFile(
          file,
          '_format_version: "3.0"\nconsumers:\n- username: db-cli\n  basicauth_credentials:\n  - username: db-cli\n    password: db-cli-password\n',
        );
        const run = await capture((io) =>
          runConfigCommand(['import', file, ...where()], {
            ...io,
            loadPlugins: (dirs) => loadPluginSchemas({ customDirs: dirs }),
          }),
        );
        expect(run.code, run.err).toBe(0);

        const verified = await capture((io) => runAuditCommand(['verify', ...where()], io));
        expect(verified.err).toBe('');
        expect(verified.code).toBe(0);
        expect(verified.out).toMatch(/audit_requests: \d+ rows verified/);
        expect(verified.out).toMatch(/audit_objects: \d+ rows verified/);

        await withDatabase(async (db) => {
          const cli = await db.prisma.auditRequest.findFirst({
            where: { request_source: 'cli' },
            orderBy: { seq: 'desc' },
          });
          expect(cli).toMatchObject({ method: 'POST', path: '/config', status: 201, actor_kind: 'cli' });
          expect(cli!.payload).not.toContain('db-cli-password');
          const objects = await db.prisma.auditObject.findMany({ where: { request_id: cli!.request_id } });
          expect(objects.map((o) => o.dao_name)).toEqual(
            expect.arrayContaining(['consumers', 'basicauth_credentials']),
          );
          expect(objects.map((o) => `${o.entity} ${o.before}`).join()).not.toContain('db-cli-password');

          // Retention: entries older than the cutoff go, oldest first; the chain still verifies.
          const total = await db.prisma.auditObject.count();
          await db.prisma.$executeRawUnsafe(
            `UPDATE audit_objects SET request_timestamp = now() - interval '40 days' WHERE seq IN (SELECT seq FROM audit_objects ORDER BY seq LIMIT 3)`,
          );
          // That edit is itself a tamper the hash catches.
          expect((await verifyChain(db.prisma, 'audit_objects')).broken?.reason).toMatch(/altered/);
          expect(await pruneAuditLog(db.prisma, 30 * 86_400_000)).toBe(3);
          expect(await db.prisma.auditObject.count()).toBe(total - 3);
          expect((await verifyChain(db.prisma, 'audit_objects')).broken).toBeNull();

          // Tamper: a row in the middle rewritten with raw SQL.
          const rows = await db.prisma.auditObject.findMany({ orderBy: { seq: 'asc' } });
          const victim = rows[Math.floor(rows.length / 2)]!;
          await db.prisma.$executeRawUnsafe(
            `UPDATE audit_objects SET rbac_user_name = 'someone-else' WHERE seq = $1::bigint`,
            victim.seq.toString(),
          );
          return victim.seq;
        }).then(async (seq) => {
          const broken = await capture((io) => runAuditCommand(['verify', ...where()], io));
          expect(broken.code).toBe(1);
          expect(broken.err).toContain(`audit_objects: row seq ${seq}`);
          expect(broken.err).toContain('altered');
        });

        // A deleted row in the middle breaks the link to the next one.
        const deletedSeq = await withDatabase(async (db) => {
          const rows = await db.prisma.auditRequest.findMany({ orderBy: { seq: 'asc' } });
          const victim = rows[1]!;
          await db.prisma.$executeRawUnsafe(
            `DELETE FROM audit_requests WHERE seq = $1::bigint`,
            victim.seq.toString(),
          );
          return rows[2]!.seq;
        });
        const gap = await capture((io) => runAuditCommand(['verify', ...where()], io));
        expect(gap.code).toBe(1);
        expect(gap.err).toContain(`audit_requests: row seq ${deletedSeq}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
}
