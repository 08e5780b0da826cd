/**
 * The `opentelemetry` and `zipkin` plugins through a real DB-less data plane that has no OTEL_*
 * tracing of its own: a route's opentelemetry plugin exports OTLP/HTTP (protobuf) spans to its
 * `traces_endpoint` and injects the formats of its `propagation`; a route's zipkin plugin reports
 * Zipkin v2 JSON spans to its `http_endpoint` and injects B3 by default; a route with neither is
 * not traced at all.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDblessDp, tempDir, waitUntil, type Proc } from './helpers/processes.js';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

/** Zipkin v2 span, as posted to /api/v2/spans. */
interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  localEndpoint: { serviceName?: string };
  tags: Record<string, string>;
}

const CLIENT_TRACE = '5af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';

describe('tracing plugins through a data plane process', () => {
  let otlp: OtlpReceiver;
  let zipkinServer: Server;
  const zipkinSpans: ZipkinSpan[] = [];
  const zipkinContentTypes: string[] = [];
  let upstream: Server;
  let dp: { proc: Proc; proxy: string };
  const dir = tempDir('tracing-plugins');

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    zipkinServer = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/api/v2/spans') {
          zipkinContentTypes.push(String(req.headers['content-type']));
          zipkinSpans.push(...(JSON.parse(body) as ZipkinSpan[]));
          res.writeHead(202).end();
        } else res.writeHead(404).end();
      });
    });
    const zipkinUrl = await listen(zipkinServer);
    upstream = createServer((req, res) => {
      const body = JSON.stringify(req.headers);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    const upstreamUrl = await listen(upstream);
    const file = join(dir, 'kong.yaml');
    await writeFile(
      file,
      `_format_version: "3.0"
services:
  - name: echo
    url: ${upstreamUrl}
    routes:
      - name: otel-route
        paths: ["/otel"]
        plugins:
          - name: opentelemetry
            config:
              traces_endpoint: ${otlp.url}/v1/traces
              resource_attributes: { service.name: otel-plugin }
              queue: { max_coalescing_delay: 0.1 }
              http_response_header_for_traceid: x-trace-id
              propagation:
                extract: [w3c]
                inject: [w3c, b3]
                clear: [x-remove-me]
      - name: zipkin-route
        paths: ["/zipkin"]
        plugins:
          - name: zipkin
            config:
              http_endpoint: ${zipkinUrl}/api/v2/spans
              sample_ratio: 1
              local_service_name: edge
              http_span_name: method_path
              static_tags: [{ name: team, value: platform }]
              queue: { max_coalescing_delay: 0.1 }
      - name: plain-route
        paths: ["/plain"]
`,
    );
    dp = await startDblessDp({ file, dataDir: join(dir, 'data') });
  }, 90_000);
  afterAll(async () => {
    await dp?.proc.stop();
    await otlp?.close();
    for (const s of [zipkinServer, upstream]) {
      s?.closeAllConnections();
      s?.close();
    }
  });

  it("opentelemetry: exports the route's spans to its endpoint, injects w3c and b3, clears headers, returns the trace id", async () => {
    const r = await fetch(`${dp.proxy}/otel/x`, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, 'x-remove-me': 'secret' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-trace-id')).toBe(CLIENT_TRACE);
    const seen = (await r.json()) as IncomingHttpHeaders;
    expect(String(seen.traceparent)).toMatch(new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-01$`));
    expect(seen['x-b3-traceid']).toBe(CLIENT_TRACE);
    expect(seen['x-b3-sampled']).toBe('1');
    expect(seen['x-remove-me']).toBeUndefined();
    await waitUntil(
      'otel plugin spans',
      async () => otlp.spans.filter((s) => s.traceId === CLIENT_TRACE).length >= 2,
    );
    const spans = otlp.spans.filter((s) => s.traceId === CLIENT_TRACE);
    const server = spans.find((s) => s.name === 'kong')!;
    const up = spans.find((s) => s.name === 'kong.upstream')!;
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    expect(up.parentSpanId).toBe(server.spanId);
    expect(seen['x-b3-spanid']).toBe(up.spanId);
    expect(server.resource['service.name']).toBe('otel-plugin');
    expect(server.attributes['kong.route.name']).toBe('otel-route');
  });

  it('zipkin: reports v2 JSON spans with its tags and injects b3 by default', async () => {
    const r = await fetch(`${dp.proxy}/zipkin/y`, { headers: { 'zipkin-tags': 'foo=bar; baz=qux' } });
    expect(r.status).toBe(200);
    const seen = (await r.json()) as IncomingHttpHeaders;
    const traceId = String(seen['x-b3-traceid']);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen['x-b3-sampled']).toBe('1');
    expect(seen.traceparent).toBeUndefined();
    await waitUntil('zipkin spans', async () => zipkinSpans.filter((s) => s.traceId === traceId).length >= 2);
    const spans = zipkinSpans.filter((s) => s.traceId === traceId);
    const server = spans.find((s) => s.kind === 'SERVER')!;
    const up = spans.find((s) => s.kind === 'CLIENT')!;
    expect(server.name).toBe('GET /zipkin/y');
    expect(server.localEndpoint.serviceName).toBe('edge');
    expect(server.tags).toMatchObject({
      team: 'platform',
      foo: 'bar',
      baz: 'qux',
      'http.response.status_code': '200',
    });
    expect(server.parentId).toBeUndefined();
    expect(up.parentId).toBe(server.id);
    expect(seen['x-b3-spanid']).toBe(up.id);
    expect(zipkinContentTypes[0]).toMatch(/^application\/json/);
  });

  it('zipkin: preserve answers a w3c client in w3c', async () => {
    const r = await fetch(`${dp.proxy}/zipkin/z`, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    });
    const seen = (await r.json()) as IncomingHttpHeaders;
    expect(String(seen.traceparent)).toMatch(new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-01$`));
    expect(seen['x-b3-traceid']).toBeUndefined();
  });

  it('a route without a tracing plugin is not traced (the data plane has no OTEL_* tracing)', async () => {
    const r = await fetch(`${dp.proxy}/plain/w`, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    });
    const seen = (await r.json()) as IncomingHttpHeaders;
    // The client's header passes through untouched: no span, no injection.
    expect(seen.traceparent).toBe(`00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`);
    expect(seen['x-b3-traceid']).toBeUndefined();
  });
});
