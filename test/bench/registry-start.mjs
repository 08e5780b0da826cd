// The cost of a data-plane worker's plugin registry at start: every bundled handler loaded
// (`all`) against the catalog plus the handlers one configuration uses (`on-demand`, key-auth).
// Each run is a fresh node process (module loading is per process); runs alternate so both
// modes see the same machine. Needs a build (`npm run build`).
//   node test/bench/registry-start.mjs [--runs 4]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 4;
const registry = fileURLToPath(new URL('../../data-plane/dist/plugins/registry.js', import.meta.url));

const child = `
const t0 = performance.now();
const m = await import(${JSON.stringify(registry)});
const mode = process.argv[1];
const r = await m.loadPluginRegistry({ handlers: mode });
if (mode === 'on-demand') await r.load(['key-auth']);
const cpu = process.cpuUsage();
console.log(JSON.stringify({ wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;

const results = { all: [], 'on-demand': [] };
for (let i = 0; i < runs; i++) {
  for (const mode of ['all', 'on-demand']) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', child, mode], {
      encoding: 'utf8',
    });
    results[mode].push(JSON.parse(out));
  }
}
for (const [mode, rs] of Object.entries(results)) {
  const wall = rs.map((r) => r.wallMs.toFixed(0)).join(', ');
  const cpu = rs.map((r) => r.cpuMs.toFixed(0)).join(', ');
  console.log(`${mode.padEnd(10)} wall ms: ${wall}   process CPU ms: ${cpu}`);
}
