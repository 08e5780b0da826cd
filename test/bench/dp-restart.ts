// Time and CPU from a data plane's start to its first 200 served from its disk cache, the control
// plane down (chaos F6 without the rest of the row), repeated on one fleet. Each variant is a
// `data-plane/dist` folder (default: this checkout's), started as `gatehouse dp` starts it: its
// bundle `start/cli.js` where the build made one, else `cli.js` (a build from before the bundle;
// `--dist data-plane/dist --dist-flag --unbundled` runs this build's `cli.js` without the
// bundle); variants alternate run by run so each sees
// the same machine. Prints, per run, the wall time to the first 200, the CPU the DP's processes
// had used by then, and the DP's own log timeline (ms after the spawn). `--dist-flag F` after a
// `--dist` adds a node flag to that variant: the `gatehouse dp` script runs node with
// --enable-source-maps, so `--dist /work/main/data-plane/dist --dist-flag --enable-source-maps
// --dist data-plane/dist --dist-flag --enable-source-maps` compares two builds as started there,
// and `--dist data-plane/dist --dist data-plane/dist --dist-flag --enable-source-maps` the flag.
//   node --import tsx test/bench/dp-restart.ts [--runs 5] [--dist data-plane/dist [--dist-flag F] ...]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processCpuMs } from '../chaos/cpu.js';
import { Fleet, sleep } from '../chaos/fleet.js';
import { httpStatus, Proc, ROOT } from '../../e2e/helpers/processes.js';

const argv = process.argv.slice(2);
const runs = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 5;
/** The variants: a dist folder and the node flags of that variant. */
const variants: { dist: string; flags: string[]; name: string }[] = [];
for (let i = 0; i < argv.length - 1; i++) {
  if (argv[i] === '--dist') variants.push({ dist: resolve(argv[i + 1]!), flags: [], name: '' });
  else if (argv[i] === '--dist-flag') variants.at(-1)?.flags.push(argv[i + 1]!);
}
/** The entry a variant runs: the start bundle when there is one (and `--unbundled` is not given). */
function entry(v: { dist: string; flags: string[] }): string {
  const bundle = join(v.dist, 'start', 'cli.js');
  return existsSync(bundle) && !v.flags.includes('--unbundled') ? bundle : join(v.dist, 'cli.js');
}
if (variants.length === 0) variants.push({ dist: join(ROOT, 'data-plane', 'dist'), flags: [], name: '' });
for (const v of variants) v.name = [v.dist.replace(ROOT + '/', ''), ...v.flags].join(' ');
const timeline = argv.includes('--timeline');
/** Extra node flags for the DP (e.g. --cpu-prof): `--node-flag=--cpu-prof`. */
/** Extra environment of the DP: `--dp-env=NODE_OPTIONS=--cpu-prof`. */
const dpEnv = Object.fromEntries(
  argv
    .filter((a) => a.startsWith('--dp-env='))
    .map((a) => {
      const kv = a.slice('--dp-env='.length);
      const at = kv.indexOf('=');
      return [kv.slice(0, at), kv.slice(at + 1)];
    }),
);
const nodeFlags = argv.filter((a) => a.startsWith('--node-flag=')).map((a) => a.slice('--node-flag='.length));

const fleet = await Fleet.start({ routes: 5 });
const dp = fleet.dps[0]!;
const args = dp.proc.child.spawnargs.slice(2).filter(Boolean);
await fleet.stopCp('SIGKILL');
await dp.proc.kill9();
const results: Record<string, { ms: number; cpu: number }[]> = {};
try {
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const { name } = v;
      const flags = v.flags.filter((f) => f !== '--unbundled');
      const t0 = performance.now();
      const wall0 = Date.now();
      const child = spawn(process.execPath, [...flags, ...nodeFlags, entry(v), ...args], {
        cwd: ROOT,
        env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'debug', GATEHOUSE_ADMIN_GUI_LISTEN: 'off', ...dpEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const proc = new Proc('dp', child);
      let ok: number | null = null;
      while (performance.now() - t0 < 90_000) {
        if ((await httpStatus(`${dp.proxy}/chaos`).catch(() => 0)) === 200) {
          ok = performance.now();
          break;
        }
        await sleep(5);
      }
      const each = processCpuMs(child.pid!);
      const cpu = each.reduce((sum, p) => sum + p.ms, 0);
      if (nodeFlags.length || Object.keys(dpEnv).length) await proc.stop();
      else await proc.kill9();
      const ms = ok === null ? Infinity : ok - t0;
      (results[name] ??= []).push({ ms, cpu });
      console.log(
        `${name}: first 200 ${ms.toFixed(0)} ms, DP CPU ${cpu} ms (primary ${each[0]?.ms ?? 0}, ` +
          `workers ${each
            .slice(1)
            .map((p) => p.ms)
            .join(', ')})`,
      );
      if (timeline || ok === null) {
        for (const line of proc.output.split('\n')) {
          const m = /"time":(\d+).*"msg":"([^"]*)"/.exec(line);
          const w = /"worker":(\d+)/.exec(line);
          if (m)
            console.log(`  ${String(Number(m[1]) - wall0).padStart(6)} ${w ? `w${w[1]}` : 'pr'} ${m[2]}`);
        }
      }
    }
  }
} finally {
  await fleet.close();
}
for (const [name, rs] of Object.entries(results)) {
  const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
  const cpu = rs.map((r) => r.cpu).sort((a, b) => a - b);
  console.log(
    `${name}: first 200 median ${ms[ms.length >> 1]!.toFixed(0)} ms [${ms.map((m) => m.toFixed(0)).join(', ')}], ` +
      `CPU median ${cpu[cpu.length >> 1]} ms [${cpu.join(', ')}]`,
  );
}
