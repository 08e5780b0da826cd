/**
 * zipkin (Kong priority 100000): traces the requests of its scope and reports the spans to
 * `http_endpoint` as Zipkin v2 JSON (through @opentelemetry/exporter-zipkin), sampled at
 * `sample_ratio` unless the incoming trace headers carry a decision; the context goes upstream in
 * the `propagation` formats (or the legacy `header_type`, B3 by default). The request span is
 * named after `http_span_name`, tagged with `static_tags` and the `tags_header` tags.
 */
import { randomBytes } from 'node:crypto';
import type { Attributes } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { definePlugin } from '../api.js';
import { propagationOf } from '../../tracing/propagation.js';
import {
  endTrace,
  pluginTracer,
  proxiedOf,
  ratioSampling,
  traceIdHeader,
  traceWith,
} from '../../tracing/plugin-tracing.js';
import type { RequestTracer } from '../../tracing/tracer.js';
import { zipkinSpec } from './schema.js';

interface State {
  readonly tracer: RequestTracer;
  readonly traceIdHeader: string | null;
  readonly includeCredential: boolean;
}

/** At most this many tags are read from the tags header. */
const MAX_HEADER_TAGS = 32;

/** `name=value;name2=value2` → attributes (malformed pairs skipped). */
export function parseTagsHeader(value: string, into: Attributes): void {
  let n = 0;
  for (const pair of value.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    if (name === '') continue;
    into[name] = pair.slice(eq + 1).trim();
    if (++n >= MAX_HEADER_TAGS) return;
  }
}

/** 64-bit trace ids (upper half zero) for traceid_byte_count 8. */
const shortTraceIds = {
  generateTraceId: (): string => '0'.repeat(16) + randomBytes(8).toString('hex'),
  generateSpanId: (): string => randomBytes(8).toString('hex'),
};

export default definePlugin({
  ...zipkinSpec,
  init(config): State {
    const url = config.http_endpoint ?? null;
    const tagsHeader = config.tags_header.toLowerCase();
    const staticTags: Attributes = {};
    for (const tag of config.static_tags ?? []) staticTags[tag.name] = tag.value;
    const byPath = config.http_span_name === 'method_path';
    const serviceName = config.local_service_name;
    const tracer = pluginTracer({
      key: JSON.stringify([
        'zipkin',
        url,
        serviceName,
        config.queue,
        config.sample_ratio,
        config.traceid_byte_count,
      ]),
      exporter: url === null ? null : () => new ZipkinExporter({ url, serviceName }),
      resource: { 'service.name': serviceName },
      sampling: ratioSampling(config.sample_ratio),
      batch: {
        maxExportBatchSize: config.queue.max_batch_size,
        scheduledDelayMillis: config.queue.max_coalescing_delay * 1000,
        maxQueueSize: config.queue.max_entries,
      },
      idGenerator: config.traceid_byte_count === 8 ? shortTraceIds : undefined,
      propagation: propagationOf(config.propagation, config.header_type, config.default_header_type),
      serverSpanName: (request) => (byPath ? `${request.method} ${request.path}` : request.method),
      decorate: (attributes, header) => {
        Object.assign(attributes, staticTags);
        const tags = header(tagsHeader);
        if (tags !== undefined) parseTagsHeader(tags, attributes);
      },
    });
    return {
      tracer,
      traceIdHeader: config.http_response_header_for_traceid ?? null,
      includeCredential: config.include_credential,
    };
  },
  rewrite(ctx, state) {
    traceWith(ctx, state.tracer);
  },
  response(ctx, state) {
    // After access: the authentication plugins have set the consumer.
    const request = proxiedOf(ctx);
    if (state.includeCredential && request.consumerId !== undefined && request.span !== null)
      request.span.setAttribute('kong.consumer', request.consumerId);
    traceIdHeader(ctx, state.traceIdHeader);
  },
  log(ctx) {
    endTrace(ctx);
  },
});
