/**
 * opentelemetry (Kong priority 14): traces the requests of its route, service or consumer (or all,
 * when global) with its own OTLP/HTTP exporter (`traces_endpoint`, `headers`,
 * `resource_attributes`, the `queue` batch settings), `sampling_rate` and header formats
 * (`propagation`, or the legacy `header_type`). It replaces the data plane's OTEL_* tracer for
 * these requests; without one, it starts their traces itself (in its rewrite phase). The spans are
 * the data plane's: `kong` (server) and `kong.upstream` (client), see docs/observability.md.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { definePlugin } from '../api.js';
import { samplingFromEnv } from '../../tracing/env.js';
import {
  endTrace,
  pluginTracer,
  ratioSampling,
  traceIdHeader,
  traceWith,
} from '../../tracing/plugin-tracing.js';
import { propagationOf } from '../../tracing/propagation.js';
import type { RequestTracer } from '../../tracing/tracer.js';
import { opentelemetrySpec } from './schema.js';

interface State {
  readonly tracer: RequestTracer;
  readonly traceIdHeader: string | null;
}

export default definePlugin({
  ...opentelemetrySpec,
  init(config): State {
    const url = (config.traces_endpoint ?? config.endpoint)!;
    const headers: Record<string, string> = { ...(config.headers ?? {}) };
    const queue = config.queue;
    const timeoutMillis = Math.max(config.send_timeout, 1);
    const tracer = pluginTracer({
      key: JSON.stringify([
        'opentelemetry',
        url,
        headers,
        config.resource_attributes,
        queue,
        config.batch_span_count,
        config.batch_flush_delay,
        timeoutMillis,
        config.sampling_rate,
      ]),
      exporter: () => new OTLPTraceExporter({ url, headers, timeoutMillis }),
      resource: { 'service.name': 'kong', ...(config.resource_attributes ?? {}) },
      sampling:
        config.sampling_rate == null ? samplingFromEnv(process.env) : ratioSampling(config.sampling_rate),
      batch: {
        maxExportBatchSize: config.batch_span_count ?? queue.max_batch_size,
        scheduledDelayMillis: (config.batch_flush_delay ?? queue.max_coalescing_delay) * 1000,
        maxQueueSize: queue.max_entries,
      },
      propagation: propagationOf(config.propagation, config.header_type, 'w3c'),
    });
    return { tracer, traceIdHeader: config.http_response_header_for_traceid ?? null };
  },
  rewrite(ctx, state) {
    traceWith(ctx, state.tracer);
  },
  response(ctx, state) {
    traceIdHeader(ctx, state.traceIdHeader);
  },
  log(ctx) {
    endTrace(ctx);
  },
});
