/**
 * What a data plane process reads of the tracing environment before anything of OpenTelemetry is
 * loaded: whether tracing is on (`tracingEnabled`) and Kong's `tracing_instrumentations`. A worker
 * imports the SDK and the OTLP exporter (env.ts) only when tracing is on (docs/dev/architecture.md,
 * "Start time").
 */
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

export type Env = Readonly<Record<string, string | undefined>>;

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
