#!/usr/bin/env node
// A data plane serving the 10,000-entity configuration of import-10k.mjs, through the real
// processes: `gatehouse cp --dev` (PGlite) and `gatehouse dp --workers 1` connected to it; every
// service points at a local upstream. Imports a 1-service configuration, then the 10,000 one, then
// the 1-service one again, and for each prints:
//   apply_ms          CP log "snapshot published" -> DP primary log "config applied" (transfer,
//                     verify, dry-run compile in the primary, IPC, the worker's compile and swap)
//   stages_ms         from the DP's logs: the primary's verify, its own compile and the round to
//                     the workers (apply), the worker's parse and compile (wall time)
//   dp_cpu_ms         CPU time the primary and the worker used from the import until the apply
//                     (/proc, 10 ms ticks): on a busy box a steadier figure than the wall time
//   worker_rss_mib    the worker's RSS (/proc), after the wrk runs (3 s after the apply)
//   rps               wrk against one route (GET with the key-auth key), --duration seconds, best
//                     of --reps runs; the ratio 10k/1 is printed as throughput_10k_vs_1
//
//   node scripts/bootstrap.mjs && node test/bench/dp-10k.mjs [--count 10000] [--duration 8] [--reps 2]
//   --cpu-prof <dir>   the DP's primary and worker write CPU profiles there (<pid>.cpuprofile, at
//                      exit; NODE_OPTIONS refuses --cpu-prof, so a preloaded inspector session)
//
// Needs wrk on the PATH. The upstream is a node:http server in this process, so on a small box
// the figures are a comparison between configs, not a gateway benchmark (see run.sh for that).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  bigConfig,
  childPids,
  cpuMsOf,
  freePort,
  mib,
  rssOf,
  runGatehouse,
  sleep,
  startControlPlane,
  startGatehouse,
  tempDir,
} from './lib/processes.mjs';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '8' },
    reps: { type: 'string', default: '2' },
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.count);

const upstream = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
await new Promise((r) => upstream.once('listening', r));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
const dir = tempDir('dp10k');
const files = {};
for (const n of [1, N]) {
  files[n] = join(dir, `config-${n}.json`);
  writeFileSync(files[n], bigConfig(n, { upstream: upstreamUrl }));
}

/** wrk's requests/s against `url` with the first consumer's key. */
function wrk(url) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('wrk', ['-t1', '-c32', `-d${values.duration}s`, '-H', 'apikey: key-0-0', url]);
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      if (!rps || non2xx) reject(new Error(`wrk: ${non2xx} non-2xx answers\n${out}`));
      else resolvePromise(Math.round(rps));
    });
  });
}

/** NODE_OPTIONS that make a process profile itself until it exits. */
function profilerOptions(out) {
  const hook = join(dir, 'cpu-prof.mjs');
  writeFileSync(
    hook,
    `import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
const s = new Session();
s.connect();
s.post('Profiler.enable');
s.post('Profiler.start');
process.once('exit', () =>
  s.post('Profiler.stop', (e, r) => {
    mkdirSync(${JSON.stringify(out)}, { recursive: true });
    if (!e) writeFileSync(${JSON.stringify(out)} + '/' + process.pid + '.cpuprofile', JSON.stringify(r.profile));
  }),
);
`,
  );
  return { NODE_OPTIONS: `--import ${hook}` };
}

const cp = await startControlPlane({ db: 'pglite' });
const proxyPort = await freePort();
const dp = startGatehouse(
  [
    'dp',
    '--control-plane',
    cp.clusterAddress,
    '--trusted-keys',
    cp.trustedKeys,
    ...cp.dpTlsArgs,
    '--data-dir',
    tempDir('dp'),
    '--workers',
    '1',
    '--listen',
    `127.0.0.1:${proxyPort}`,
    '--status-listen',
    '127.0.0.1:0',
  ],
  {
    logLevel: 'debug',
    env: values['cpu-prof'] ? profilerOptions(values['cpu-prof']) : {},
  },
);

const results = [];
try {
  await dp.waitForLog((l) => l.msg === 'config applied');
  for (const n of [1, N, 1]) {
    const [workerBefore] = childPids(dp.pid);
    const cpuBefore = { primary: cpuMsOf(dp.pid), worker: cpuMsOf(workerBefore) };
    const run = await runGatehouse(['config', 'import', files[n], '--admin-url', cp.adminUrl]);
    if (run.code !== 0) throw new Error(`import failed: ${run.stderr}`);
    const published = await cp.waitForLog(
      (l) => l.msg === 'snapshot published' && l.services === n && l.time > (results.at(-1)?.at ?? 0),
    );
    const applied = await dp.waitForLog(
      (l) => l.msg === 'config applied' && l.version === String(published.version) && l.source,
    );
    // Builds before the stage times logged none: their worker stages are left out.
    const workerApplied = await dp
      .waitForLog(
        (l) =>
          l.msg === 'config applied' && l.version === String(published.version) && l.parse_ms !== undefined,
        5000,
      )
      .catch(() => ({}));
    const [worker] = childPids(dp.pid);
    const dpCpu = {
      primary: cpuMsOf(dp.pid) - cpuBefore.primary,
      worker: cpuMsOf(worker) - cpuBefore.worker,
    };
    await sleep(3000);
    const route = `http://127.0.0.1:${proxyPort}/svc-${Math.floor(n / 2)}`;
    const rps = [];
    for (let i = 0; i < Number(values.reps); i++) rps.push(await wrk(route));
    results.push({
      services: n,
      at: applied.time,
      apply_ms: applied.time - published.time,
      stages_ms: {
        primary_verify: applied.verify_ms,
        primary_compile: applied.compile_ms,
        primary_apply: applied.apply_ms,
        worker_parse: workerApplied.parse_ms,
        worker_compile: workerApplied.compile_ms,
        worker_cpu: workerApplied.cpu_ms,
      },
      dp_cpu_ms: dpCpu,
      snapshot_build_ms: published.buildMs,
      snapshot_gzip_mib: mib(published.compressed),
      worker_rss_mib: mib(rssOf(worker)),
      primary_rss_mib: mib(rssOf(dp.pid)),
      rps: Math.max(...rps),
      rps_runs: rps,
    });
  }
} finally {
  await dp.stop();
  await cp.stop();
  upstream.close();
}
const [one, many, oneAgain] = results;
process.stdout.write(
  `${JSON.stringify(
    {
      results: results.map(({ at: _at, ...r }) => r),
      throughput_10k_vs_1: Math.round((many.rps / Math.max(one.rps, oneAgain.rps)) * 1000) / 1000,
    },
    null,
    2,
  )}\n`,
);
