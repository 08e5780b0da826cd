#!/usr/bin/env node
// Benchmark (not a test): CPU µs per request of the in-process candidate (gatehouse-candidate.mjs,
// one ProxyServer, one process) with different plugin sets, rows interleaved in one sitting, so a
// busy shared box skews every row alike. The candidate is pinned to cpu1; wrk and the nginx
// upstream of the shared harness (../shared/bench/nginx) to cpu0. Per row and rep: a warm-up, then
// a measured run; CPU = the candidate's utime + stime from /proc/<pid>/stat over the measured run,
// divided by the requests wrk completed in it.
//
//   node test/bench/plugin-cost.mjs [--reps 3] [--warmup 5] [--duration 8] [--conns 32] \
//     [--row LABEL=PLUGINS[@DIST]]...
//
// PLUGINS: GATEHOUSE_PLUGIN of the candidate (comma-separated; '' = no plugin). DIST: another
// build of data-plane/dist, relative to the repository (GATEHOUSE_DP_DIST), for before/after:
//   cp -r data-plane/dist data-plane/dist-before   # before the change; then rebuild
//   node test/bench/plugin-cost.mjs --row none= --row 'ka+rl before=key-auth,rate-limiting@data-plane/dist-before' \
//     --row 'ka+rl=key-auth,rate-limiting'
// Default rows: none, key-auth, key-auth+rate-limiting, proxy-cache.
// Needs wrk and nginx (bash ../shared/bench/setup.sh) and the tree built.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const BENCH = process.env.GATEHOUSE_BENCH_DIR ?? join(root, '..', 'shared', 'bench');
const API_KEY = 'bench-cost-key';

const argv = process.argv.slice(2);
const num = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const REPS = num('reps', 3);
const WARMUP = num('warmup', 5);
const DURATION = num('duration', 8);
const CONNS = num('conns', 32);
const rowSpecs = argv.flatMap((a, i) => (a === '--row' ? [argv[i + 1]] : []));
const rows = (
  rowSpecs.length > 0
    ? rowSpecs
    : [
        'none=',
        'key-auth=key-auth',
        'key-auth+rate-limiting=key-auth,rate-limiting',
        'proxy-cache=proxy-cache',
      ]
).map((spec) => {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`--row ${spec}: expected LABEL=PLUGINS[@DIST]`);
  const [plugins, dist] = spec.slice(eq + 1).split('@');
  return { label: spec.slice(0, eq), plugins, dist, runs: [] };
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitFor(url, headers) {
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(url, { headers })).status === 200) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200`);
}

/** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function wrk(port, seconds) {
  return new Promise((resolve) => {
    const p = spawn('taskset', [
      '-c',
      '0',
      'wrk',
      '-t1',
      `-c${CONNS}`,
      `-d${seconds}s`,
      '-H',
      `x-api-key: ${API_KEY}`,
      `http://127.0.0.1:${port}/echo`,
    ]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => {
      const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      resolve({ total, non2xx });
    });
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

const upstreamPort = await freePort();
const upstreamDir = mkdtempSync(join(tmpdir(), 'gh-plugin-cost-up-'));
const upstream = spawn('taskset', ['-c', '0', join(BENCH, 'nginx', 'start.sh'), 'upstream'], {
  stdio: 'ignore',
  env: { ...process.env, PORT: String(upstreamPort), CAND_DIR: upstreamDir, BENCH_DIR: BENCH },
});
await waitFor(`http://127.0.0.1:${upstreamPort}/echo`);

async function measure(row) {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), UPSTREAM_PORT: String(upstreamPort), API_KEY };
  env.GATEHOUSE_PLUGIN = row.plugins;
  if (row.dist !== undefined) env.GATEHOUSE_DP_DIST = row.dist;
  else delete env.GATEHOUSE_DP_DIST;
  const proc = spawn('taskset', ['-c', '1', 'node', join(here, 'gatehouse-candidate.mjs')], {
    stdio: 'ignore',
    env,
  });
  try {
    await waitFor(`http://127.0.0.1:${port}/echo`, { 'x-api-key': API_KEY });
    // taskset execs node: the candidate is proc.pid itself.
    await wrk(port, WARMUP);
    const t0 = cpuTicks(proc.pid);
    const w0 = process.hrtime.bigint();
    const { total, non2xx } = await wrk(port, DURATION);
    const ticks = cpuTicks(proc.pid) - t0;
    const wallS = Number(process.hrtime.bigint() - w0) / 1e9;
    const cpuS = ticks / 100;
    row.runs.push({
      usPerReq: (cpuS * 1e6) / total,
      rps: total / wallS,
      cpuPct: (100 * cpuS) / wallS,
      non2xx,
    });
  } finally {
    await stop(proc);
  }
}

for (let rep = 0; rep < REPS; rep += 1)
  for (const row of rows) {
    process.stderr.write(`rep ${rep + 1}/${REPS}: ${row.label}\n`);
    await measure(row);
  }
await stop(upstream);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const base = median(rows[0].runs.map((r) => r.usPerReq));
console.log(
  `\nin-process candidate on cpu1, wrk -t1 -c${CONNS} + nginx upstream on cpu0; ${REPS} reps × ${DURATION}s (warm-up ${WARMUP}s), interleaved\n`,
);
console.log(`| row | CPU µs/req median (all) | vs ${rows[0].label} | req/s median | proxy CPU % | non-2xx |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const row of rows) {
  const us = median(row.runs.map((r) => r.usPerReq));
  const all = row.runs.map((r) => r.usPerReq.toFixed(1)).join(', ');
  const pct = ((us / base - 1) * 100).toFixed(1);
  console.log(
    `| ${row.label} | ${us.toFixed(1)} (${all}) | ${pct.startsWith('-') ? '' : '+'}${pct} % | ${median(row.runs.map((r) => r.rps)).toFixed(0)} | ${median(row.runs.map((r) => r.cpuPct)).toFixed(0)} | ${row.runs.reduce((s, r) => s + r.non2xx, 0)} |`,
  );
}
