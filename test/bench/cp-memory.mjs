#!/usr/bin/env node
// Control-plane memory: starts `gatehouse cp --dev` (PGlite unless --db postgres), reads its RSS
// from /proc when idle after start, then makes Admin API writes — services, routes, consumers and
// key-auth credentials created, updated and deleted, about 20 of each alive at any time, so the
// configuration does not grow — and reads the RSS every 1,000 writes and after the last one
// (idle for --settle seconds). Prints JSON. With --breakdown the CP runs with lib/memory-probe.mjs
// preloaded and the JSON also says where the memory is at both points (V8 heap, V8's malloc,
// WebAssembly memories, resident pages by kind of mapping).
//
//   node scripts/bootstrap.mjs && node test/bench/cp-memory.mjs [--writes 5000] [--db pglite|postgres]
//     [--concurrency 4] [--settle 5] [--breakdown]
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { admin, mib, rssOf, sleep, startControlPlane, tempDir } from './lib/processes.mjs';

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '5000' },
    db: { type: 'string', default: 'pglite' },
    concurrency: { type: 'string', default: '4' },
    settle: { type: 'string', default: '5' },
    breakdown: { type: 'boolean', default: false },
  },
});
const WRITES = Number(values.writes);
const SETTLE_MS = Number(values.settle) * 1000;
/** Entities of cycle k are deleted in cycle k + LIVE. */
const LIVE = 20;

/** The ten writes of cycle k: creates, updates, and the deletes of cycle k - LIVE. */
function cycle(k) {
  const writes = [
    ['POST', '/services', { name: `svc-${k}`, url: `http://backend-${k % 7}.internal:8080/v1` }, 201],
    ['POST', `/services/svc-${k}/routes`, { name: `rt-${k}`, paths: [`/r${k}`] }, 201],
    ['PATCH', `/services/svc-${k}`, { retries: 3, tags: ['patched'] }, 200],
    ['PATCH', `/routes/rt-${k}`, { paths: [`/r${k}/v2`] }, 200],
    ['POST', '/consumers', { username: `c-${k}` }, 201],
    ['POST', `/consumers/c-${k}/key-auth`, { key: `key-${k}` }, 201],
    ['PATCH', `/consumers/c-${k}`, { custom_id: `cid-${k}` }, 200],
  ];
  if (k >= LIVE) {
    const old = k - LIVE;
    writes.push(['DELETE', `/routes/rt-${old}`, undefined, 204]);
    writes.push(['DELETE', `/services/svc-${old}`, undefined, 204]);
    writes.push(['DELETE', `/consumers/c-${old}`, undefined, 204]);
  }
  return writes;
}

const probeDir = values.breakdown ? tempDir('memory-probe') : undefined;
if (probeDir) process.env.GATEHOUSE_MEMORY_PROBE_OUT = join(probeDir, 'probe.jsonl');
const cp = await startControlPlane({
  db: values.db,
  nodeOptions: probeDir
    ? `--import ${fileURLToPath(new URL('./lib/memory-probe.mjs', import.meta.url))}`
    : undefined,
});
/** The probe's figures now (--breakdown), else undefined. */
async function breakdown() {
  if (!probeDir) return undefined;
  process.kill(cp.pid, 'SIGUSR2');
  await sleep(1000);
  return JSON.parse(readFileSync(process.env.GATEHOUSE_MEMORY_PROBE_OUT, 'utf8').trim().split('\n').at(-1));
}
const samples = [];
try {
  await sleep(SETTLE_MS);
  const idle = rssOf(cp.pid);
  const idleBreakdown = await breakdown();
  let issued = 0;
  let done = 0;
  let nextCycle = 0;
  let nextSample = 1000;
  const failures = [];
  // Each worker runs whole cycles (a cycle's writes depend on each other; cycles do not).
  const worker = async () => {
    while (issued < WRITES) {
      const k = nextCycle++;
      for (const [method, path, body, expected] of cycle(k)) {
        if (issued++ >= WRITES) return;
        const { status, body: answer } = await admin(`${cp.adminUrl}${path}`, method, body);
        if (status !== expected) failures.push(`${method} ${path}: ${status} ${answer?.message ?? ''}`);
        done++;
        if (done >= nextSample) {
          samples.push({ writes: nextSample, rss_mib: mib(rssOf(cp.pid)) });
          nextSample += 1000;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
  await sleep(SETTLE_MS);
  const after = rssOf(cp.pid);
  const afterBreakdown = await breakdown();
  process.stdout.write(
    `${JSON.stringify(
      {
        db: values.db,
        writes: done,
        rss_mib: { idle_after_start: mib(idle), after_writes: mib(after) },
        samples,
        failures: failures.slice(0, 10),
        failure_count: failures.length,
        ...(probeDir ? { breakdown: { idle_after_start: idleBreakdown, after_writes: afterBreakdown } } : {}),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await cp.stop();
  if (probeDir) rmSync(probeDir, { recursive: true, force: true });
}
