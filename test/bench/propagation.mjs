#!/usr/bin/env node
// Config propagation: admin write -> both data planes serving the new route.
// Starts a real CP (dev mode, PGlite) and two DPs through ./gatehouse on free ports, then 20 times:
// POST a route with a new path, and poll both DPs every 2 ms until both answer 200 through it.
// Prints median and max (ms). Usage: node test/bench/propagation.mjs [changes=20]
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterTlsArgs, devDataPlaneTlsFiles } from '../../shared/dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const changes = Number(process.argv[2] ?? 20);
const tmp = (p) => mkdtempSync(join(tmpdir(), `gh-prop-${p}-`));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((res) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
const procs = [];
function run(args) {
  const p = spawn(join(root, 'gatehouse'), args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' },
  });
  procs.push(p);
  return p;
}
async function until(fn, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch {}
    await sleep(2);
  }
  throw new Error('timeout');
}
const status = async (url) => {
  const r = await fetch(url);
  await r.arrayBuffer();
  return r.status;
};

const upstream = createServer((_q, s) => s.end('ok')).listen(0, '127.0.0.1');
await new Promise((r) => upstream.once('listening', r));
const [admin, cluster] = [await freePort(), await freePort()];
const cpDir = tmp('cp');
run([
  'cp',
  '--dev',
  '--data-dir',
  cpDir,
  '--admin-listen',
  `127.0.0.1:${admin}`,
  '--cluster-listen',
  `127.0.0.1:${cluster}`,
  '--admin-gui-listen',
  'off',
]);
const A = `http://127.0.0.1:${admin}`;
await until(async () => (await status(`${A}/`)) === 200);
const dps = [];
for (let i = 0; i < 2; i++) {
  const [px, st] = [await freePort(), await freePort()];
  run([
    'dp',
    '--control-plane',
    `127.0.0.1:${cluster}`,
    '--trusted-keys',
    join(cpDir, 'keys', 'snapshot-signing.jwks.json'),
    ...clusterTlsArgs(devDataPlaneTlsFiles(cpDir)),
    '--data-dir',
    tmp('dp'),
    '--workers',
    '1',
    '--listen',
    `127.0.0.1:${px}`,
    '--status-listen',
    `127.0.0.1:${st}`,
  ]);
  dps.push({ proxy: `http://127.0.0.1:${px}`, status: `http://127.0.0.1:${st}` });
}
for (const d of dps) await until(async () => (await status(`${d.status}/status/ready`)) === 200);
const post = (path, body) =>
  fetch(`${A}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
await post('/services', { name: 'up', url: `http://127.0.0.1:${upstream.address().port}` });

const times = [];
for (let i = 0; i < changes; i++) {
  const t0 = performance.now();
  const r = await post('/services/up/routes', { paths: [`/p${i}`] });
  if (r.status !== 201) throw new Error(`admin answered ${r.status}`);
  await Promise.all(dps.map((d) => until(async () => (await status(`${d.proxy}/p${i}`)) === 200)));
  times.push(performance.now() - t0);
  await sleep(100);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(
  JSON.stringify({
    changes,
    median_ms: +median.toFixed(1),
    max_ms: +times.at(-1).toFixed(1),
    min_ms: +times[0].toFixed(1),
  }),
);
for (const p of procs) p.kill('SIGTERM');
upstream.close();
setTimeout(() => process.exit(0), 2000).unref();
