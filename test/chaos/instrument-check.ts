/**
 * The load generator against wrk, outside the suite (docs/chaos.md, "The instrument"): F4's
 * cross-check (`runCrossCheck`: wrk with one connection paced 20 ms and the generator in its
 * thread at 50 requests/s, side by side) against a bare node server in a child process and
 * through a DB-less data plane, `--runs` times, interleaved, the load average beside each run.
 *
 *   node --import tsx test/chaos/instrument-check.ts [--runs 3] [--seconds 3] [--target bare,dp]
 *     [--baseline MODULE]   also run an older generator (a module exporting openLoop) on the main
 *                           thread, as F4 ran it before (A/B)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { HostileDp } from './hostile.js';
import { sendLateness, summarize, type LoadRecord, type OpenLoopOptions } from './load.js';
import { runCrossCheck } from './wrk.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    target: { type: 'string', default: 'bare,dp' },
    baseline: { type: 'string' },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const targets = values.target.split(',');

const SERVER = `
const s = require('node:http').createServer((q, r) => { q.resume(); r.end('ok'); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

async function bareServer(): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((res) =>
    child.stdout.once('data', (d: Buffer) => res(d.toString().trim())),
  );
  return { origin: `http://127.0.0.1:${port}`, child };
}

const load = (): string => loadavg()[0]!.toFixed(1);
const ms = (v: number): string => v.toFixed(2);

async function main(): Promise<void> {
  const baseline =
    values.baseline === undefined
      ? null
      : ((await import(pathToFileURL(resolve(values.baseline)).href)) as {
          openLoop: (o: OpenLoopOptions) => Promise<LoadRecord>;
        });
  const bare = targets.includes('bare') ? await bareServer() : null;
  const dp = targets.includes('dp') ? await HostileDp.start() : null;
  const where: [string, string, string][] = [];
  if (bare) where.push(['bare', bare.origin, '/']);
  if (dp) where.push(['dp', dp.proxy, '/echo']);
  try {
    for (let run = 1; run <= runs; run++) {
      for (const [name, origin, path] of where) {
        const la = load();
        const { wrk, record: rec, sched } = await runCrossCheck(origin, path, seconds);
        const opts = { origin, path, rate: 50, durationMs: seconds * 1000 };
        const ours = summarize(rec);
        const late = sendLateness(rec);
        let line =
          `run ${run} ${name} (load ${la}): wrk p50 ${ms(wrk.p50Ms)} p99 ${ms(wrk.p99Ms)} (${wrk.requests}, ${wrk.errors} errors); ` +
          `generator p50 ${ms(ours.p50Ms)} p99 ${ms(ours.p99Ms)} (${ours.requests}, ${ours.failed} failed, ${sched}; sent late p50 ${ms(late.p50Ms)} p99 ${ms(late.p99Ms)}); ` +
          `Δp50 ${ms(ours.p50Ms - wrk.p50Ms)} Δp99 ${ms(ours.p99Ms - wrk.p99Ms)}`;
        if (baseline) {
          const old = summarize(await baseline.openLoop(opts));
          line += `; baseline p50 ${ms(old.p50Ms)} p99 ${ms(old.p99Ms)}`;
        }
        console.log(line);
      }
    }
  } finally {
    bare?.child.kill();
    await dp?.close();
  }
}

await main();
