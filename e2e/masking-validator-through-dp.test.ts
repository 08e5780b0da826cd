/**
 * data-masking and request-validator through a real data plane process (`gatehouse dp --config`,
 * DB-less, 2 workers) in front of a real upstream that echoes what it received, or answers the
 * JSON (plain, gzip, oversized, non-JSON) the request asks for.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MEMORY_SLACK, MiB, peakGrowthOf } from './helpers/memory.js';
import { tempDir, type Proc, startDblessDp } from './helpers/processes.js';

/** data-masking's max_body_size on /mask-response (/mask-request keeps the default, 1 MiB). */
const MAX_BODY_SIZE = 65_536;
const DEFAULT_MAX_BODY_SIZE = MiB;
/**
 * How far a worker's resident set (VmHWM) may grow while a 50 MiB body is refused: three times
 * the route's max_body_size and MEMORY_SLACK. A body held whole (50 MiB of chunks and a 50 MiB
 * copy) is over it.
 */
const growthBound = (maxBodySize: number): number => 3 * maxBodySize + MEMORY_SLACK;

const SECRET = 'e2e-masking-hmac-secret';
const PII = { user: { email: 'ann@example.com', name: 'Ann' }, cards: [{ card_number: '4111111111111111' }] };

function declarativeFile(upstream: string): string {
  const route = (name: string, paths: string[], plugins: unknown[]) => ({
    name,
    paths,
    plugins,
    strip_path: false,
  });
  const masking = (config: Record<string, unknown>) => ({ name: 'data-masking', config });
  return stringify({
    _format_version: '3.0',
    services: [
      {
        name: 'echo',
        url: upstream,
        routes: [
          route(
            'mask-request',
            ['/mask-request'],
            [masking({ request: { json: ['$.user.email', '$..card_number'], headers: ['X-Ssn'] } })],
          ),
          route(
            'mask-hash',
            ['/mask-hash'],
            [masking({ mode: 'hash', hash_secret: SECRET, request: { json: ['$.user.email'] } })],
          ),
          route(
            'mask-response',
            ['/mask-response'],
            [
              masking({
                mode: 'partial',
                detectors: ['email'],
                response: { json: ['$..card_number'], headers: ['X-Card'] },
                max_body_size: MAX_BODY_SIZE,
              }),
            ],
          ),
          route(
            'validate',
            ['~/validate/(?<id>\\d+)$', '/validate'],
            [
              {
                name: 'request-validator',
                config: {
                  body_schema: JSON.stringify({
                    type: 'object',
                    required: ['name'],
                    properties: { name: { type: 'string' } },
                  }),
                  parameter_schema: [
                    {
                      name: 'id',
                      in: 'path',
                      required: true,
                      style: 'simple',
                      explode: false,
                      schema: '{"type":"integer"}',
                    },
                    {
                      name: 'limit',
                      in: 'query',
                      required: false,
                      style: 'form',
                      explode: false,
                      schema: '{"type":"integer","maximum":10}',
                    },
                  ],
                },
              },
            ],
          ),
          route(
            'validate-verbose',
            ['/verbose'],
            [
              {
                name: 'request-validator',
                config: {
                  verbose_response: true,
                  body_schema: JSON.stringify({ type: 'object', properties: { age: { type: 'integer' } } }),
                },
              },
              // Validation (999) sees the values as sent; masking (799) then masks what goes upstream.
              masking({ request: { json: ['$.age'] } }),
            ],
          ),
        ],
      },
    ],
  });
}

describe('data-masking and request-validator through a real data plane process', () => {
  let upstream: Server;
  let dp: Proc;
  let proxy: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const respond = req.headers['x-respond'];
      if (respond === 'pii') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-card': '4111111111111111' });
        res.end(JSON.stringify({ ...PII, note: 'write to bob@example.org' }));
        return;
      }
      if (respond === 'gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(JSON.stringify(PII)));
        return;
      }
      if (respond === 'text') {
        res
          .writeHead(200, { 'content-type': 'text/plain' })
          .end('card_number 4111111111111111 ann@example.com');
        return;
      }
      if (respond === 'big') {
        // A chunked JSON response of 50 MiB: the gateway must refuse it at its cap, not buffer it.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < 50) {
            sent++;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.on('error', () => undefined);
        pump();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }),
          );
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const up = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const dir = tempDir('masking');
    const file = join(dir, 'kong.yaml');
    writeFileSync(file, declarativeFile(up));
    ({ proc: dp, proxy } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 2 }));
  });

  afterAll(async () => {
    await dp?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${proxy}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('masks the JSON values and headers sent upstream (redact)', async () => {
    const res = await post('/mask-request', PII, { 'x-ssn': '123-45-6789' });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { body: string; headers: Record<string, string> };
    expect(JSON.parse(seen.body)).toEqual({
      user: { email: '****', name: 'Ann' },
      cards: [{ card_number: '****' }],
    });
    expect(seen.headers['x-ssn']).toBe('****');
    expect(Number(seen.headers['content-length'])).toBe(Buffer.byteLength(seen.body));
  });

  it('hashes with the HMAC secret, so equal values stay joinable upstream', async () => {
    const seen = (await (await post('/mask-hash', PII)).json()) as { body: string };
    expect(JSON.parse(seen.body).user.email).toBe(
      createHmac('sha256', SECRET).update('ann@example.com').digest('hex'),
    );
  });

  it('passes malformed JSON and non-JSON request bodies untouched', async () => {
    const bad = (await (await post('/mask-request', '{"user":{"email":"ann@')).json()) as { body: string };
    expect(bad.body).toBe('{"user":{"email":"ann@');
    const text = (await (
      await post('/mask-request', 'email=ann@example.com', { 'content-type': 'text/plain' })
    ).json()) as { body: string };
    expect(text.body).toBe('email=ann@example.com');
  });

  it('masks the response body (selectors and detectors), its headers, and fixes Content-Length', async () => {
    const res = await call('/mask-response', { headers: { 'x-respond': 'pii' } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toEqual({
      user: { email: '***********.com', name: 'Ann' },
      cards: [{ card_number: '************1111' }],
      note: 'write to ***********.org',
    });
    expect(res.headers.get('x-card')).toBe('************1111');
  });

  it('asks the upstream for identity and masks a gzip response anyway (sent decoded)', async () => {
    const echo = (await (
      await call('/mask-response', { headers: { 'accept-encoding': 'gzip' } })
    ).json()) as {
      headers: Record<string, string>;
    };
    expect(echo.headers['accept-encoding']).toBe('identity');
    const res = await call('/mask-response', { headers: { 'x-respond': 'gzip' } });
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(((await res.json()) as typeof PII).cards[0]!.card_number).toBe('************1111');
  });

  it('passes a non-JSON response untouched (streamed)', async () => {
    const res = await call('/mask-response', { headers: { 'x-respond': 'text' } });
    expect(await res.text()).toBe('card_number 4111111111111111 ann@example.com');
  });

  it('refuses a 50 MiB JSON response over max_body_size with 502 in bounded memory, and keeps serving', async () => {
    const growth = await peakGrowthOf(dp.child.pid!, async () => {
      const res = await call('/mask-response', { headers: { 'x-respond': 'big' } });
      expect(res.status).toBe(502);
      expect(res.headers.get('x-gatehouse-error-code')).toBe('GH_ERR_PLUGIN_RESPONSE_TOO_LARGE');
      expect(await res.json()).toEqual({ message: 'The upstream response is too large to be processed' });
    });
    console.log(
      `data-masking 50 MiB response: worker RSS peak growth ${(growth.max / MiB).toFixed(1)} MiB (bound ${(growthBound(MAX_BODY_SIZE) / MiB).toFixed(1)} MiB)`,
    );
    expect(growth.max).toBeLessThan(growthBound(MAX_BODY_SIZE));
    expect((await call('/mask-response', { headers: { 'x-respond': 'pii' } })).status).toBe(200);
  });

  it('refuses a 50 MiB JSON request body over max_body_size with 413 in bounded memory, and keeps serving', async () => {
    const big = Buffer.alloc(50 * MiB, 0x20);
    const growth = await peakGrowthOf(dp.child.pid!, async () => {
      const res = await call('/mask-request', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: big,
      }).catch((e: unknown) => e as Error);
      // The gateway answers 413 and closes; a client still sending may see the close instead.
      if (res instanceof Response) expect(res.status).toBe(413);
    });
    console.log(
      `data-masking 50 MiB request: worker RSS peak growth ${(growth.max / MiB).toFixed(1)} MiB (bound ${(growthBound(DEFAULT_MAX_BODY_SIZE) / MiB).toFixed(1)} MiB)`,
    );
    expect(growth.max).toBeLessThan(growthBound(DEFAULT_MAX_BODY_SIZE));
    expect((await post('/mask-request', PII)).status).toBe(200);
  });

  it("request-validator: 400 with Kong's messages for a bad path param, query param, body and Content-Type", async () => {
    const ok = await post('/validate/42?limit=5', { name: 'foo' });
    expect(ok.status).toBe(200);
    const bad = async (res: Response, message: string) => {
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ message });
    };
    await bad(await post('/validate/abc', { name: 'foo' }), "request param doesn't conform to schema");
    await bad(await post('/validate', { name: 'foo' }), "request param doesn't conform to schema");
    await bad(
      await post('/validate/42?limit=50', { name: 'foo' }),
      "request param doesn't conform to schema",
    );
    await bad(await post('/validate/42', { name: 1 }), "request body doesn't conform to schema");
    await bad(await post('/validate/42', '{"name":'), "request body doesn't conform to schema");
    await bad(
      await post('/validate/42', { name: 'foo' }, { 'content-type': 'text/plain' }),
      'specified Content-Type is not allowed',
    );
  });

  it('request-validator names the failing path with verbose_response; masking runs after it', async () => {
    const res = await post('/verbose', { age: 'old' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      message: "request body doesn't conform to schema: /age: must be integer",
    });
    const seen = (await (await post('/verbose', { age: 42 })).json()) as { body: string };
    expect(JSON.parse(seen.body)).toEqual({ age: '****' });
  });
});
