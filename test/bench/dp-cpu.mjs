#!/usr/bin/env node
/**
 * CPU per request of the real data plane (`gatehouse dp`, primary + one worker, DB-less, one
 * route /echo, no plugins; test/bench/gatehouse-dp-candidate.sh) against other builds of it and
 * against two floors (lib/floor-proxy.mjs: bare node:http → undici; lib/floor-llhttp.mjs: node:http →
 * a minimal keep-alive client on node's llhttp parser). Every candidate runs at once,
 * pinned to one core (`--proxy-cpu`, default 1); wrk and the nginx upstream of ../shared/bench run
 * on the other. Rounds are interleaved (A B C, A B C, …); each round is `--warmup` s of load, then
 * `--duration` s measured: the CPU the candidate's processes used (/proc, primary and workers
 * apart) over the requests wrk counted. Medians per candidate. Busy box: compare CPU µs, not rps.
 *
 * Usage: node test/bench/dp-cpu.mjs [--rounds 5] [--duration 8] [--warmup 3] [--conns 64]
 *          [--candidate name=/path/to/repo …] [--no-floor]
 * A candidate is a repository root (its built dist); default: this one, named `branch`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { childPids, cpuMsOf, freePort, ROOT, sleep } from './lib/processes.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    conns: { type: 'string', default: '64' },
    'proxy-cpu': { type: 'string', default: '1' },
    'load-cpu': { type: 'string', default: '0' },
    candidate: { type: 'string', multiple: true },
    'no-floor': { type: 'boolean', default: false },
  },
});
const BENCH = process.env.BENCH_DIR ?? join(ROOT, '..', 'shared', 'bench');
const pin = (cpu, cmd, args) => ['taskset', ['-c', cpu, cmd, ...args]];
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function start(name, cmd, args, env) {
  const [c, a] = pin(values['proxy-cpu'], cmd, args);
  const child = spawn(c, a, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env, CAND_DIR: mkdtempSync(join(tmpdir(), `gh-dpcpu-${name}-`)) },
  });
  children.push(child);
  return child;
}

async function ready(port) {
  for (let i = 0; i < 1200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/echo`);
      const body = await r.text();
      if (r.status === 200 && body.includes('bench-upstream')) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`port ${port} never answered 200`);
}

const upstreamPort = await freePort();
const [uc, ua] = pin(values['load-cpu'], join(BENCH, 'nginx', 'start.sh'), ['upstream']);
children.push(
  spawn(uc, ua, {
    stdio: 'ignore',
    env: {
      ...process.env,
      PORT: String(upstreamPort),
      BENCH_DIR: BENCH,
      CAND_DIR: mkdtempSync(join(tmpdir(), 'gh-dpcpu-up-')),
    },
  }),
);

const specs = (values.candidate ?? [`branch=${ROOT}`]).map((s) => {
  const [name, root] = s.split('=');
  return { name, cmd: join(root, 'test', 'bench', 'gatehouse-dp-candidate.sh'), args: [] };
});
if (!values['no-floor'])
  specs.push(
    { name: 'floor', cmd: process.execPath, args: [join(ROOT, 'test/bench/lib/floor-proxy.mjs')] },
    { name: 'floor-llhttp', cmd: process.execPath, args: [join(ROOT, 'test/bench/lib/floor-llhttp.mjs')] },
  );

const cands = [];
for (const s of specs) {
  const port = await freePort();
  const child = start(s.name, s.cmd, s.args, { PORT: String(port), UPSTREAM_PORT: String(upstreamPort) });
  cands.push({ ...s, port, child, rows: [] });
}
for (const c of cands) await ready(c.port);

function wrk(port, seconds) {
  const [c, a] = pin(values['load-cpu'], 'wrk', [
    '-t2',
    `-c${values.conns}`,
    `-d${seconds}s`,
    `http://127.0.0.1:${port}/echo`,
  ]);
  const out = spawnSync(c, a, { encoding: 'utf8' }).stdout;
  const m = /(\d+) requests in/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`wrk saw errors on ${port}: ${out}`);
  return Number(m?.[1] ?? 0);
}

const procs = (pid) => [pid, ...childPids(pid)];
for (let round = 0; round < Number(values.rounds); round++) {
  for (const c of cands) {
    wrk(c.port, Number(values.warmup));
    const pids = procs(c.child.pid);
    const before = pids.map(cpuMsOf);
    const n = wrk(c.port, Number(values.duration));
    const used = pids.map((p, i) => cpuMsOf(p) - before[i]);
    const total = used.reduce((a, b) => a + b, 0);
    c.rows.push({ us: (total * 1000) / n, primary: (used[0] * 1000) / n, rps: n / Number(values.duration) });
    process.stderr.write(`round ${round + 1} ${c.name}: ${((total * 1000) / n).toFixed(1)} µs/req\n`);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `CPU µs per request (median of ${values.rounds} interleaved rounds of ${values.duration} s, wrk -c${values.conns}):`,
);
console.log(
  `  ${'candidate'.padEnd(12)} ${'µs/req'.padStart(7)} ${'primary'.padStart(8)} ${'rps'.padStart(7)}  rounds`,
);
for (const c of cands) {
  console.log(
    `  ${c.name.padEnd(12)} ${median(c.rows.map((r) => r.us))
      .toFixed(1)
      .padStart(7)} ${median(c.rows.map((r) => r.primary))
      .toFixed(1)
      .padStart(8)} ${median(c.rows.map((r) => r.rps))
      .toFixed(0)
      .padStart(7)}  ${c.rows.map((r) => r.us.toFixed(1)).join(' ')}`,
  );
}
for (const c of children) c.kill('SIGTERM');
