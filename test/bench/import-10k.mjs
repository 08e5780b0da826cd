#!/usr/bin/env node
// A 10,000-entity import through the real processes: starts `gatehouse cp --dev` (PGlite, then a
// fresh Postgres database), runs `gatehouse config import FILE --admin-url URL` with 10,000
// services (one route each), 10,000 consumers (one key-auth credential each) and a global key-auth
// plugin, and prints JSON per database:
//   import_ms         the CLI command, start to exit (it POSTs /config/diff, then /config)
//   published_ms      import start until the CP logged the snapshot holding every service
//   reimport_ms       the same command again (nothing changes)
//   probe             small Admin API writes (POST /consumers) in a loop during the import:
//                     count, median and longest latency (the longest stall of an admin write)
//   cp_rss_mib        CP resident memory idle after start and after the import
//   cp_cpu_ms         CPU the CP process used during the import (steadier than wall time on a busy box)
//
//   node scripts/bootstrap.mjs && node test/bench/import-10k.mjs [--count 10000] [--db pglite,postgres]
//
// Postgres: GATEHOUSE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
// a fresh database is created and dropped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  admin,
  bigConfig,
  cpuMsOf,
  mib,
  rssOf,
  runGatehouse,
  since,
  sleep,
  startControlPlane,
  tempDir,
} from './lib/processes.mjs';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    db: { type: 'string', default: 'pglite,postgres' },
  },
});
const N = Number(values.count);
const file = join(tempDir('import'), 'config.json');
const text = bigConfig(N);
writeFileSync(file, text);

/** Sequential small admin writes until stopped; each one's latency. */
function probeWrites(adminUrl) {
  const latencies = [];
  const failures = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const t0 = performance.now();
      try {
        const { status, body } = await admin(`${adminUrl}/consumers`, 'POST', { username: `probe-${i}` });
        if (status !== 201) failures.push(`${status} ${body?.message}`);
      } catch (e) {
        failures.push(`${e.message}: ${e.cause?.message ?? ''}`);
      }
      latencies.push(since(t0));
      await sleep(20);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      const sorted = [...latencies].sort((a, b) => a - b);
      return {
        writes: sorted.length,
        median_ms: sorted[Math.floor(sorted.length / 2)] ?? null,
        longest_ms: sorted.at(-1) ?? null,
        failures,
      };
    },
  };
}

async function measure(db) {
  const cp = await startControlPlane({ db });
  try {
    await sleep(2000);
    const rssIdle = rssOf(cp.pid);
    const cpu0 = cpuMsOf(cp.pid);
    const probe = probeWrites(cp.adminUrl);
    await sleep(500);
    const t0 = performance.now();
    const run = await runGatehouse(['config', 'import', file, '--admin-url', cp.adminUrl]);
    const importMs = since(t0);
    if (run.code !== 0) throw new Error(`import failed: ${run.stderr}`);
    await cp.waitForLog((l) => l.msg === 'snapshot published' && l.services >= N);
    const publishedMs = since(t0);
    const probed = await probe.stop();
    const cpuMs = cpuMsOf(cp.pid) - cpu0;
    const t1 = performance.now();
    const again = await runGatehouse(['config', 'import', file, '--admin-url', cp.adminUrl]);
    const reimportMs = since(t1);
    if (again.code !== 0) throw new Error(`re-import failed: ${again.stderr}`);
    return {
      import_ms: importMs,
      published_ms: publishedMs,
      reimport_ms: reimportMs,
      changes: run.stdout.trim().split('\n').at(-2),
      probe: probed,
      cp_rss_mib: { idle: mib(rssIdle), after_import: mib(rssOf(cp.pid)) },
      cp_cpu_ms: cpuMs,
    };
  } finally {
    await cp.stop();
  }
}

const out = {
  entities: { services: N, routes: N, consumers: N, keyauth_credentials: N },
  file_bytes: text.length,
};
for (const db of values.db.split(',')) out[db] = await measure(db);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
