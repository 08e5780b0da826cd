/**
 * tracingFromEnv reads the environment it is given, never process.env: the exporter's endpoint,
 * headers and the resource come from that object (a real OTLP/HTTP receiver gets the spans), and a
 * malformed variable is refused with TracingConfigError naming it.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import { otlpExporterConfig, resourceFromEnv, tracingFromEnv, TracingConfigError } from './env.js';

const logger = createLogger('env-test', { level: 'silent' });

interface Export {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}
const exports: Export[] = [];
let receiver: http.Server;
let receiverUrl: string;
const saved = { ...process.env };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      exports.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(() => {
  receiver.closeAllConnections();
  receiver.close();
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('tracingFromEnv: the environment given', () => {
  it('exports to the endpoint, with the headers and service name of the env given, not process.env', async () => {
    // process.env says something else: none of it may be used.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://127.0.0.1:9/elsewhere';
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-token=from-process-env';
    process.env.OTEL_SERVICE_NAME = 'process-env-service';
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment=process-env';
    const tracer = tracingFromEnv(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-token=given%20token',
        OTEL_SERVICE_NAME: 'given-service',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=given-env',
        OTEL_BSP_SCHEDULE_DELAY: '20',
      },
      logger,
    )!;
    expect(tracer).not.toBeNull();
    tracer.settings.tracer.startSpan('probe').end();
    await tracer.shutdown();
    expect(exports.length).toBe(1);
    const e = exports[0]!;
    expect(e.path).toBe('/v1/traces');
    expect(e.headers['x-token']).toBe('given token');
    const body = e.body.toString('latin1');
    expect(body).toContain('given-service');
    expect(body).toContain('given-env');
    expect(body).not.toContain('process-env');
  });

  it('the _TRACES_ forms win over the general ones; certificates are read from the given paths', () => {
    const c = otlpExporterConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://general:4318/',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces:4318/custom',
      OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=3',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    expect(c.url).toBe('https://traces:4318/custom');
    expect(c.headers).toEqual({ a: '1', b: '3' });
    expect(c.timeoutMillis).toBe(700);
    expect(c.compression).toBe('gzip');
    expect(otlpExporterConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://general:4318' }).url).toBe(
      'http://general:4318/v1/traces',
    );
    expect(() =>
      otlpExporterConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x',
        OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem',
      }),
    ).toThrow(/OTEL_EXPORTER_OTLP_CERTIFICATE/);
  });

  it('a malformed variable is refused, naming it', () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl };
    const refused = (env: Record<string, string>, name: string) =>
      expect(() => tracingFromEnv({ ...base, ...env }, logger)).toThrow(
        expect.objectContaining({ code: 'GH_ERR_TRACING_CONFIG', message: expect.stringContaining(name) }),
      );
    refused({ OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli' }, 'OTEL_EXPORTER_OTLP_COMPRESSION');
    refused({ OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon' }, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT');
    refused({ OTEL_RESOURCE_ATTRIBUTES: 'a=b=c' }, 'OTEL_RESOURCE_ATTRIBUTES');
    refused({ OTEL_RESOURCE_ATTRIBUTES: 'a=%zz' }, 'OTEL_RESOURCE_ATTRIBUTES');
    refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('resource attributes: percent-decoded, OTEL_SERVICE_NAME wins for service.name', () => {
    expect(
      resourceFromEnv({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=a, k%2C1=v%3D1 ,,', OTEL_SERVICE_NAME: 'b' }),
    ).toEqual({ 'service.name': 'b', 'k,1': 'v=1' });
  });

  it('hostile OTEL_* values: a tracer or TracingConfigError, never anything else', async () => {
    const names = [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      'OTEL_EXPORTER_OTLP_COMPRESSION',
      'OTEL_RESOURCE_ATTRIBUTES',
      'OTEL_SERVICE_NAME',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
      'OTEL_PROPAGATORS',
    ] as const;
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('', ' ', '%', '=', ',', 'a=b', 'http://h'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...names), fc.option(value, { nil: undefined })),
        async (env) => {
          let tracer;
          try {
            tracer = tracingFromEnv(env, logger);
          } catch (err) {
            expect(err).toBeInstanceOf(TracingConfigError);
            return;
          }
          await tracer?.shutdown();
        },
      ),
      {
        numRuns: 200,
        examples: [[{ OTEL_EXPORTER_OTLP_ENDPOINT: '%', OTEL_EXPORTER_OTLP_HEADERS: undefined }]],
      },
    );
  });
});
