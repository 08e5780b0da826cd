#!/usr/bin/env node
// The stages of a snapshot apply, one by one, in CPU time and wall time (a loaded box moves the
// wall time a lot and the CPU time little), for the 10,000-entity configuration of dp-10k.mjs:
//
//   primary_verify   JWS signature, gunzip, sha256 (verifySnapshotBytes)
//   primary_compile  what the primary compiles: the upstreams of the node part a worker sends back
//                    (compileUpstreams; the primary parses no config)
//   full_compile     parse + compileRuntime of the whole config (what each worker compiles)
//   worker_parse / worker_compile / worker_swap   in this process, on a ProxyServer as a worker has
//   round_*          a real WorkerPool (one worker process, node:cluster IPC): apply() of the big
//                    config after a 1-service one (prepare, the primary's check, commit), wall
//                    time, the primary's CPU during it, and the
//                    worker's CPU (/proc, 10 ms ticks, 0.5 s after: with its collection);
//   worker_memory    3 s after the last round (process.memoryUsage, heap spaces, RSS by mapping),
//                    read through a probe preloaded in the worker, as is and after a full GC;
//                    `--heap-snapshot` also writes a heap snapshot of the worker
//
//   node scripts/bootstrap.mjs && node --expose-gc test/bench/dp-apply-stages.mjs [--count 10000] [--reps 5]
//   GATEHOUSE_ROOT=<an older build's tree> node ... --ipc-string    (builds that sent a string)
//
// Prints JSON: each stage's min and median over --reps runs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import {
  createLogger,
  loadDeclarativeFile,
  loadSigningKey,
  loadTrustedKeys,
  signSnapshot,
  withCredentialDigests,
  writeSigningKeyPair,
} from '../../shared/dist/index.js';
import { bigConfig, cpuMsOf, mib, rssOf, ROOT, sleep, tempDir } from './lib/processes.mjs';

const DP = join(ROOT, 'data-plane', 'dist');
const { loadPluginRegistry } = await import(join(DP, 'plugins', 'registry.js'));
const { ProxyServer } = await import(join(DP, 'proxy', 'proxy-server.js'));
const { compileRuntime } = await import(join(DP, 'runtime', 'compile-runtime.js'));
const { compileUpstreams } = await import(join(DP, 'balancer', 'balancers.js'));
const { WorkerPool } = await import(join(DP, 'workers', 'worker-pool.js'));
const { takeConfig } = await import(join(DP, 'workers', 'worker-runtime.js'));
const { nodeConfigOf } = await import(join(DP, 'runtime', 'node-config.js'));
const { verifySnapshotBytes, parseSnapshotConfig, completeConfig } =
  await import('../../shared/dist/index.js');

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '5' },
    'heap-snapshot': { type: 'boolean', default: false },
    'skip-round': { type: 'boolean', default: false },
    'skip-stages': { type: 'boolean', default: false },
    // Builds before the config went over IPC as bytes took a string (GATEHOUSE_ROOT=<old tree>).
    'ipc-string': { type: 'boolean', default: false },
  },
});
const N = Number(values.count);
const REPS = Number(values.reps);
const logger = createLogger('dp-apply-stages', { level: 'silent' });

// --- the snapshot, as a CP would sign it ---
const dir = tempDir('stages');
const file = join(dir, 'config.json');
writeFileSync(file, bigConfig(N, { upstream: 'http://127.0.0.1:9' }));
const registry = await loadPluginRegistry();
const config = withCredentialDigests(await loadDeclarativeFile(file, { plugins: registry }));
const keyFiles = await writeSigningKeyPair(dir);
const key = await loadSigningKey(keyFiles.privateKeyFile);
const trusted = await loadTrustedKeys([keyFiles.publicKeysFile]);
const signed = await signSnapshot({ config, version: 2n, cpId: 'bench', key });

/** Runs `fn` REPS times: min and median CPU (user+system) and wall ms. */
async function measure(fn) {
  const cpu = [];
  const wall = [];
  for (let i = 0; i < REPS; i++) {
    globalThis.gc?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const stat = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { min: Math.round(s[0]), median: Math.round(s[Math.floor(s.length / 2)]) };
  };
  return { cpu_ms: stat(cpu), wall_ms: stat(wall) };
}

const out = {
  count: N,
  snapshot_json_mib: mib(signed.uncompressedSize),
  snapshot_gzip_mib: mib(signed.config.length),
};
const bytes = (await verifySnapshotBytes(signed, trusted)).bytes;
const json = bytes.toString('utf8');
if (!values['skip-stages']) {
  out.primary_verify = await measure(async () => {
    await verifySnapshotBytes(signed, trusted);
  });
  const node = nodeConfigOf(parseSnapshotConfig(json));
  out.primary_compile = await measure(() => compileUpstreams(completeConfig(node), null));
  out.full_compile = await measure(() =>
    compileRuntime(parseSnapshotConfig(json), registry, { logger, serving: null }),
  );
  const proxy = new ProxyServer({ logger, plugins: registry, activeHealthChecks: false });
  let parsed;
  // As a worker takes it from its IPC message: bytes -> text -> parsed and completed.
  out.worker_parse = await measure(() => {
    parsed = takeConfig({ bytes });
  });
  let runtime;
  out.worker_compile = await measure(() => {
    runtime = proxy.compile(parsed);
  });
  out.worker_swap = await measure(() => proxy.swap(runtime));
  await proxy.close();
}

// --- a real worker process, fed over node:cluster IPC ---
if (!values['skip-round']) {
  const probeDir = join(dir, 'probe');
  mkdirSync(probeDir);
  const probe = join(probeDir, 'probe.mjs');
  writeFileSync(
    probe,
    `import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { readFileSync } from 'node:fs';
/** RSS by kind of mapping (MiB): brk heap, anonymous mmaps, files. */
function smaps() {
  const out = { brk_heap: 0, anon: 0, file: 0 };
  let kind = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \\S+ \\S+ \\S+ \\d+\\s*(.*)$/.exec(line);
    if (m) { kind = m[1] === '[heap]' ? 'brk_heap' : m[1] === '' || m[1].startsWith('[') ? 'anon' : 'file'; continue; }
    const r = /^Rss:\\s+(\\d+) kB/.exec(line);
    if (r) out[kind] += Number(r[1]) / 1024;
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k] * 10) / 10;
  return out;
}
process.on('SIGUSR2', () => {
  const report = (label) => ({ label, ...process.memoryUsage(), smaps: smaps(), spaces: Object.fromEntries(v8.getHeapSpaceStatistics().filter((s) => s.space_size > 0).map((s) => [s.space_name, Math.round(s.space_used_size / 1048576 * 10) / 10 + ' of ' + Math.round(s.space_size / 1048576 * 10) / 10])) });
  const before = report('as is');
  globalThis.gc?.();
  setTimeout(() => {
    const after = report('after gc');
    writeFileSync(${JSON.stringify(join(probeDir, 'memory.json'))}, JSON.stringify([before, after]));
    if (process.env.HEAP_SNAPSHOT) v8.writeHeapSnapshot(${JSON.stringify(join(probeDir, 'worker.heapsnapshot'))});
  }, 1000);
});
`,
  );
  const pool = new WorkerPool({
    size: 1,
    listen: { host: '127.0.0.1', port: 0 },
    logger,
    execArgv: ['--expose-gc', '--import', probe],
    env: values['heap-snapshot'] ? { HEAP_SNAPSHOT: '1' } : {},
  });
  await pool.start();
  const small = withCredentialDigests(await loadDeclarativeFile(writeSmall(), { plugins: registry }));
  const { encodeConfig } = await import('../../shared/dist/index.js');
  const asSent = (b) => (values['ipc-string'] ? b.toString('utf8') : b);
  const smallBytes = asSent(encodeConfig(small).bytes);
  const rounds = [];
  let v = 10n;
  await pool.apply(smallBytes, { version: v++, hash: 'small' });
  await sleep(1000);
  out.worker_rss_small_mib = mib(rssOf(pool.workerPids[0]));
  const [workerPid] = pool.workerPids;
  for (let i = 0; i < REPS; i++) {
    await pool.apply(smallBytes, { version: v++, hash: `small-${i}` });
    await sleep(500);
    const w0 = cpuMsOf(workerPid);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    // The check the primary runs between the steps (data-plane.ts): the node part's upstreams.
    await pool.apply(asSent(bytes), { version: v++, hash: `big-${i}` }, (n) =>
      compileUpstreams(completeConfig(n), null),
    );
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    await sleep(500);
    rounds.push({ wall, primary: (cpu.user + cpu.system) / 1000, worker: cpuMsOf(workerPid) - w0 });
  }
  const stat = (k) => {
    const s = rounds.map((r) => r[k]).sort((a, b) => a - b);
    return { min: Math.round(s[0]), median: Math.round(s[Math.floor(s.length / 2)]) };
  };
  out.round_wall_ms = stat('wall');
  out.round_primary_cpu_ms = stat('primary');
  out.round_worker_cpu_ms = stat('worker');
  await sleep(3000);
  const [pid] = pool.workerPids;
  out.worker_rss_mib = mib(rssOf(pid));
  process.kill(pid, 'SIGUSR2');
  const memoryFile = join(probeDir, 'memory.json');
  for (
    let waited = 0;
    !existsSync(memoryFile) ||
    (values['heap-snapshot'] && !existsSync(out.heap_snapshot ?? join(probeDir, 'worker.heapsnapshot')));
    waited += 200
  ) {
    if (waited > 60_000) throw new Error('the worker probe did not answer');
    await sleep(200);
  }
  if (values['heap-snapshot']) await sleep(5000);
  const [before, after] = JSON.parse(readFileSync(join(probeDir, 'memory.json'), 'utf8'));
  const fmt = (r) => ({
    rss: mib(r.rss),
    heap_total: mib(r.heapTotal),
    heap_used: mib(r.heapUsed),
    external: mib(r.external),
    array_buffers: mib(r.arrayBuffers),
    spaces_used_of_size_mib: r.spaces,
    rss_by_mapping_mib: r.smaps,
  });
  out.worker_memory = fmt(before);
  out.worker_memory_after_gc = fmt(after);
  if (values['heap-snapshot']) out.heap_snapshot = join(probeDir, 'worker.heapsnapshot');
  await pool.stop();
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);

function writeSmall() {
  const f = join(dir, 'small.json');
  writeFileSync(f, bigConfig(1, { upstream: 'http://127.0.0.1:9' }));
  return f;
}
