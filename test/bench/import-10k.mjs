#!/usr/bin/env node
// Measures a declarative import of 10,000 services (one route each) and 10,000 consumers with a
// key-auth credential each: import time (PGlite and Postgres), snapshot size (signed, gzip and
// raw), data-plane compile time (ProxyServer.apply) and heap after apply. Prints JSON.
//
//   pnpm -r build && node --expose-gc test/bench/import-10k.mjs [--count 10000] [--skip-postgres]
//
// Postgres: GATEHOUSE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
// a fresh database is created and dropped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createLogger, loadSigningKey, signSnapshot, writeSigningKeyPair } from '@gatehouse/shared';
import { ConfigStore, importDeclarative, openDatabase } from '@gatehouse/control-plane';
import { ProxyServer } from '@gatehouse/data-plane';
import { loadPluginRegistry } from '@gatehouse/data-plane/plugins';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    'skip-postgres': { type: 'boolean', default: false },
  },
});
const N = Number(values.count);
const logger = createLogger('bench', { level: 'warn' });
const ms = (t0) => Math.round(performance.now() - t0);
const mib = (n) => Math.round((n / 1024 / 1024) * 10) / 10;

function generate(n) {
  const services = [];
  const consumers = [];
  for (let i = 0; i < n; i++) {
    services.push({
      name: `svc-${i}`,
      url: `http://backend-${i % 50}.internal:8080/v1`,
      routes: [{ name: `route-${i}`, paths: [`/svc-${i}`], methods: ['GET', 'POST'] }],
    });
    consumers.push({
      username: `user-${i}`,
      keyauth_credentials: [{ key: `key-${i}-${(i * 7919) % 100003}` }],
    });
  }
  return JSON.stringify({
    _format_version: '3.0',
    services,
    consumers,
    plugins: [{ name: 'key-auth', config: { key_names: ['apikey'] } }],
  });
}

async function measureImport(kind, text, plugins) {
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  let dbName;
  let databaseUrl;
  const adminUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  if (kind === 'postgres') {
    dbName = `gh_bench_${Date.now().toString(36)}`;
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`CREATE DATABASE "${dbName}"`);
    await c.end();
    const u = new URL(adminUrl);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const db = await openDatabase({ databaseUrl, dataDir, logger });
  try {
    const store = new ConfigStore(db, { logger, plugins });
    let t0 = performance.now();
    const first = await importDeclarative(store, text, { plugins });
    const importMs = ms(t0);
    t0 = performance.now();
    const again = await importDeclarative(store, text, { plugins });
    const reimportNoChangeMs = ms(t0);
    t0 = performance.now();
    const { version, config } = await store.readConfig();
    const readConfigMs = ms(t0);
    return {
      result: {
        import_ms: importMs,
        changes: first.changes.length,
        reimport_no_change_ms: reimportNoChangeMs,
        reimport_changes: again.changes.length,
        read_config_ms: readConfigMs,
      },
      version,
      config,
    };
  } finally {
    await db.close();
    if (dbName) {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await c.end();
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

const plugins = await loadPluginRegistry({});
const text = generate(N);
const out = {
  services: N,
  routes: N,
  consumers: N,
  keyauth_credentials: N,
  file_bytes: Buffer.byteLength(text),
  node: process.version,
};

const pglite = await measureImport('pglite', text, plugins);
out.pglite = pglite.result;
if (!values['skip-postgres']) out.postgres = (await measureImport('postgres', text, plugins)).result;

const keyDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-keys-'));
const { privateKeyFile } = await writeSigningKeyPair(keyDir);
const key = await loadSigningKey(privateKeyFile);
let t0 = performance.now();
const snapshot = await signSnapshot({ config: pglite.config, version: pglite.version, cpId: 'bench', key });
out.snapshot = {
  build_and_sign_ms: ms(t0),
  uncompressed_bytes: snapshot.uncompressedSize,
  gzip_bytes: snapshot.config.length,
  uncompressed_mib: mib(snapshot.uncompressedSize),
  gzip_mib: mib(snapshot.config.length),
};
await rm(keyDir, { recursive: true, force: true });

const config = pglite.config;
pglite.config = undefined;
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const proxy = new ProxyServer({ logger, plugins });
t0 = performance.now();
proxy.apply(config);
const applyMs = ms(t0);
t0 = performance.now();
proxy.apply(config);
const reapplyMs = ms(t0);
globalThis.gc?.();
const mem = process.memoryUsage();
out.data_plane = {
  apply_ms: applyMs,
  reapply_ms: reapplyMs,
  heap_used_after_apply_mib: mib(mem.heapUsed),
  heap_delta_mib: mib(mem.heapUsed - heapBefore),
  rss_mib: mib(mem.rss),
  gc_exposed: typeof globalThis.gc === 'function',
  note: 'heap includes the config object itself (held by the test) plus the compiled router, pools and plugin chains',
};
await proxy.close();
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
