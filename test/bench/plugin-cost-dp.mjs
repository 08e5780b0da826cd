#!/usr/bin/env node
// Benchmark (not a test): what key-auth and rate-limiting (`local` and `cluster`) cost per request
// on the real data plane process (`gatehouse dp`, DB-less, primary + one worker), as CPU µs per
// request of the DP's processes (primary + worker, from /proc), optionally A/B against another
// checkout's build (e.g. /work/main) in the same interleaved run.
//
//   node test/bench/plugin-cost-dp.mjs [--rounds 8] [--seconds 3] [--conns 16] [--other /path/to/checkout]
//
// Rows: none, key-auth, key-auth + rate-limiting local, key-auth + rate-limiting cluster (a
// private nats-server, started here, is every DP's --nats-url; the limit is one no run reaches,
// so this is the cost of counting). Every DP is started once; each round loads each DP in turn
// (random order) with wrk for --seconds and charges the DP's CPU to its row. On a busy shared box
// trust the CPU column (neighbours steal wall time, not the CPU a request costs) and compare rows
// of one run only. The upstream answers from this process, wrk runs as its own process.
// Needs wrk and /usr/sbin/nats-server; both trees built.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { childPids, cpuMsOf, freePort, ROOT, sleep } from './lib/processes.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const ROUNDS = Number(opt('rounds', 8));
const SECONDS = Number(opt('seconds', 3));
const CONNS = Number(opt('conns', 16));
const OTHER = opt('other', null);
const API_KEY = 'bench-dp-key';

const body = Buffer.from(
  '{"ok":true,"service":"bench-upstream","path":"/echo","message":"hello from the upstream","seq":1234}',
);
const upstream = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
upstream.keepAliveTimeout = 60_000;
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

const natsPort = await freePort();
const nats = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
process.once('exit', () => nats.kill('SIGKILL'));
await sleep(500);

const never = 1_000_000_000;
const SETS = [
  ['none', []],
  ['key-auth', ['{ name: key-auth, config: { key_names: [x-api-key] } }']],
  [
    'key-auth+rate-limiting local',
    [
      '{ name: key-auth, config: { key_names: [x-api-key] } }',
      `{ name: rate-limiting, config: { minute: ${never}, policy: local } }`,
    ],
  ],
  [
    'key-auth+rate-limiting cluster',
    [
      '{ name: key-auth, config: { key_names: [x-api-key] } }',
      `{ name: rate-limiting, config: { minute: ${never}, policy: cluster } }`,
    ],
  ],
];

function configFile(dir, plugins) {
  const lines = [
    '_format_version: "3.0"',
    'services:',
    '  - name: echo',
    `    url: ${upstreamUrl}`,
    '    routes:',
    '      - name: echo',
    '        paths: [/echo]',
    '        strip_path: false',
  ];
  if (plugins.length > 0) lines.push('        plugins:', ...plugins.map((p) => `          - ${p}`));
  lines.push('consumers:', '  - username: bench', '    keyauth_credentials:', `      - key: ${API_KEY}`);
  const path = join(dir, 'gatehouse.yaml');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function waitFor(url, what, proc) {
  // Up to 10 minutes: a DP starts in ~1 s on a quiet box, and took 48–77 s on the busy shared one.
  for (let i = 0; i < 6000; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}) before it was ready`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${what} did not come up (${url})`);
}

async function startDp(tree, label, plugins) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-plugin-dp-'));
  const [port, statusPort] = [await freePort(), await freePort()];
  const proc = spawn(
    join(tree, 'gatehouse'),
    [
      'dp',
      '--config',
      configFile(dir, plugins),
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
    {
      stdio: ['ignore', openSync(join(dir, 'dp.log'), 'w'), openSync(join(dir, 'dp.err'), 'w')],
      env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' },
    },
  );
  process.once('exit', () => proc.kill('SIGKILL'));
  await waitFor(`http://127.0.0.1:${statusPort}/status/ready`, `DP ${label} (logs in ${dir})`, proc);
  return { proc, port, pids: [proc.pid, ...childPids(proc.pid)] };
}

function wrk(port) {
  return new Promise((resolveRun, reject) => {
    const p = spawn('wrk', [
      '-t1',
      `-c${CONNS}`,
      `-d${SECONDS}s`,
      '-H',
      `x-api-key: ${API_KEY}`,
      `http://127.0.0.1:${port}/echo`,
    ]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('close', () => {
      const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      if (total === 0 || non2xx > 0) reject(new Error(`wrk on ${port}: ${non2xx} non-2xx\n${out}`));
      else resolveRun({ total, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0) });
    });
  });
}

const trees = [{ name: 'this', root: ROOT }];
if (OTHER !== null) trees.push({ name: 'other', root: resolve(OTHER) });
// One at a time: started together on a busy box, a worker can miss the DP's 30 s boot limit.
const rows = [];
for (const tree of trees)
  for (const [label, plugins] of SETS) {
    const name = OTHER === null ? label : `${label} (${tree.name})`;
    rows.push({ name, tree: tree.name, label, dp: await startDp(tree.root, name, plugins), us: [], rps: [] });
  }
await sleep(1000); // the cluster policies' NATS connections

const cpuOf = (dp) => dp.pids.reduce((s, pid) => s + cpuMsOf(pid), 0);
for (let round = 0; round <= ROUNDS; round += 1) {
  for (const row of [...rows].sort(() => Math.random() - 0.5)) {
    const cpu0 = cpuOf(row.dp);
    const { total, rps } = await wrk(row.dp.port);
    const us = ((cpuOf(row.dp) - cpu0) * 1000) / total;
    if (round > 0) (row.us.push(us), row.rps.push(rps)); // round 0 warms up
  }
  process.stderr.write(`round ${round}/${ROUNDS}\n`);
}
for (const row of rows) row.dp.proc.kill('SIGTERM');
nats.kill('SIGTERM');
upstream.close();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
console.log(
  `\ngatehouse dp (primary + 1 worker) per row, wrk -t1 -c${CONNS} -d${SECONDS}s per row per round, ${ROUNDS} rounds (rows in random order), medians\n`,
);
console.log('| row | DP CPU µs/req (median, min–max) | vs none | req/s |');
console.log('| --- | ---: | ---: | ---: |');
for (const row of rows) {
  const none = rows.find((r) => r.tree === row.tree && r.label === 'none');
  const us = median(row.us);
  const vs = row === none ? '—' : `+${((us / median(none.us) - 1) * 100).toFixed(1)} %`;
  console.log(
    `| ${row.name} | ${us.toFixed(1)} (${Math.min(...row.us).toFixed(1)}–${Math.max(...row.us).toFixed(1)}) | ${vs} | ${median(row.rps).toFixed(0)} |`,
  );
}
process.exit(0);
