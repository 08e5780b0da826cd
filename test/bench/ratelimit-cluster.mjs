#!/usr/bin/env node
// Benchmark (not a test): rate-limiting's `cluster` policy against `local`, on three real data
// plane processes (`gatehouse dp`, DB-less, one worker each) sharing counts over a nats-server of
// our own, loaded at once by three wrk processes (one per DP).
//
//   node test/bench/ratelimit-cluster.mjs [--duration 10] [--limit 20000] [--reps 3] [--delta-ms 10]
//
// Prints, from one run (rows interleaved over --reps rounds, medians):
//   * CPU µs per request of the three DPs (every process of each: primary + worker, from /proc)
//     and their req/s with no plugin, with rate-limiting `local` and with `cluster` (a limit no
//     run reaches: the cost of counting and of sharing the counts). On a busy shared box compare
//     the CPU column; req/s depends on what the neighbours leave;
//   * over-admission under load: `cluster` with an hour limit L that the run exceeds; every DP
//     counts the same client (limit_by header): admitted = requests answered 200; ε = admitted/L − 1,
//     next to the bound of docs/plugins-traffic.md, ε ≤ (D − 1)·r·(Δ + δ)/L, with r the rate at
//     which each DP took requests in that run, Δ = 100 ms and δ the delivery delay allowed.
// Needs wrk (bash ../shared/bench/setup.sh) and /usr/sbin/nats-server; the tree built (npm start
// or node scripts/bootstrap.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childPids, cpuMsOf, freePort, GATEHOUSE, sleep } from './lib/processes.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const DURATION = arg('duration', 10);
const LIMIT = arg('limit', 20000);
const REPS = arg('reps', 3);
/** δ allowed in the bound: publish → a peer's event loop on one machine. */
const DELIVERY_MS = arg('delta-ms', 10);
const SYNC_MS = 100;
const DPS = 3;

async function waitFor(url, what) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${what} did not come up (${url})`);
}

const body = Buffer.from('{"ok":true}');
const upstream = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

const natsPort = await freePort();
const nats = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
await sleep(500);

function file(dir, plugin) {
  const lines = [
    '_format_version: "3.0"',
    'services:',
    '  - name: echo',
    `    url: ${upstreamUrl}`,
    '    routes:',
    '      - name: echo',
    '        paths: [/echo]',
  ];
  if (plugin) lines.push('        plugins:', `          - ${plugin}`);
  const path = join(dir, 'gatehouse.yaml');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function startFleet(plugin) {
  const dps = [];
  for (let i = 0; i < DPS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'gh-rl-bench-'));
    const [port, statusPort] = [await freePort(), await freePort()];
    const proc = spawn(
      GATEHOUSE,
      [
        'dp',
        '--config',
        file(dir, plugin),
        '--workers',
        '1',
        '--data-dir',
        join(dir, 'dp'),
        '--listen',
        `127.0.0.1:${port}`,
        '--status-listen',
        `127.0.0.1:${statusPort}`,
        '--nats-url',
        `nats://127.0.0.1:${natsPort}`,
      ],
      { stdio: 'ignore', env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' } },
    );
    await waitFor(`http://127.0.0.1:${statusPort}/status/ready`, `DP ${i}`);
    dps.push({ proc, port, pids: [proc.pid, ...childPids(proc.pid)] });
  }
  await sleep(500); // the cluster policies' NATS connections
  return dps;
}

const stopFleet = async (dps) => {
  for (const dp of dps) dp.proc.kill('SIGTERM');
  await sleep(1000);
};

function wrk(port) {
  return new Promise((resolve) => {
    const p = spawn('wrk', [
      '-t1',
      '-c32',
      `-d${DURATION}s`,
      '-H',
      'x-tenant: bench',
      `http://127.0.0.1:${port}/echo`,
    ]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => {
      const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      resolve({ total, ok: total - non2xx, rps });
    });
  });
}

/** CPU ms of every process of the fleet (each DP's primary and its workers). */
const fleetCpuMs = (dps) => dps.reduce((sum, dp) => sum + dp.pids.reduce((s, pid) => s + cpuMsOf(pid), 0), 0);

async function run(name, plugin) {
  const dps = await startFleet(plugin);
  const cpu0 = fleetCpuMs(dps);
  const results = await Promise.all(dps.map((dp) => wrk(dp.port)));
  const cpuMs = fleetCpuMs(dps) - cpu0;
  await stopFleet(dps);
  const rps = results.reduce((s, r) => s + r.rps, 0);
  const ok = results.reduce((s, r) => s + r.ok, 0);
  const total = results.reduce((s, r) => s + r.total, 0);
  return { name, rps, ok, total, usPerReq: (cpuMs * 1000) / total };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const never = 1_000_000_000;
const rl = (limit, policy) =>
  `{ name: rate-limiting, config: { hour: ${limit}, policy: ${policy}, limit_by: header, header_name: x-tenant } }`;
const hourLeft = 3600 - (Math.floor(Date.now() / 1000) % 3600);
if (hourLeft < DURATION + 30) {
  console.error(`the hour window rolls over in ${hourLeft}s: run again after it`);
  process.exit(2);
}
// First, while the hour window is known to last: the over-admission run.
process.stderr.write('over-admission run\n');
const over = await run('cluster, limited', rl(LIMIT, 'cluster'));

const cases = [
  ['no plugin', null],
  ['rate-limiting local', rl(never, 'local')],
  ['rate-limiting cluster', rl(never, 'cluster')],
];
const runs = cases.map(() => []);
for (let rep = 0; rep < REPS; rep += 1)
  for (let i = 0; i < cases.length; i += 1) {
    process.stderr.write(`rep ${rep + 1}/${REPS}: ${cases[i][0]}\n`);
    runs[i].push(await run(...cases[i]));
  }
const rows = cases.map(([name], i) => ({
  name,
  rps: median(runs[i].map((r) => r.rps)),
  us: median(runs[i].map((r) => r.usPerReq)),
  all: runs[i].map((r) => r.usPerReq.toFixed(1)).join(', '),
}));
console.log(
  `\n${DPS} DPs (1 worker each), wrk -t1 -c32 -d${DURATION}s per DP, one shared client key; ${REPS} reps, medians\n`,
);
console.log('| fleet | CPU µs/req (all reps) | vs no plugin | vs local | req/s (3 DPs) |');
console.log('| --- | ---: | ---: | ---: | ---: |');
const pct = (a, b) => `${a >= b ? '+' : ''}${((a / b - 1) * 100).toFixed(1)} %`;
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.us.toFixed(1)} (${r.all}) | ${pct(r.us, rows[0].us)} | ${pct(r.us, rows[1].us)} | ${r.rps.toFixed(0)} |`,
  );

const eps = over.ok / LIMIT - 1;
// Each DP's request rate in that run (they were loaded alike): r of the bound.
const perDp = over.total / DURATION / DPS;
const bound = ((DPS - 1) * perDp * (SYNC_MS + DELIVERY_MS)) / 1000 / LIMIT;
console.log(
  `\nover-admission: limit ${LIMIT}/hour across ${DPS} DPs, ${over.total} requests sent (r ≈ ${perDp.toFixed(0)} req/s per DP), ${over.ok} admitted: ε = ${(eps * 100).toFixed(2)} % (bound (D−1)·r·(Δ+δ)/L with Δ ${SYNC_MS} ms, δ ${DELIVERY_MS} ms: ${(bound * 100).toFixed(2)} %)`,
);
nats.kill('SIGTERM');
upstream.close();
