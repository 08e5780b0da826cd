#!/usr/bin/env node
/**
 * What observability costs a data plane worker, in proxy CPU µs per request (lib/proxy-cpu.mjs:
 * proxies in this process; upstream, client and OTLP sink in child processes):
 *   all off · metrics (a worker's default) · metrics + access log (a file in a temp folder) ·
 *   metrics + access log + tracing at 1 % and at 100 % (a new trace per request,
 *   parentbased_traceidratio, exported to an OTLP sink).
 *
 *   node test/bench/observability-cost.mjs [--requests 10000] [--rounds 5] [--only name,name]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  dp,
  measureCpu,
  oneRouteConfig,
  report,
  silentLogger,
  startOtlpSink,
  startProxy,
  startUpstream,
} from './lib/proxy-cpu.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
  },
});
const { tracingFromEnv } = await dp('tracing/env.js');
const { RequestMetrics } = await dp('observe/request-metrics.js');
const { openAccessLog } = await dp('observe/access-log.js');

const dir = mkdtempSync(join(tmpdir(), 'gh-bench-obs-'));
const sink = await startOtlpSink();
// The OTLP exporter reads its endpoint from process.env itself.
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
const upstream = await startUpstream();
const config = oneRouteConfig(upstream.port);
const logs = [];
const accessLog = (name) => {
  const log = openAccessLog({ destination: join(dir, `${name}.log`), sample: 1, redact: [] });
  logs.push(log);
  return log.observer;
};
const tracer = (ratio, extra = {}) =>
  tracingFromEnv(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: String(ratio),
      ...extra,
    },
    silentLogger,
  );

const all = {
  off: () => startProxy(config),
  metrics: () => startProxy(config, { observers: [new RequestMetrics()] }),
  'metrics + access log': () =>
    startProxy(config, { observers: [new RequestMetrics(), accessLog('access')] }),
  'metrics + access log + tracing 1 %': () =>
    startProxy(config, { observers: [new RequestMetrics(), accessLog('all-1')], tracer: tracer(0.01) }),
  'metrics + access log + tracing 100 %': () =>
    startProxy(config, { observers: [new RequestMetrics(), accessLog('all-100')], tracer: tracer(1) }),
};
const only = values.only?.split(',');
const variants = [];
for (const [name, start] of Object.entries(all))
  if (only === undefined || name === 'off' || only.includes(name)) variants.push([name, await start()]);

report(
  await measureCpu(variants, { requests: Number(values.requests), rounds: Number(values.rounds) }),
  `proxy CPU per request (median of ${values.rounds} interleaved rounds of ${values.requests}; shared 2-core box):`,
);
for (const [, v] of variants) await v.proxy.close();
for (const l of logs) await l.close();
upstream.kill();
sink.kill();
rmSync(dir, { recursive: true, force: true });
