/**
 * The config history (docs/config-history.md) against a real control plane in this process, on
 * Postgres and on PGlite: every published version is recorded with its author, time and summary;
 * `/config/versions` pages them as Kong's collections, exports one as a declarative file, diffs
 * two (secrets redacted) and restores one as a new, higher version with the same hash. Recording
 * (once, however many replicas publish a version) and retention are driven on the database itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeclarative } from '@gatehouse/shared';
import { startControlPlane, type ControlPlane } from '../../control-plane/src/control-plane.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { recordVersion } from '../../control-plane/src/history/store.js';
import { pruneConfigHistory } from '../../control-plane/src/jobs/config-history-retention.js';
import {
  createPostgresDatabase,
  createTestDatabase,
  DB_KINDS,
  quietLogger,
  type TestDatabase,
} from '../helpers/db.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response JSON, checked by assertions
type Json = any;

const TOKEN = 'history-test-token-0123456789abcdef0123456789';

interface Versioned {
  version: number;
  hash: string;
  created_at: number;
  author: string;
  summary: string;
}

describe.each(DB_KINDS)('config history on %s', (kind) => {
  let cp: ControlPlane;
  let dataDir: string;
  let pg: { url: string; drop(): Promise<void> } | undefined;

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json; text: string; type: string | null }> => {
    const res = await fetch(cp.adminUrl + path, {
      method,
      headers: {
        'kong-admin-token': TOKEN,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text, type: res.headers.get('content-type') };
  };
  const ok = async (method: string, path: string, body?: unknown, status = 201): Promise<Json> => {
    const r = await call(method, path, body);
    expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
    return r.body;
  };
  const currentVersion = async () =>
    Number((await ok('GET', '/', undefined, 200)).configuration.config_version);

  /** Polls until the history's newest version is `version` (the publisher records it after a debounce). */
  const recorded = async (version: number): Promise<Versioned> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const newest = (await ok('GET', '/config/versions?size=1', undefined, 200)).data[0] as Versioned;
      if (newest && newest.version >= version) return newest;
      if (Date.now() > deadline) throw new Error(`version ${version} never recorded`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-history-'));
    pg = kind === 'postgres' ? await createPostgresDatabase() : undefined;
    cp = await startControlPlane({
      adminListen: { host: '127.0.0.1', port: 0 },
      clusterListen: { host: '127.0.0.1', port: 0 },
      dataDir,
      databaseUrl: pg?.url,
      adminToken: TOKEN,
      dev: true,
      logger: quietLogger('cp'),
    });
  }, 120_000);

  afterAll(async () => {
    await cp?.stop();
    await pg?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('records every published version with its author, time and summary, newest first, in pages', async () => {
    await ok('POST', '/services', { name: 'billing', url: 'http://billing.internal' });
    const v1 = await recorded(await currentVersion());
    expect(v1.summary).toBe('services: +1 ~0 -0');
    expect(v1.author).toBe('admin');
    expect(v1.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Math.abs(v1.created_at - Date.now() / 1000)).toBeLessThan(3600);

    await ok('POST', '/services/billing/routes', { name: 'invoices', paths: ['/invoices'] });
    const v2 = await recorded(await currentVersion());
    expect(v2.version).toBeGreaterThan(v1.version);
    expect(v2.summary).toBe('routes: +1 ~0 -0');
    expect(v2.hash).not.toBe(v1.hash);

    // Kong's paging: size, then next/offset until the end.
    const seen: number[] = [];
    let next: string | null = '/config/versions?size=1';
    while (next) {
      const page: Json = await ok('GET', next, undefined, 200);
      expect(page.data.length).toBeLessThanOrEqual(1);
      seen.push(...(page.data as Versioned[]).map((v) => v.version));
      if (page.next) expect(page.offset).toEqual(expect.any(String));
      next = page.next;
    }
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(seen.slice(0, 2)).toEqual([v2.version, v1.version]);
  });

  it('exports a version as a declarative file, JSON by default and YAML when asked', async () => {
    const v = await recorded(await currentVersion());
    const json = await call('GET', `/config/versions/${v.version}`);
    expect(json.status).toBe(200);
    expect(json.type).toMatch(/^application\/json/);
    expect(json.body._format_version).toBe('3.0');
    expect(json.body.services.map((s: { name: string }) => s.name)).toContain('billing');

    const yaml = await call('GET', `/config/versions/${v.version}`, undefined, {
      accept: 'application/yaml',
    });
    expect(yaml.status).toBe(200);
    expect(yaml.type).toMatch(/yaml/);
    expect(parseDeclarative(yaml.text)).toEqual(json.body);
  });

  it('diffs two versions per entity kind with field-level changes, secrets redacted', async () => {
    const before = await recorded(await currentVersion());
    await ok('POST', '/consumers', { username: 'alice' });
    await ok('POST', '/consumers/alice/key-auth', { key: 'very-secret-key-of-alice' });
    await ok('PATCH', '/routes/invoices', { paths: ['/invoices', '/bills'] }, 200);
    await ok('POST', '/plugins', {
      name: 'rate-limiting',
      config: {
        minute: 5,
        policy: 'redis',
        redis: { host: 'redis.internal', password: 'redis-pass-of-ops' },
      },
    });
    const after = await recorded(await currentVersion());

    const diff = await ok('GET', `/config/versions/${before.version}/diff/${after.version}`, undefined, 200);
    expect(diff.from.version).toBe(before.version);
    expect(diff.to.version).toBe(after.version);
    expect(diff.changes.consumers.added.map((c: { username: string }) => c.username)).toEqual(['alice']);
    expect(diff.changes.keyauth_credentials.added[0].key).toBe('[redacted]');
    expect(diff.changes.routes.changed).toEqual([
      expect.objectContaining({
        label: "route 'invoices' of service 'billing'",
        fields: { paths: { from: ['/invoices'], to: ['/invoices', '/bills'] } },
      }),
    ]);
    expect(diff.changes.services).toBeUndefined();
    // A plugin's secrets come from its schema (`encrypted`): the redis password.
    const plugin = diff.changes.plugins.added[0];
    expect(plugin.config.redis.password).toBe('[redacted]');
    expect(plugin.config.redis.host).toBe('redis.internal');
    expect(JSON.stringify(diff)).not.toContain('very-secret-key-of-alice');
    expect(JSON.stringify(diff)).not.toContain('redis-pass-of-ops');

    // The other way round: what going back would change.
    const back = await ok('GET', `/config/versions/${after.version}/diff/${before.version}`, undefined, 200);
    expect(back.changes.consumers.removed.map((c: { username: string }) => c.username)).toEqual(['alice']);
  });

  it('restores a version as a new, higher version with that version’s hash, recorded with who and why', async () => {
    const target = (await ok('GET', '/config/versions?size=100', undefined, 200)).data.find(
      (v: Versioned) => v.summary === 'routes: +1 ~0 -0',
    ) as Versioned;
    const latest = await recorded(await currentVersion());

    const restored = await ok('POST', `/config/versions/${target.version}/restore`);
    expect(restored.version).toBeGreaterThan(latest.version);
    expect(restored.restored_from).toBe(target.version);
    expect(restored.hash).toBe(target.hash);

    const recordedRestore = await recorded(restored.version);
    expect(recordedRestore.version).toBe(restored.version);
    expect(recordedRestore.hash).toBe(target.hash);
    expect(recordedRestore.author).toBe('admin');
    expect(recordedRestore.summary).toMatch(new RegExp(`^restore of version ${target.version}: `));
    expect((await call('GET', '/consumers/alice')).status).toBe(404);
    expect((await ok('GET', '/routes/invoices', undefined, 200)).paths).toEqual(['/invoices']);

    // Restoring the version the configuration already equals changes nothing: no new version.
    const again = await call('POST', `/config/versions/${target.version}/restore`);
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(restored.version);
    expect(await currentVersion()).toBe(restored.version);
  });

  it('answers an unknown version with a Kong 404 and bad paging with a 400 naming the option', async () => {
    for (const path of [
      '/config/versions/999999999',
      '/config/versions/0',
      '/config/versions/abc',
      '/config/versions/1/diff/999999999',
      '/config/versions/999999999/diff/1',
    ]) {
      const r = await call('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body.message).toMatch(/^no config version /);
    }
    expect((await call('POST', '/config/versions/999999999/restore')).status).toBe(404);
    const size = await call('GET', '/config/versions?size=0');
    expect(size.status).toBe(400);
    expect(size.body.message).toMatch(/size/);
    const offset = await call('GET', '/config/versions?offset=bm90LWEtdmVyc2lvbg');
    expect(offset.status).toBe(400);
    expect(offset.body.message).toMatch(/offset/);
    expect((await call('DELETE', '/config/versions')).status).toBe(405);
  });

  it('refuses a restore while a staged rollout runs (409), as every other config write', async () => {
    const v = await recorded(await currentVersion());
    const rollout = await ok('POST', '/config/rollouts', {
      config: { _format_version: '3.0', services: [{ name: 'other', url: 'http://other.internal' }] },
      waves: [{ percentage: 50 }],
      soak: 3600,
      gate: { max_error_rate: 0.05, min_requests: 1 },
    });
    try {
      const r = await call('POST', `/config/versions/${v.version}/restore`);
      expect(r.status).toBe(409);
      expect(r.body.message).toContain(rollout.id);
    } finally {
      await ok('POST', `/config/rollouts/${rollout.id}/abort`, undefined, 200);
    }
  });
});

describe.each(DB_KINDS)('config history recording and retention on %s', (kind) => {
  let tdb: TestDatabase;
  let store: ConfigStore;

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    store = new ConfigStore(tdb.db, { logger: quietLogger(), author: 'cli' });
  }, 120_000);
  afterAll(async () => {
    await tdb?.drop();
  });

  /** A write through the store, then its version recorded as a publisher would. */
  const writeAndRecord = async (name: string) => {
    await store.services.create({ name, url: `http://${name}.internal` });
    const { version, config } = await store.readConfig();
    await recordVersion(tdb.db.prisma, { version, hash: `${name}`.padEnd(64, '0'), config }, null);
    return version;
  };

  it('records a version once however many replicas publish it', async () => {
    await store.services.create({ name: 'once', url: 'http://once.internal' });
    const { version, config } = await store.readConfig();
    const entry = { version, hash: 'a'.repeat(64), config };
    const results = await Promise.all([1, 2, 3].map(() => recordVersion(tdb.db.prisma, entry, null)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const rows = await tdb.db.prisma.configHistory.findMany({ where: { version } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.author).toBe('cli');
    expect(rows[0]!.summary).toBe('services: +1 ~0 -0');
  });

  it('keeps the newest versions by count, then by age (never the newest), and drops unreferenced contents', async () => {
    const versions: bigint[] = [];
    for (const name of ['r1', 'r2', 'r3', 'r4']) versions.push(await writeAndRecord(name));
    const published = () =>
      tdb.db.prisma.configHistory.findMany({ where: { hash: { not: null } }, orderBy: { version: 'desc' } });
    expect((await published()).length).toBeGreaterThanOrEqual(5);

    expect(await pruneConfigHistory(tdb.db.prisma, { count: 3, maxAgeMs: null })).toBeGreaterThan(0);
    expect((await published()).map((r) => r.version)).toEqual(versions.slice(-3).reverse());
    const contents = await tdb.db.prisma.configHistoryContent.findMany({ select: { hash: true } });
    expect(contents).toHaveLength(3);

    // A day later, with a 1-hour age limit: only the newest is left.
    await pruneConfigHistory(tdb.db.prisma, { count: null, maxAgeMs: 3_600_000 }, Date.now() + 86_400_000);
    expect((await published()).map((r) => r.version)).toEqual([versions.at(-1)]);
    expect(await tdb.db.prisma.configHistoryContent.count()).toBe(1);
  });
});
