/**
 * Schema fields the tracing plugins (`opentelemetry`, `zipkin`) share, in Kong's shapes: the
 * `propagation` record (kong/tracing/propagation/schema.lua), `header_type` and the timeouts
 * (the `queue` record is plugins/queue-schema.ts), and the list of Kong's header formats. Schema only: the
 * control plane imports this through the plugins' schema.ts (tracing/propagation.ts reads the
 * format lists from here), so nothing here touches the OpenTelemetry SDK.
 */
import * as schema from '@gatehouse/shared/schema/index';

const { t } = schema;

/** Kong's propagation formats (kong/tracing/propagation/utils.lua FORMATS). */
export const FORMATS = ['w3c', 'b3', 'b3-single', 'jaeger', 'ot', 'aws', 'gcp', 'datadog'] as const;
export type Format = (typeof FORMATS)[number];
/** What `extract` may name: b3 reads both the multi-header and the single-header forms. */
export const EXTRACTORS = FORMATS.filter((f) => f !== 'b3-single');
export type Extractor = Exclude<Format, 'b3-single'>;

/** Kong's legacy `header_type` values. */
export const HEADER_TYPES = ['preserve', 'ignore', ...FORMATS] as const;
export type HeaderType = (typeof HEADER_TYPES)[number];

/** Kong's `propagation` record (3.6+); `default_format` defaults to w3c. */
export function propagationField(defaultFormat: Format) {
  return t.record(
    {
      extract: t.array(t.string({ one_of: EXTRACTORS }), {
        description:
          'Header formats used to extract tracing context from incoming requests, tried in order; the first found is used. Empty: no context is extracted and every request starts a new trace.',
      }),
      clear: t.array(t.headerName(), {
        description: 'Header names to remove from the upstream request after the context was extracted.',
      }),
      inject: t.array(t.string({ one_of: ['preserve', ...FORMATS] }), {
        description:
          'Header formats used to inject the tracing context upstream (all of them). `preserve` uses the format of the incoming request. Empty: nothing is injected.',
      }),
      default_format: t.string({
        required: true,
        default: defaultFormat,
        one_of: FORMATS,
        description:
          'The format injected for `preserve` when no context was extracted (no tracing header, or none of the `extract` formats).',
      }),
    },
    {
      required: true,
      default: { default_format: defaultFormat },
      description:
        "Kong's tracing propagation settings; when `extract`, `inject` and `clear` are unset, `header_type` applies.",
    },
  );
}

export function headerTypeField(description: string) {
  return t.string({ required: true, default: 'preserve', one_of: HEADER_TYPES, description });
}

/** Kong's typedefs.timeout (milliseconds). */
export function timeoutField(defaultMs: number, description: string) {
  return t.integer({ required: true, default: defaultMs, between: [0, 2 ** 31 - 2], description });
}
