import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { queueSchema } from '../queue-schema.js';
import { headerTypeField, propagationField, timeoutField } from './tracing-schema.js';

const { t } = schema;

/** Kong's opentelemetry schema (kong/plugins/opentelemetry/schema.lua, 3.8), field for field. */
const opentelemetrySchema = t.record(
  {
    traces_endpoint: t.url({
      referenceable: true,
      description:
        'A string representing a URL, such as https://example.com:4318/v1/traces (OTLP/HTTP, protobuf).',
    }),
    endpoint: t.url({
      referenceable: true,
      description:
        'Deprecated alias of `traces_endpoint` (Kong before 3.8); used when `traces_endpoint` is unset.',
    }),
    logs_endpoint: t.url({
      referenceable: true,
      description:
        'Accepted for Kong compatibility; Gatehouse exports traces only (see docs/observability.md).',
    }),
    headers: t.map(t.headerName({ required: true }), t.string({ required: true, referenceable: true }), {
      description: 'The custom headers to be added in the HTTP request sent to the OTLP server.',
    }),
    resource_attributes: t.map(t.string({ required: true }), t.string({ required: true, len_min: 1 }), {
      description: 'Attributes of the exported resource (`service.name` defaults to `kong`).',
    }),
    queue: queueSchema({ maxBatchSize: 200 }),
    batch_span_count: t.integer({
      gt: 0,
      description: 'Deprecated: the number of spans sent in one batch (use `queue.max_batch_size`).',
    }),
    batch_flush_delay: t.integer({
      gt: 0,
      description: 'Deprecated: seconds to wait before sending a batch (use `queue.max_coalescing_delay`).',
    }),
    connect_timeout: timeoutField(
      1000,
      'An integer representing a timeout in milliseconds (folded into `send_timeout`).',
    ),
    send_timeout: timeoutField(
      5000,
      'An integer representing a timeout in milliseconds: the whole export request.',
    ),
    read_timeout: timeoutField(
      5000,
      'An integer representing a timeout in milliseconds (folded into `send_timeout`).',
    ),
    http_response_header_for_traceid: t.headerName({
      description: "The name of a response header that carries the request's trace id to the client.",
    }),
    header_type: headerTypeField(
      'Deprecated: use `propagation` instead. The header format injected upstream.',
    ),
    sampling_rate: t.number({
      between: [0, 1],
      description:
        "Tracing sampling rate for a new trace (a parent's decision is kept); unset: the data plane's OTEL_TRACES_SAMPLER (default: always).",
    }),
    propagation: propagationField('w3c'),
  },
  { required: true, entity_checks: [{ at_least_one_of: ['traces_endpoint', 'endpoint'] }] },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const opentelemetrySpec = definePluginSpec({
  name: 'opentelemetry',
  version: '1.0.0',
  priority: 14,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  schema: opentelemetrySchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type OpentelemetryConfig = PluginConfig<typeof opentelemetrySpec.schema>;
