#!/usr/bin/env node
/**
 * CPU per proxied request with tracing off and on (lib/proxy-cpu.mjs: proxies in this process;
 * upstream, client and OTLP sink in child processes, so the CPU counted is the proxy's).
 *
 *   node test/bench/tracing-cpu.mjs [--requests 20000] [--rounds 3] [--against <checkout>]
 *
 * Variants: off (no tracer), on at 100 % sampling (every request exported), on at 0 % (spans
 * not recorded, context still propagated: the unsampled fast path). Every request carries a
 * sampled W3C traceparent, which these two (not parent-based) samplers do not follow.
 */
import { measureCpu, report } from './lib/proxy-cpu.mjs';
import { tracingBench } from './lib/tracing-bench.mjs';

const bench = await tracingBench({ requests: 20000, rounds: 3 });
const { config, startProxy, tracer } = bench;
const variants = [];
for (const [label, dist] of bench.builds) {
  const suffix = label && ' ' + label;
  const traced = (env) => startProxy(config, { tracer: tracer(dist, env) }, dist);
  variants.push(
    [`off${suffix}`, await startProxy(config, {}, dist)],
    [`on, 100 % sampled${suffix}`, await traced({ OTEL_TRACES_SAMPLER: 'always_on' })],
    [`on, 0 % sampled${suffix}`, await traced({ OTEL_TRACES_SAMPLER: 'always_off' })],
  );
}
const results = await measureCpu(variants, {
  requests: bench.requests,
  rounds: bench.rounds,
  headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
});
report(
  results,
  `proxy CPU per request (median of ${bench.rounds} interleaved rounds of ${bench.requests}):`,
  (name) => {
    const at = name.indexOf(' @');
    return at < 0 ? 'off' : `off${name.slice(at)}`;
  },
);
for (const [, v] of variants) await v.proxy.close();
bench.close();
