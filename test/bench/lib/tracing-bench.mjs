// The preamble observability-cost.mjs and tracing-cpu.mjs share: their arguments (--requests,
// --rounds, --against), the upstream and the OTLP sink (child processes), the one-route config,
// a tracer from `OTEL_*`-style settings pointed at the sink, and the builds measured: this
// checkout's data-plane/dist, and with `--against <checkout>` (e.g. /work/main) that checkout's
// too, each variant then measured from both in the same interleaved rounds (an A/B in one process).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DP, oneRouteConfig, silentLogger, startOtlpSink, startProxy, startUpstream } from './proxy-cpu.mjs';

/**
 * Parses the arguments (`defaults`: requests, rounds; `options`: more parseArgs options) and
 * starts the upstream and the OTLP sink. Returns `values`, `config`, `builds` ([label, dist]:
 * '' for this checkout, '@<dir>' for --against), `startProxy(config, options, dist)`,
 * `tracer(dist, env)` (that build's tracingFromEnv with the sink as endpoint; null = off) and
 * `close()` (stops the children).
 */
export async function tracingBench(defaults, options = {}) {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: String(defaults.requests) },
      rounds: { type: 'string', default: String(defaults.rounds) },
      against: { type: 'string' },
      ...options,
    },
  });
  const sink = await startOtlpSink();
  // Builds from before tracingFromEnv read only the env it is given take the endpoint from here.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
  const upstream = await startUpstream();
  const builds = [['', DP]];
  if (values.against) builds.push([`@${values.against}`, join(values.against, 'data-plane', 'dist')]);
  const tracingFromEnv = new Map();
  for (const [, dist] of builds)
    tracingFromEnv.set(dist, (await import(join(dist, 'tracing', 'env.js'))).tracingFromEnv);
  return {
    values,
    requests: Number(values.requests),
    rounds: Number(values.rounds),
    config: oneRouteConfig(upstream.port),
    builds,
    startProxy,
    tracer: (dist, env) =>
      tracingFromEnv.get(dist)({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, ...env }, silentLogger),
    close() {
      upstream.kill();
      sink.kill();
    },
  };
}
