/**
 * OpenTelemetry tracing through a real DB-less data plane: the OTEL_* environment turns it on, a
 * real OTLP/HTTP receiver (protobuf decoded) gets a `kong` server span per request and its
 * `kong.upstream` child, the upstream sees the propagated W3C `traceparent` carrying the client's
 * trace id; with sampling at 0 no span is exported but the context is still propagated.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startDblessDp, tempDir, waitUntil, type Proc } from './helpers/processes.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';

/** An upstream that answers with the headers it received. */
async function startHeaderEcho(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const body = JSON.stringify(req.headers);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, server };
}

/** A DB-less DP (one worker) on `file` with `env` (the OTEL_* settings). */
const startTracedDp = (file: string, env: NodeJS.ProcessEnv) =>
  startDblessDp({ file, dataDir: join(tempDir('trace-dp'), 'data'), env });

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

describe('OpenTelemetry tracing through a data plane process', () => {
  let receiver: OtlpReceiver;
  let upstream: Awaited<ReturnType<typeof startHeaderEcho>>;
  let traced: { proc: Proc; proxy: string };
  let unsampled: { proc: Proc; proxy: string };
  const dir = tempDir('tracing');

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    upstream = await startHeaderEcho();
    const deadPort = await freePort();
    const file = join(dir, 'kong.yaml');
    await writeFile(
      file,
      `_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}
    routes:
      - name: traced-route
        paths: ["/traced"]
  - name: dead
    url: http://127.0.0.1:${deadPort}
    routes:
      - name: dead-route
        paths: ["/dead"]
`,
    );
    const common = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' };
    [traced, unsampled] = await Promise.all([
      startTracedDp(file, { ...common, OTEL_SERVICE_NAME: 'edge-e2e' }),
      startTracedDp(file, {
        ...common,
        OTEL_SERVICE_NAME: 'edge-unsampled',
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0',
      }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([traced?.proc.stop(), unsampled?.proc.stop()]);
    await receiver?.close();
    upstream?.server.closeAllConnections();
    upstream?.server.close();
  });

  const spansOf = (traceId: string): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);
  const waitSpans = (traceId: string, n: number) =>
    waitUntil(`${n} spans of trace ${traceId}`, async () => spansOf(traceId).length >= n, 20_000);

  it("continues the client's W3C trace: server span under the client's span, upstream span under it, its id sent upstream", async () => {
    const r = await fetch(`${traced.proxy}/traced/a?x=1`, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc' },
    });
    expect(r.status).toBe(200);
    const seen = (await r.json()) as IncomingHttpHeaders;
    const m = TRACEPARENT.exec(String(seen.traceparent));
    expect(m, String(seen.traceparent)).not.toBeNull();
    expect(m![1]).toBe(CLIENT_TRACE);
    expect(m![3]).toBe('01');
    expect(seen.tracestate).toBe('vendor=abc');

    await waitSpans(CLIENT_TRACE, 2);
    const spans = spansOf(CLIENT_TRACE);
    const server = spans.find((s) => s.name === 'kong')!;
    const up = spans.find((s) => s.name === 'kong.upstream')!;
    expect(server).toBeDefined();
    expect(up).toBeDefined();
    expect(server.parentSpanId).toBe(CLIENT_SPAN);
    expect(server.kind).toBe(2);
    expect(up.parentSpanId).toBe(server.spanId);
    expect(up.kind).toBe(3);
    // The upstream was told the upstream span's id as its parent.
    expect(m![2]).toBe(up.spanId);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/traced/a',
      'url.query': 'x=1',
      'url.scheme': 'http',
      'http.response.status_code': 200,
      'kong.route.name': 'traced-route',
      'kong.service.name': 'echo',
    });
    expect(up.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
    expect(server.resource['service.name']).toBe('edge-e2e');
    expect(up.startNanos).toBeGreaterThanOrEqual(server.startNanos);
    expect(up.endNanos).toBeLessThanOrEqual(server.endNanos);
    expect(receiver.contentTypes[0]).toBe('application/x-protobuf');
  });

  it('starts a new trace when the client sends none; the upstream gets its traceparent', async () => {
    const r = await fetch(`${traced.proxy}/traced/new`);
    const seen = (await r.json()) as IncomingHttpHeaders;
    const m = TRACEPARENT.exec(String(seen.traceparent));
    expect(m).not.toBeNull();
    expect(m![1]).not.toBe(CLIENT_TRACE);
    await waitSpans(m![1]!, 2);
    const server = spansOf(m![1]!).find((s) => s.name === 'kong')!;
    expect(server.parentSpanId).toBe('');
  });

  it('marks the upstream span failed when the upstream cannot be reached (502)', async () => {
    const trace = 'aaaabbbbccccddddeeeeffff00001111';
    const r = await fetch(`${traced.proxy}/dead`, {
      headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` },
    });
    expect(r.status).toBe(502);
    await waitSpans(trace, 2);
    const up = spansOf(trace).find((s) => s.name === 'kong.upstream')!;
    const server = spansOf(trace).find((s) => s.name === 'kong')!;
    expect(up.status.code).toBe(2);
    expect(String(up.attributes['error.type'])).toMatch(/ECONNREFUSED|UND_ERR/);
    expect(server.attributes['http.response.status_code']).toBe(502);
    expect(server.status.code).toBe(2);
  });

  it('with sampling at 0 exports no span, yet propagates the trace (not sampled) upstream', async () => {
    const trace = '0123456789abcdef0123456789abcdef';
    const r = await fetch(`${unsampled.proxy}/traced/quiet`, {
      headers: { traceparent: `00-${trace}-${CLIENT_SPAN}-01` },
    });
    const seen = (await r.json()) as IncomingHttpHeaders;
    const m = TRACEPARENT.exec(String(seen.traceparent));
    expect(m).not.toBeNull();
    expect(m![1]).toBe(trace);
    expect(m![2]).not.toBe(CLIENT_SPAN);
    expect(m![3]).toBe('00');
    // A sampled request on the other DP, sent after, is exported: the batch interval has passed.
    const later = 'fedcba9876543210fedcba9876543210';
    await fetch(`${traced.proxy}/traced/after`, {
      headers: { traceparent: `00-${later}-${CLIENT_SPAN}-01` },
    });
    await waitSpans(later, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(spansOf(trace)).toEqual([]);
    expect(receiver.spans.some((s) => s.resource['service.name'] === 'edge-unsampled')).toBe(false);
  });
});
