/**
 * The data plane's tracer from the standard OpenTelemetry environment variables: tracing is on
 * when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT`) and neither `OTEL_SDK_DISABLED=true` nor
 * `OTEL_TRACES_EXPORTER=none` says otherwise. Spans go through a batch span processor to the
 * OTLP/HTTP (protobuf) exporter, which reads the endpoint, `OTEL_EXPORTER_OTLP_HEADERS`, timeout
 * and compression itself. Sampling: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`; formats:
 * `OTEL_PROPAGATORS`; batching: `OTEL_BSP_*`; resource: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { Logger } from '@gatehouse/shared';
import type { Extractor, Format, PropagationConfig } from './propagation.js';
import { RequestTracer } from './tracer.js';
import { parseInstrumentations, tracePluginPhases } from './instrumentations.js';

/**
 * Kong's `tracing_instrumentations` from `GATEHOUSE_TRACING_INSTRUMENTATIONS` (default off), set
 * for this process. Throws TracingConfigError for a value Kong does not have.
 */
export function instrumentationsFromEnv(env: Env): void {
  const raw = env.GATEHOUSE_TRACING_INSTRUMENTATIONS ?? 'off';
  const parsed = parseInstrumentations(raw);
  if ('error' in parsed) throw new TracingConfigError(`GATEHOUSE_TRACING_INSTRUMENTATIONS: ${parsed.error}`);
  tracePluginPhases(parsed.phases);
}

type Env = Readonly<Record<string, string | undefined>>;

/** Typed error for a malformed OTEL_* variable (the DP refuses to start, naming it). */
export class TracingConfigError extends Error {
  readonly code = 'GH_ERR_TRACING_CONFIG';
}

/** Whether the environment turns tracing on. */
export function tracingEnabled(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER.trim().toLowerCase() === 'none')
    return false;
  return !!(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

function ratio(env: Env): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG;
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new TracingConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got '${raw}'`);
  return n;
}

/** The sampler `OTEL_TRACES_SAMPLER` names (default parentbased_always_on, as the spec says). */
export function samplerFromEnv(env: Env): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio(env));
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio(env)) });
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

/**
 * The DP's RequestTracer from the environment, or null when tracing is off (then nothing of the
 * SDK is created). Throws TracingConfigError for a malformed variable.
 */
export function tracingFromEnv(env: Env, logger: Logger, version = '0.1.0'): RequestTracer | null {
  if (!tracingEnabled(env)) return null;
  const sampler = samplerFromEnv(env);
  const propagation = propagationFromEnv(env);
  const resource = resourceFromAttributes({ 'service.name': 'gatehouse', 'service.version': version }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const processor = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter(),
    scheduledDelayMillis: intEnv(env, 'OTEL_BSP_SCHEDULE_DELAY'),
    maxExportBatchSize: intEnv(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
    maxQueueSize: intEnv(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
    exportTimeoutMillis: intEnv(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
  });
  const provider = new TracerProvider({ resource, sampler, spanProcessors: [processor] });
  logger.info({ propagation: propagation.inject }, 'tracing on: spans exported over OTLP/HTTP');
  return new RequestTracer({
    tracer: provider.getTracer('gatehouse-data-plane', version),
    propagation,
    shutdown: () => provider.shutdown(),
  });
}
