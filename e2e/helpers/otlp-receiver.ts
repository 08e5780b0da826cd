/**
 * A real OTLP/HTTP trace receiver for tests: an http server on 127.0.0.1 that accepts
 * `POST /v1/traces` (application/x-protobuf), decodes the ExportTraceServiceRequest with protobufjs
 * (the messages of opentelemetry-proto's trace/v1, common/v1 and resource/v1, fields used here) and
 * keeps every span it received, ids as lower-case hex.
 */
import { createServer, type Server } from 'node:http';
import protobuf from 'protobufjs';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
  }
}
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const ExportRequest = protobuf
  .parse(OTLP_TRACE_PROTO, { keepCase: true })
  .root.lookupType('otlp.ExportTraceServiceRequest');

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code: number; message: string };
  resource: Record<string, string | number | boolean>;
  startNanos: bigint;
  endNanos: bigint;
}

interface RawKv {
  key: string;
  value?: { string_value?: string; bool_value?: boolean; int_value?: unknown; double_value?: number };
}

function attrs(list: RawKv[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    out[kv.key] =
      v.string_value ?? v.bool_value ?? (v.int_value !== undefined ? Number(v.int_value) : v.double_value!);
  }
  return out;
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Content types of the requests received. */
  contentTypes: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      const msg = ExportRequest.toObject(ExportRequest.decode(Buffer.concat(chunks)), {
        longs: String,
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- protobufjs decodes to plain objects
      }) as any;
      for (const rs of msg.resource_spans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scope_spans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              traceId: hex(s.trace_id),
              spanId: hex(s.span_id),
              parentSpanId: hex(s.parent_span_id),
              name: s.name,
              kind: s.kind ?? 0,
              attributes: attrs(s.attributes),
              status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
              resource,
              startNanos: BigInt(s.start_time_unix_nano ?? 0),
              endNanos: BigInt(s.end_time_unix_nano ?? 0),
            });
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
