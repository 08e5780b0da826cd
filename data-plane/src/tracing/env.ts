/**
 * The data plane's tracer from the standard OpenTelemetry environment variables: tracing is on
 * when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT`) and neither `OTEL_SDK_DISABLED=true` nor
 * `OTEL_TRACES_EXPORTER=none` says otherwise. Spans go through a batch span processor to the
 * OTLP/HTTP (protobuf) exporter, configured from the given environment (endpoint, headers, timeout,
 * compression, certificates: the `OTEL_EXPORTER_OTLP_*` variables and their `_TRACES_` forms),
 * never from `process.env` behind the caller's back. Sampling: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`; formats:
 * `OTEL_PROPAGATORS`; batching: `OTEL_BSP_*`; resource: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`.
 */
import { readFileSync } from 'node:fs';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from '@gatehouse/shared';
import type { Extractor, Format, PropagationConfig } from './propagation.js';
import { RANDOM_IDS, RatioSampler, RequestTracer, tracerProvider, type Sampling } from './tracer.js';
import { TracingConfigError, tracingEnabled, type Env } from './switch.js';

export { instrumentationsFromEnv, TracingConfigError, tracingEnabled } from './switch.js';

function ratio(env: Env): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG;
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new TracingConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got '${raw}'`);
  return n;
}

/** The sampling `OTEL_TRACES_SAMPLER` names (default parentbased_always_on, as the spec says). */
export function samplingFromEnv(env: Env): Sampling {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  switch (name) {
    case 'always_on':
      return { root: new AlwaysOnSampler(), parentBased: false };
    case 'always_off':
      return { root: new AlwaysOffSampler(), parentBased: false };
    case 'traceidratio':
      return { root: new RatioSampler(ratio(env)), parentBased: false };
    case 'parentbased_always_on':
      return { root: new AlwaysOnSampler(), parentBased: true };
    case 'parentbased_always_off':
      return { root: new AlwaysOffSampler(), parentBased: true };
    case 'parentbased_traceidratio':
      return { root: new RatioSampler(ratio(env)), parentBased: true };
    default:
      throw new TracingConfigError(
        `OTEL_TRACES_SAMPLER '${name}' is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio`,
      );
  }
}

/** OTEL_PROPAGATORS names → Kong's formats (`baggage` carries no trace context and is ignored). */
const PROPAGATORS: Readonly<Record<string, Format | null>> = {
  tracecontext: 'w3c',
  b3: 'b3-single',
  b3multi: 'b3',
  jaeger: 'jaeger',
  xray: 'aws',
  ottrace: 'ot',
  baggage: null,
  none: null,
};

/** The formats `OTEL_PROPAGATORS` names (default `tracecontext,baggage`: W3C), read and written. */
export function propagationFromEnv(env: Env): PropagationConfig {
  const names = (env.OTEL_PROPAGATORS ?? 'tracecontext,baggage')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  const inject: Format[] = [];
  for (const n of names) {
    const f = PROPAGATORS[n];
    if (f === undefined)
      throw new TracingConfigError(
        `OTEL_PROPAGATORS: unknown propagator '${n}' (known: ${Object.keys(PROPAGATORS).join(', ')})`,
      );
    if (f !== null && !inject.includes(f)) inject.push(f);
  }
  const extract: Extractor[] = [];
  for (const f of inject) {
    const e: Extractor = f === 'b3-single' ? 'b3' : f;
    if (!extract.includes(e)) extract.push(e);
  }
  return { extract, inject, clear: [], defaultFormat: inject[0] ?? 'w3c' };
}

function intEnv(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new TracingConfigError(`${name} must be a non-negative integer, got '${raw}'`);
  return n;
}

/** A variable in its `_TRACES_` form, else its general form (`OTEL_EXPORTER_OTLP_<name>`). */
function otlpEnv(env: Env, name: string): { name: string; value: string } | undefined {
  for (const n of [`OTEL_EXPORTER_OTLP_TRACES_${name}`, `OTEL_EXPORTER_OTLP_${name}`]) {
    const value = env[n]?.trim();
    if (value) return { name: n, value };
  }
  return undefined;
}

function fileEnv(env: Env, name: string): Buffer | undefined {
  const v = otlpEnv(env, name);
  if (v === undefined) return undefined;
  try {
    return readFileSync(v.value);
  } catch (err) {
    throw new TracingConfigError(`${v.name}: cannot read '${v.value}': ${(err as Error).message}`);
  }
}

type OtlpExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** The OTLP/HTTP exporter's settings from `env` (the OpenTelemetry exporter spec's variables). */
export function otlpExporterConfig(env: Env): OtlpExporterConfig {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ?? '';
  // The general endpoint is a base: the signal's path is appended (the spec's rule).
  const url = specific || (general.endsWith('/') ? general : general + '/') + 'v1/traces';
  try {
    new URL(url);
  } catch {
    throw new TracingConfigError(
      `${specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'} is not a URL: '${specific || general}'`,
    );
  }
  const headers = {
    ...parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_HEADERS),
    ...parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
  };
  const timeout = otlpEnv(env, 'TIMEOUT');
  const compression = otlpEnv(env, 'COMPRESSION');
  if (compression !== undefined && compression.value !== 'gzip' && compression.value !== 'none')
    throw new TracingConfigError(`${compression.name} must be gzip or none, got '${compression.value}'`);
  return {
    url,
    headers,
    timeoutMillis: timeout === undefined ? 10_000 : (intEnv(env, timeout.name) ?? 10_000),
    // The exporter's CompressionAlgorithm enum: the same two strings.
    compression: (compression?.value ?? 'none') as OtlpExporterConfig['compression'],
    httpAgentOptions: {
      keepAlive: true,
      ca: fileEnv(env, 'CERTIFICATE'),
      cert: fileEnv(env, 'CLIENT_CERTIFICATE'),
      key: fileEnv(env, 'CLIENT_KEY'),
    },
  };
}

/**
 * The resource attributes `OTEL_RESOURCE_ATTRIBUTES` (`key=value,…`, percent-encoded) and
 * `OTEL_SERVICE_NAME` (which wins for `service.name`) give.
 */
export function resourceFromEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const kv = entry.split('=');
    const key = kv[0]!.trim();
    if (kv.length !== 2 || key === '')
      throw new TracingConfigError(
        `OTEL_RESOURCE_ATTRIBUTES: '${entry}' is not key=value (',' and '=' in keys and values must be percent-encoded)`,
      );
    try {
      out[decodeURIComponent(key)] = decodeURIComponent(kv[1]!.trim());
    } catch {
      throw new TracingConfigError(`OTEL_RESOURCE_ATTRIBUTES: '${entry}' is not valid percent-encoding`);
    }
  }
  const service = env.OTEL_SERVICE_NAME?.trim();
  if (service) out['service.name'] = service;
  return out;
}

/**
 * The DP's RequestTracer from the environment `env` (only: `process.env` is not read), or null
 * when tracing is off (then nothing of the SDK is created). Throws TracingConfigError for a
 * malformed variable.
 */
export function tracingFromEnv(env: Env, logger: Logger, version = '0.1.0'): RequestTracer | null {
  if (!tracingEnabled(env)) return null;
  const sampling = samplingFromEnv(env);
  const propagation = propagationFromEnv(env);
  const resource = resourceFromAttributes({
    'service.name': 'gatehouse',
    'service.version': version,
    ...resourceFromEnv(env),
  });
  const processor = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter(otlpExporterConfig(env)),
    scheduledDelayMillis: intEnv(env, 'OTEL_BSP_SCHEDULE_DELAY'),
    maxExportBatchSize: intEnv(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
    maxQueueSize: intEnv(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
    exportTimeoutMillis: intEnv(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
  });
  const provider = tracerProvider({ resource, sampling, ids: RANDOM_IDS, spanProcessors: [processor] });
  logger.info({ propagation: propagation.inject }, 'tracing on: spans exported over OTLP/HTTP');
  return new RequestTracer({
    tracer: provider.getTracer('gatehouse-data-plane', version),
    sampling,
    ids: RANDOM_IDS,
    propagation,
    shutdown: () => provider.shutdown(),
  });
}
