// The CPU of `gatehouse keys rotate` (what chaos F28 runs twice beside the data planes): one fresh
// node process per run, as `gatehouse` starts it (--enable-source-maps), its CPU read at exit.
// Several builds alternate so each sees the same machine (e.g. a copy of a build before a change).
// Needs a build (`npm run build`).
//   node test/bench/keys-cli.mjs [--runs 5] [--dist control-plane/dist --dist /other/control-plane/dist]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const dists = args.flatMap((a, i) => (a === '--dist' ? [resolve(args[i + 1])] : []));
if (dists.length === 0) dists.push(fileURLToPath(new URL('../../control-plane/dist', import.meta.url)));

// Loaded before the CLI: says the process's CPU on stderr as it exits.
const atExit = `data:text/javascript,process.on('exit',()=>{const c=process.cpuUsage();process.stderr.write('CPU '+(c.user+c.system)/1000+'\\n')})`;

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-bench-'));
try {
  execFileSync(process.execPath, [join(dists[0], 'cli.js'), 'keys', 'root', '--out', dir]);
  const cpu = new Map(dists.map((d) => [d, []]));
  for (let i = 0; i < runs; i++) {
    for (const dist of dists) {
      const run = spawnSync(
        process.execPath,
        ['--enable-source-maps', '--import', atExit, join(dist, 'cli.js'), 'keys', 'rotate'].concat([
          '--root-key',
          join(dir, 'snapshot-root.key.json'),
          '--dir',
          join(dir, 'keys'),
        ]),
        { encoding: 'utf8' },
      );
      if (run.status !== 0) throw new Error(`keys rotate (${dist}): ${run.stderr}`);
      const out = run.stderr;
      cpu.get(dist).push(Number(/CPU (\S+)/.exec(out)[1]));
    }
  }
  for (const [dist, ms] of cpu) {
    const sorted = [...ms].sort((a, b) => a - b);
    console.log(
      `${dist}: keys rotate CPU median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms (${ms.map((m) => m.toFixed(0)).join(', ')})`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
