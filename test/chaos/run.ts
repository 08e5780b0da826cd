/**
 * `npm run chaos [-- --short] [-- --only F1,F4] [-- --out DIR]`: runs the fault matrix's rows one
 * after another against real processes on this machine, prints one line per row (id, fault, what
 * was measured, the figures, the bounds, pass/fail) and writes the table as JSON and Markdown
 * under `results/chaos/<time>/` (or DIR). Exit code 1 when a row fails. The full profile
 * (1,000 rps, 60 s per load run) is the release gate; `--short` (300 rps, 15 s) is what CI runs.
 * Build first (`node scripts/bootstrap.mjs`, which `npm run chaos` does). Run nothing else on the
 * box meanwhile: latency bounds are tight.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT } from '../../e2e/helpers/processes.js';
import { FULL, SHORT, type RowResult } from './row.js';
import { ROWS } from './rows/index.js';
import { textTable, writeResults } from './table.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const profile = values.short ? SHORT : FULL;
const only = values.only?.split(',').map((s) => s.trim().toUpperCase());
const unknown = only?.filter((id) => !ROWS.some((r) => r.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(`chaos: unknown row ${unknown.join(', ')}; the rows are ${ROWS.map((r) => r.id).join(', ')}`);
  process.exit(2);
}
// The diagnostic probe (docs/chaos.md, "Where the time goes"): in the runner and every process it starts.
if (process.env.CHAOS_PROBE) {
  mkdirSync(process.env.CHAOS_PROBE, { recursive: true });
  const probe = pathToFileURL(join(import.meta.dirname, 'probe', 'lag-probe.mjs')).href;
  await import(probe);
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${probe}`.trim();
}
const rows = only === undefined ? ROWS : ROWS.filter((r) => only.includes(r.id));
const startedAt = new Date().toISOString();
console.log(
  `chaos: ${rows.length} rows, ${values.short ? 'short' : 'full'} profile (${profile.rate} rps, ${profile.durationMs / 1000} s)`,
);

const results: RowResult[] = [];
for (const row of rows) {
  const t0 = performance.now();
  const log = (line: string) => console.log(`  ${row.id}: ${line}`);
  // The box's load when the row starts: latency figures mean little on a busy machine.
  const load = loadavg()[0]!;
  console.log(`${row.id} ${row.fault}… (load average ${load.toFixed(2)})`);
  let result: RowResult;
  try {
    const figures = await row.run(profile, log);
    result = {
      id: row.id,
      fault: row.fault,
      figures,
      pass: figures.every((f) => f.pass),
      error: null,
      seconds: 0,
      loadAverage: 0,
    };
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`error: ${message}`);
    result = {
      id: row.id,
      fault: row.fault,
      figures: [],
      pass: false,
      error: message,
      seconds: 0,
      loadAverage: 0,
    };
  }
  result = {
    ...result,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    loadAverage: Math.round(load * 100) / 100,
  };
  results.push(result);
  console.log(textTable([result]));
}

const dir = values.out ?? join(ROOT, 'results', 'chaos', startedAt.replaceAll(':', '-'));
writeResults(dir, results, {
  profile: values.short ? 'short' : 'full',
  startedAt,
  rate: profile.rate,
  durationMs: profile.durationMs,
});
console.log(`\n${textTable(results)}\n\nresults: ${dir}/results.{json,md}`);
const failedRows = results.filter((r) => !r.pass).map((r) => r.id);
if (failedRows.length > 0) console.log(`chaos: failed rows: ${failedRows.join(', ')}`);
process.exit(failedRows.length > 0 ? 1 : 0);
