import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '../../control-plane/src/admin/index.js';
import { createConfigRouter } from '../../control-plane/src/declarative/index.js';
import { runConfigCommand } from '../../control-plane/src/config-cli.js';
import { quietLogger } from '../helpers/db.js';
import { CORPUS_DIR, dbState, openStore, plugins, readCorpus, type StoreFixture } from './helpers.js';

function cli(argv: string[]) {
  let out = '';
  let err = '';
  return runConfigCommand(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    loadPlugins: () => plugins(),
  }).then((code) => ({ code, out, err }));
}

describe('POST /config on the Admin API', () => {
  let fx: StoreFixture;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    fx = await openStore('pglite');
    const logger = quietLogger();
    const app = createAdminApp({
      store: fx.store,
      logger,
      routers: [createConfigRouter(fx.store, logger, { plugins: fx.plugins })],
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await fx?.db.drop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('takes { config: "<yaml>" } and answers 201 with the flat entities', async () => {
    const res = await post('/config', { config: readCorpus('15-auth-proxy.yaml') });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, Record<string, { name?: string }>>;
    expect(Object.values(body.services!).map((s) => s.name)).toEqual(['protected']);
    expect(Object.keys(body.keyauth_credentials!)).toHaveLength(2);
  });

  it('takes the document itself, and ?check_hash=1 answers 304 when nothing would change', async () => {
    const doc = JSON.parse(readCorpus('05-flat.json')) as Record<string, unknown>;
    expect((await post('/config', doc)).status).toBe(201);
    expect((await post('/config?check_hash=1', doc)).status).toBe(304);
  });

  it('answers 400 with Kong fields and flattened_errors naming each path, and changes nothing', async () => {
    const before = await dbState(fx.store);
    const res = await post('/config', {
      config:
        '_format_version: "3.0"\nservices:\n  - name: s\n    host: s.internal\n    routes:\n      - paths: [nope]\n',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      code: number;
      name: string;
      fields: Record<string, unknown>;
      flattened_errors: { entity_type: string; errors: { field: string; path: string }[] }[];
    };
    expect(body.code).toBe(14);
    expect(body.name).toBe('invalid declarative configuration');
    expect(body.fields).toMatchObject({
      services: { 0: { routes: { 0: { paths: { 0: expect.any(String) } } } } },
    });
    expect(body.flattened_errors[0]).toMatchObject({
      entity_type: 'route',
      errors: [{ field: 'paths.0', path: 'services[0].routes[0].paths[0]' }],
    });
    expect(await dbState(fx.store)).toEqual(before);
  });

  it('GET /config returns the configuration as a declarative document; /config/diff lists changes', async () => {
    const got = (await (await fetch(`${base}/config`)).json()) as { config: string };
    expect(got.config).toBe((await dbState(fx.store)).text);
    const diff = (await (await post('/config/diff', { config: readCorpus('01-minimal.yaml') })).json()) as {
      changes: { action: string; label: string }[];
    };
    expect(diff.changes).toContainEqual(
      expect.objectContaining({ action: 'create', label: "service 'echo'" }),
    );
  });

  it('gatehouse config import/diff/export --admin-url go through the Admin API', async () => {
    const file = join(CORPUS_DIR, '16-mixed-nested-flat.yaml');
    const diff = await cli(['diff', file, '--admin-url', base]);
    expect(diff.code).toBe(0);
    expect(diff.out).toContain("+ create service 'mixed'");
    const imp = await cli(['import', file, '--admin-url', base]);
    expect(imp.code).toBe(0);
    expect(imp.out).toContain('applied');
    const exp = await cli(['export', '--admin-url', base]);
    expect(exp.out).toBe((await dbState(fx.store)).text);
  });
});

describe('gatehouse config against the database', () => {
  let fx: StoreFixture;
  let dir: string;
  beforeAll(async () => {
    fx = await openStore('postgres');
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-config-cli-'));
  });
  afterAll(async () => {
    await fx?.db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('validate needs no database and names the path of a problem', async () => {
    const ok = await cli(['validate', join(CORPUS_DIR, '09-consumers-credentials.yaml')]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).toMatch(/valid \(.*2 consumers/);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, '_format_version: "3.0"\nroutes:\n  - service: ghost\n    paths: [/x]\n');
    const res = await cli(['validate', bad]);
    expect(res.code).toBe(1);
    expect(res.err).toContain("routes[0].service: invalid reference 'service: ghost'");
  });

  it('import --dry-run prints changes and writes nothing; import applies; export round-trips', async () => {
    const url = fx.db.databaseUrl!;
    const file = join(CORPUS_DIR, '08-upstreams-targets.yaml');
    const before = await dbState(fx.store);
    const dry = await cli(['import', file, '--dry-run', '--database-url', url]);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("+ create upstream 'api.upstream'");
    expect(dry.out).toContain("+ create target '10.0.0.11:8000' of upstream 'api.upstream'");
    expect(await dbState(fx.store)).toEqual(before);

    const imp = await cli(['import', file, '--database-url', url]);
    expect(imp.code).toBe(0);
    expect(imp.out).toMatch(/applied \(config version \d+\)/);

    const out = join(dir, 'export.yaml');
    expect((await cli(['export', out, '--database-url', url])).code).toBe(0);
    const exported = await readFile(out, 'utf8');
    expect((await cli(['diff', out, '--database-url', url])).out).toBe('no changes\n');
    expect((await cli(['import', out, '--database-url', url])).out).toBe('no changes\n');
    expect((await dbState(fx.store)).text).toBe(exported);
  });

  it('refuses unsupported entries unless --skip-unsupported', async () => {
    const url = fx.db.databaseUrl!;
    const file = join(dir, 'partials.yaml');
    await writeFile(
      file,
      `${readCorpus('01-minimal.yaml')}partials:\n  - name: my-redis\n    type: redis-ee\n`,
    );
    const refused = await cli(['import', file, '--database-url', url]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("partials: 'partials' entities are not supported");
    const skipped = await cli(['import', file, '--database-url', url, '--skip-unsupported']);
    expect(skipped.code).toBe(0);
    expect(skipped.err).toContain('skipped (unsupported): partials');
  });

  it('reports usage errors with exit code 2', async () => {
    expect((await cli(['import'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['validate', '--help'])).code).toBe(0);
  });
});
