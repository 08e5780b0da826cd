#!/usr/bin/env node
/**
 * What observability costs a data plane worker, in instructions per request: the same variants as
 * observability-cost.mjs (all off · metrics · metrics + access log · + tracing at 1 % · at 100 %),
 * each run as a proxy process under `valgrind --tool=callgrind`, which counts the instructions the
 * proxy process executes (user space, every thread including libuv's pool; system calls count as
 * the instructions that make them, not the kernel's work). The count does not depend on what else
 * the machine runs, so this is the figure to trust on a shared box; observability-cost.mjs gives
 * CPU time, which a busy box inflates.
 *
 * Each variant runs twice, with `--low` and `--high` measured requests after the same warm-up; the
 * difference divided by the difference in requests is the per-request count, free of start-up.
 * The upstream, the load client and the OTLP sink are child processes, not traced.
 *
 * Requests go one at a time by default (`--concurrency 1`): with several in flight, how many a
 * turn of the event loop handles depends on how fast the load client runs beside the proxy,
 * which the machine's load decides, and the count per request with it.
 *
 * `--fields a,b,…` adds 'all (fields) + tracing 1 %': the access log writing only those fields
 * (`--access-log-fields`).
 *
 *   node test/bench/observability-instructions.mjs [--low 2000] [--high 6000] [--concurrency 1] [--only name,name]
 *     [--fields method,path,status,route,latencies.request]
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DP,
  oneRouteConfig,
  silentLogger,
  startOtlpSink,
  startProxy,
  startUpstream,
} from './lib/proxy-cpu.mjs';
import { ROOT } from './lib/processes.mjs';

const VARIANTS = ['off', 'metrics', 'metrics + access log', 'all + tracing 1 %', 'all + tracing 100 %'];

const { values } = parseArgs({
  options: {
    low: { type: 'string', default: '2000' },
    high: { type: 'string', default: '6000' },
    warmup: { type: 'string', default: '3000' },
    only: { type: 'string' },
    variant: { type: 'string' },
    requests: { type: 'string' },
    concurrency: { type: 'string', default: '1' },
    fields: { type: 'string' },
  },
});

if (values.variant !== undefined)
  await runOne(values.variant, Number(values.requests), Number(values.warmup));
else drive();

/** Inside valgrind: one variant's proxy, a warm-up, then `requests` measured requests. */
async function runOne(variant, requests, warmup) {
  const upstream = await startUpstream();
  const sink = await startOtlpSink();
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-obsi-'));
  const { RequestMetrics } = await import(join(DP, 'observe', 'request-metrics.js'));
  const { openAccessLog } = await import(join(DP, 'observe', 'access-log.js'));
  const { tracingFromEnv } = await import(join(DP, 'tracing', 'env.js'));
  const log = openAccessLog({
    destination: join(dir, 'access.log'),
    sample: 1,
    redact: [],
    ...(values.fields === undefined ? {} : { fields: values.fields.split(',') }),
  });
  const tracer = (ratio) =>
    tracingFromEnv(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: String(ratio),
      },
      silentLogger,
    );
  const options = {
    off: {},
    metrics: { observers: [new RequestMetrics()] },
    'metrics + access log': { observers: [new RequestMetrics(), log.observer] },
    'all + tracing 1 %': { observers: [new RequestMetrics(), log.observer], tracer: tracer(0.01) },
    'all + tracing 100 %': { observers: [new RequestMetrics(), log.observer], tracer: tracer(1) },
    'all (fields) + tracing 1 %': { observers: [new RequestMetrics(), log.observer], tracer: tracer(0.01) },
  }[variant];
  if (options === undefined) throw new Error(`unknown variant ${variant}`);
  const { proxy, url } = await startProxy(oneRouteConfig(upstream.port), options);
  const client = fork(join(ROOT, 'test', 'bench', 'lib', 'load-client.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const run = async (n) => {
    client.send({ url: `${url}/api/x`, n, concurrency: Number(values.concurrency), headers: {} });
    const [reply] = await once(client, 'message');
    if (reply.error) throw new Error(`load client: ${reply.error}`);
  };
  await run(warmup);
  await run(requests);
  client.kill();
  await proxy.close();
  await log.close();
  options.tracer?.shutdown?.();
  upstream.kill();
  sink.kill();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

/** Outside: every variant at both request counts under callgrind; the table. */
function drive() {
  const only = values.only?.split(',');
  const low = Number(values.low);
  const high = Number(values.high);
  const count = (variant, requests) => {
    const r = spawnSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        process.execPath,
        // No helper threads for compiling or GC: their share of the work does not depend on
        // what else the machine runs.
        '--single-threaded',
        fileURLToPath(import.meta.url),
        '--variant',
        variant,
        '--requests',
        String(requests),
        '--warmup',
        values.warmup,
        '--concurrency',
        values.concurrency,
        ...(values.fields === undefined ? [] : ['--fields', values.fields]),
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const m = /Collected : (\d+)/.exec(r.stderr);
    if (r.status !== 0 || m === null)
      throw new Error(`valgrind ${variant} ${requests}: ${r.stderr.slice(-2000)}`);
    return Number(m[1]);
  };
  const perRequest = new Map();
  const variants = values.fields === undefined ? VARIANTS : [...VARIANTS, 'all (fields) + tracing 1 %'];
  for (const v of variants) {
    if (only !== undefined && v !== 'off' && !only.includes(v)) continue;
    const per = (count(v, high) - count(v, low)) / (high - low);
    perRequest.set(v, per);
    const base = perRequest.get('off');
    const change =
      v === 'off' ? '' : `  +${Math.round(per - base)} (${(((per - base) / base) * 100).toFixed(1)} %)`;
    console.log(
      `${v.padEnd(24)} ${Math.round(per).toLocaleString('en').padStart(9)} instructions/request${change}`,
    );
  }
}
