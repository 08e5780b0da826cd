#!/usr/bin/env node
/**
 * What observability costs a data plane worker, in proxy CPU µs per request (lib/proxy-cpu.mjs:
 * proxies in this process; upstream, client and OTLP sink in child processes):
 *   all off · metrics (a worker's default) · metrics + access log (a file in a temp folder) ·
 *   metrics + access log + tracing at 1 % and at 100 % (a new trace per request,
 *   parentbased_traceidratio, exported to an OTLP sink).
 * Each variant is compared with all off of the same build. `--against /work/main` measures every
 * variant of that checkout's build too, in the same interleaved rounds (A/B). `--fields a,b,…`
 * adds 'metrics + access log (fields) + tracing 1 %': the access log writing only those fields
 * (`--access-log-fields`; builds without the setting skip the variant).
 *
 *   node test/bench/observability-cost.mjs [--requests 10000] [--rounds 5] [--only name,name]
 *     [--against <checkout>] [--fields method,path,status,latencies.request]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureCpu, report } from './lib/proxy-cpu.mjs';
import { tracingBench } from './lib/tracing-bench.mjs';

const bench = await tracingBench(
  { requests: 10000, rounds: 5 },
  { only: { type: 'string' }, fields: { type: 'string' } },
);
const { config, startProxy, tracer } = bench;
const dir = mkdtempSync(join(tmpdir(), 'gh-bench-obs-'));
const logs = [];

/**
 * Paired figures, robust to a busy box's drift: per round, each variant minus all off of the same
 * build and round (µs, and % of that off), the median over the rounds; with --against, also this
 * build minus the other, variant by variant, per round.
 */
function pairedReport(results) {
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const label = (name) => {
    const at = name.indexOf(' @');
    return at < 0 ? ['', name] : [name.slice(at), name.slice(0, at)];
  };
  console.log('paired per round (median over rounds): variant − off of the same build and round');
  for (const [name, xs] of results) {
    const [build, variant] = label(name);
    if (variant === 'off') continue;
    const off = results.get(`off${build}`);
    const d = med(xs.map((x, r) => x - off[r]));
    const pct = med(xs.map((x, r) => ((x - off[r]) / off[r]) * 100));
    let line = `  ${name.padEnd(52)} ${(d >= 0 ? '+' : '') + d.toFixed(1)} µs  ${(pct >= 0 ? '+' : '') + pct.toFixed(1)} %`;
    if (build === '' && bench.builds.length > 1) {
      const other = results.get(`${variant} ${bench.builds[1][0]}`);
      const otherOff = results.get(`off ${bench.builds[1][0]}`);
      if (other !== undefined) {
        const ab = med(xs.map((x, r) => x - off[r] - (other[r] - otherOff[r])));
        line += `   this build − other (paired): ${(ab >= 0 ? '+' : '') + ab.toFixed(1)} µs`;
      }
    }
    console.log(line);
  }
}

const variants = [];
const only = bench.values.only?.split(',');
for (const [label, dist] of bench.builds) {
  const { RequestMetrics } = await import(join(dist, 'observe', 'request-metrics.js'));
  const { openAccessLog, fieldsProblem } = await import(join(dist, 'observe', 'access-log.js'));
  const accessLog = (name, fields) => {
    const log = openAccessLog({
      destination: join(dir, `${name}${logs.length}.log`),
      sample: 1,
      redact: [],
      ...(fields === undefined ? {} : { fields }),
    });
    logs.push(log);
    return log.observer;
  };
  const traced = (ratio) =>
    tracer(dist, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) });
  const all = {
    off: () => startProxy(config, {}, dist),
    metrics: () => startProxy(config, { observers: [new RequestMetrics()] }, dist),
    'metrics + access log': () =>
      startProxy(config, { observers: [new RequestMetrics(), accessLog('access')] }, dist),
    'metrics + access log + tracing 1 %': () =>
      startProxy(
        config,
        { observers: [new RequestMetrics(), accessLog('all-1')], tracer: traced(0.01) },
        dist,
      ),
    'metrics + access log + tracing 100 %': () =>
      startProxy(
        config,
        { observers: [new RequestMetrics(), accessLog('all-100')], tracer: traced(1) },
        dist,
      ),
  };
  const fields = bench.values.fields?.split(',');
  if (fields !== undefined && fieldsProblem !== undefined)
    all['metrics + access log (fields) + tracing 1 %'] = () =>
      startProxy(
        config,
        { observers: [new RequestMetrics(), accessLog('fields-1', fields)], tracer: traced(0.01) },
        dist,
      );
  for (const [name, start] of Object.entries(all))
    if (only === undefined || name === 'off' || only.includes(name))
      variants.push([`${name}${label && ' ' + label}`, await start()]);
}

const results = await measureCpu(variants, { requests: bench.requests, rounds: bench.rounds });
report(
  results,
  `proxy CPU per request (median of ${bench.rounds} interleaved rounds of ${bench.requests}; shared 2-core box):`,
  (name) => {
    const at = name.indexOf(' @');
    return at < 0 ? 'off' : `off${name.slice(at)}`;
  },
);
pairedReport(results);
for (const [, v] of variants) await v.proxy.close();
for (const l of logs) await l.close();
bench.close();
rmSync(dir, { recursive: true, force: true });
