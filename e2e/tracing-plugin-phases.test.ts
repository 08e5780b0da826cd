/**
 * Plugin-phase spans (Kong's `tracing_instrumentations`) through a real DB-less data plane and a
 * real OTLP/HTTP receiver: with GATEHOUSE_TRACING_INSTRUMENTATIONS=all, each plugin that runs in
 * rewrite, access or the response head gets a `kong.<phase>.plugin.<name>` span under the
 * request's server span (also a route's `opentelemetry` plugin's rewrite, recorded once the
 * plugin chose its exporter); with the default (off) the same traffic yields no such span.
 */
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDblessDp, tempDir, waitUntil, type Proc } from './helpers/processes.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';

/** A DB-less DP (one worker) on `file` with `env` (the OTEL_* settings). */
const startDp = (file: string, env: NodeJS.ProcessEnv) =>
  startDblessDp({ file, dataDir: join(tempDir('phase-dp'), 'data'), env });

const TRACE_ALL = '11111111111111111111111111111111';
const TRACE_OFF = '22222222222222222222222222222222';
const TRACE_OTEL = '33333333333333333333333333333333';
const parent = (trace: string) => `00-${trace}-00f067aa0ba902b7-01`;

describe('plugin-phase spans (GATEHOUSE_TRACING_INSTRUMENTATIONS)', () => {
  let receiver: OtlpReceiver;
  let upstream: Server;
  let all: { proc: Proc; proxy: string };
  let off: { proc: Proc; proxy: string };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const port = (upstream.address() as { port: number }).port;
    const file = join(tempDir('phases'), 'kong.yaml');
    await writeFile(
      file,
      `_format_version: "3.0"
services:
  - name: echo
    url: http://127.0.0.1:${port}
    routes:
      - name: plain
        paths: ["/plain"]
        plugins:
          - name: correlation-id
          - name: request-transformer
            config: { add: { headers: ["x-added:1"] } }
      - name: otel
        paths: ["/otel"]
        plugins:
          - name: opentelemetry
            config:
              traces_endpoint: ${receiver.url}/v1/traces
              resource_attributes: { service.name: otel-plugin }
              queue: { max_coalescing_delay: 0.1 }
`,
    );
    const common = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' };
    [all, off] = await Promise.all([
      startDp(file, {
        ...common,
        OTEL_SERVICE_NAME: 'phases-all',
        GATEHOUSE_TRACING_INSTRUMENTATIONS: 'all',
      }),
      startDp(file, { ...common, OTEL_SERVICE_NAME: 'phases-off' }),
    ]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([all?.proc.stop(), off?.proc.stop()]);
    await receiver?.close();
    upstream?.closeAllConnections();
    upstream?.close();
  });

  const spansOf = (traceId: string): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);
  const waitSpans = (traceId: string, n: number) =>
    waitUntil(`${n} spans of trace ${traceId}`, async () => spansOf(traceId).length >= n, 20_000);

  it('records one span per plugin and phase, under the server span, within it', async () => {
    const r = await fetch(`${all.proxy}/plain/x`, { headers: { traceparent: parent(TRACE_ALL) } });
    expect(r.status).toBe(200);
    await waitSpans(TRACE_ALL, 5);
    const spans = spansOf(TRACE_ALL);
    const server = spans.find((s) => s.name === 'kong')!;
    expect(server).toBeDefined();
    const phases = spans.filter((s) => s.name.includes('.plugin.'));
    expect(phases.map((s) => s.name).sort()).toEqual([
      'kong.access.plugin.correlation-id',
      'kong.access.plugin.request-transformer',
      'kong.header_filter.plugin.correlation-id',
    ]);
    for (const s of phases) {
      expect(s.parentSpanId).toBe(server.spanId);
      expect(s.kind).toBe(1); // internal
      expect(s.startNanos).toBeGreaterThanOrEqual(server.startNanos);
      expect(s.endNanos).toBeLessThanOrEqual(server.endNanos);
      expect(s.resource['service.name']).toBe('phases-all');
    }
  });

  it("records a tracing plugin's own rewrite, exported with the plugin's exporter", async () => {
    const r = await fetch(`${all.proxy}/otel/x`, { headers: { traceparent: parent(TRACE_OTEL) } });
    expect(r.status).toBe(200);
    await waitSpans(TRACE_OTEL, 3);
    const spans = spansOf(TRACE_OTEL);
    const server = spans.find((s) => s.name === 'kong')!;
    const rewrite = spans.find((s) => s.name === 'kong.rewrite.plugin.opentelemetry')!;
    expect(rewrite, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
    expect(rewrite.parentSpanId).toBe(server.spanId);
    expect(server.resource['service.name']).toBe('otel-plugin');
    expect(rewrite.resource['service.name']).toBe('otel-plugin');
  });

  it('records no plugin span by default (off)', async () => {
    const r = await fetch(`${off.proxy}/plain/x`, { headers: { traceparent: parent(TRACE_OFF) } });
    expect(r.status).toBe(200);
    await waitSpans(TRACE_OFF, 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      spansOf(TRACE_OFF)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['kong', 'kong.upstream']);
  });
});
