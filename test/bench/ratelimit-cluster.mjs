#!/usr/bin/env node
// Benchmark (not a test): rate-limiting's `cluster` policy against `local`, on three real data
// plane processes (`gatehouse dp`, DB-less, one worker each) sharing counts over a nats-server of
// our own, loaded at once by three wrk processes (one per DP).
//
//   node test/bench/ratelimit-cluster.mjs [--duration 10] [--limit 20000]
//
// Prints, from one run:
//   * throughput of the three DPs with no plugin, with rate-limiting `local` and with `cluster`
//     (a limit no run reaches: the cost of counting and of sharing the counts);
//   * over-admission under load: `cluster` with an hour limit L that the run exceeds; every DP
//     counts the same client (limit_by header): admitted = requests answered 200; ε = admitted/L − 1.
// Needs wrk (bash ../shared/bench/setup.sh) and /usr/sbin/nats-server; the tree built (npm start
// or node scripts/bootstrap.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const DURATION = arg('duration', 10);
const LIMIT = arg('limit', 20000);
const DPS = 3;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
      join(root, 'gatehouse'),
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
    dps.push({ proc, port });
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

async function run(name, plugin) {
  const dps = await startFleet(plugin);
  const results = await Promise.all(dps.map((dp) => wrk(dp.port)));
  await stopFleet(dps);
  const rps = results.reduce((s, r) => s + r.rps, 0);
  const ok = results.reduce((s, r) => s + r.ok, 0);
  const total = results.reduce((s, r) => s + r.total, 0);
  return { name, rps, ok, total };
}

const never = 1_000_000_000;
const rl = (limit, policy) =>
  `{ name: rate-limiting, config: { hour: ${limit}, policy: ${policy}, limit_by: header, header_name: x-tenant } }`;
const hourLeft = 3600 - (Math.floor(Date.now() / 1000) % 3600);
if (hourLeft < DURATION + 30) {
  console.error(`the hour window rolls over in ${hourLeft}s: run again after it`);
  process.exit(2);
}
const rows = [
  await run('no plugin', null),
  await run('rate-limiting local', rl(never, 'local')),
  await run('rate-limiting cluster', rl(never, 'cluster')),
];
const base = rows[0].rps;
console.log(`\n${DPS} DPs (1 worker each), wrk -t1 -c32 -d${DURATION}s per DP, one shared client key\n`);
console.log('| fleet | req/s (3 DPs) | vs no plugin |');
console.log('| --- | ---: | ---: |');
for (const r of rows)
  console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${((r.rps / base) * 100).toFixed(1)} % |`);

const over = await run('cluster, limited', rl(LIMIT, 'cluster'));
const eps = over.ok / LIMIT - 1;
console.log(
  `\nover-admission: limit ${LIMIT}/hour across ${DPS} DPs, ${over.total} requests sent, ${over.ok} admitted: ε = ${(eps * 100).toFixed(2)} %`,
);
nats.kill('SIGTERM');
upstream.close();
