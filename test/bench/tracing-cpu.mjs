#!/usr/bin/env node
/**
 * CPU per proxied request with tracing off and on (lib/proxy-cpu.mjs: proxies in this process;
 * upstream, client and OTLP sink in child processes, so the CPU counted is the proxy's).
 *
 *   node test/bench/tracing-cpu.mjs [--requests 20000] [--rounds 3]
 *
 * Variants: off (no tracer), on at 100 % sampling (every request exported), on at 0 % (spans
 * not recorded, context still propagated). Every request carries a sampled W3C traceparent.
 */
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
  options: { requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
});
const { tracingFromEnv } = await dp('tracing/env.js');
const sink = await startOtlpSink();
// The OTLP exporter reads its endpoint from process.env itself.
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
const upstream = await startUpstream();
const config = oneRouteConfig(upstream.port);
const traced = (env) =>
  startProxy(config, {
    tracer: tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, ...env }, silentLogger),
  });
const variants = [
  ['off', await startProxy(config)],
  ['on, 100 % sampled', await traced({ OTEL_TRACES_SAMPLER: 'always_on' })],
  ['on, 0 % sampled', await traced({ OTEL_TRACES_SAMPLER: 'always_off' })],
];
const results = await measureCpu(variants, {
  requests: Number(values.requests),
  rounds: Number(values.rounds),
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
});
report(
  results,
  `proxy CPU per request (median of ${values.rounds} interleaved rounds of ${values.requests}):`,
);
for (const [, v] of variants) await v.proxy.close();
upstream.kill();
sink.kill();
