import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { FORMATS, headerTypeField, propagationField, timeoutField } from '../opentelemetry/tracing-schema.js';
import { queueSchema } from '../queue-schema.js';

const { t } = schema;

/** Kong's zipkin schema (kong/plugins/zipkin/schema.lua), field for field. */
const zipkinSchema = t.record(
  {
    local_service_name: t.string({
      required: true,
      default: 'kong',
      len_min: 1,
      description: "The name of the service as displayed in Zipkin (the spans' local endpoint).",
    }),
    http_endpoint: t.url({
      referenceable: true,
      description:
        'The full HTTP(S) endpoint to which Zipkin spans should be sent (v2 JSON), e.g. http://zipkin:9411/api/v2/spans. Unset: nothing is reported, headers are still propagated.',
    }),
    sample_ratio: t.number({
      required: true,
      default: 0.001,
      between: [0, 1],
      description:
        'How often to sample requests that do not contain trace IDs. Set to 0 to turn sampling off, or to 1 to sample all requests.',
    }),
    default_service_name: t.string({
      description:
        'Accepted for Kong compatibility (the remote service name of the upstream span is its host).',
    }),
    include_credential: t.boolean({
      required: true,
      default: true,
      description: "Whether the authenticated consumer's id is recorded (tag `kong.consumer`).",
    }),
    traceid_byte_count: t.integer({
      required: true,
      default: 16,
      one_of: [8, 16],
      description:
        "The length in bytes of each request's Trace ID (8: the upper 64 bits of a new trace id are zero).",
    }),
    header_type: headerTypeField(
      'Deprecated: use `propagation` instead. The header format injected upstream.',
    ),
    default_header_type: t.string({
      required: true,
      default: 'b3',
      one_of: FORMATS,
      description:
        'Deprecated: use `propagation.default_format`. The format injected when `header_type` is `preserve` and no tracing header came in.',
    }),
    tags_header: t.headerName({
      required: true,
      default: 'Zipkin-Tags',
      description:
        'The name of the header that carries extra tags for the request span (`name=value;name2=value2`).',
    }),
    static_tags: t.array(
      t.record({
        name: t.string({ required: true, len_min: 1 }),
        value: t.string({ required: true }),
      }),
      { description: 'Tags added to every request span.' },
    ),
    http_span_name: t.string({
      required: true,
      default: 'method',
      one_of: ['method', 'method_path'],
      description: "The request span's name: the method (`GET`) or the method and path (`GET /path`).",
    }),
    connect_timeout: timeoutField(
      2000,
      'An integer representing a timeout in milliseconds (not used by the Zipkin exporter).',
    ),
    send_timeout: timeoutField(
      5000,
      'An integer representing a timeout in milliseconds (not used by the Zipkin exporter).',
    ),
    read_timeout: timeoutField(
      5000,
      'An integer representing a timeout in milliseconds (not used by the Zipkin exporter).',
    ),
    http_response_header_for_traceid: t.headerName({
      description: "The name of a response header that carries the request's trace id to the client.",
    }),
    phase_duration_flavor: t.string({
      required: true,
      default: 'annotations',
      one_of: ['annotations', 'tags'],
      description: 'Accepted for Kong compatibility (no per-phase durations are recorded).',
    }),
    queue: queueSchema({ maxBatchSize: 200 }),
    propagation: propagationField('b3'),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const zipkinSpec = definePluginSpec({
  name: 'zipkin',
  version: '1.0.0',
  priority: 100000,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  schema: zipkinSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type ZipkinConfig = PluginConfig<typeof zipkinSpec.schema>;
