/**
 * The transformation plugins (request-transformer, response-transformer, correlation-id,
 * redirect) through a real data plane process (`gatehouse dp --config`, DB-less, 2 workers) in
 * front of a real upstream, including 50 MiB bodies that must stream with bounded memory.
 */
import { writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MEMORY_SLACK, MiB, peakGrowthOf } from './helpers/memory.js';
import { tempDir, type Proc, startDblessDp } from './helpers/processes.js';

const BIG = 50 * MiB;
/** RESPONSE_BUFFER_LIMIT (data-plane/src/plugins/api.ts): what response-transformer may hold. */
const BUFFER_LIMIT = 8 * MiB;
/**
 * How far a worker's resident set (VmHWM) may grow while a 50 MiB body passes: three buffer
 * limits and MEMORY_SLACK (e2e/helpers/memory.ts). Measured 2026-12-04 on a 2-core box, through
 * this DP and through a route with no plugin alike: 0–51 MiB (the 1 MiB chunks read and written
 * are garbage until V8 collects, which depends on allocation, not on the plugin). A body held
 * whole (its 50 MiB of chunks and a 50 MiB copy to parse it: 100 MiB) is over it (96 MiB).
 */
const GROWTH_BOUND = 3 * BUFFER_LIMIT + MEMORY_SLACK;

function declarativeFile(upstream: string): string {
  const target = upstream.replace('http://', '');
  const route = (name: string, paths: string[], plugins: unknown[]) => ({
    name,
    paths,
    plugins,
    strip_path: false,
  });
  return stringify({
    _format_version: '3.0',
    services: [
      {
        name: 'echo',
        url: upstream,
        routes: [
          route(
            'req',
            ['~/req/(?<user>[a-z]+)$'],
            [
              {
                name: 'request-transformer',
                config: {
                  http_method: 'PUT',
                  remove: { headers: ['x-secret'], querystring: ['drop'], body: ['password'] },
                  rename: { headers: ['x-old:x-new'] },
                  add: {
                    headers: ['x-user:$(uri_captures.user)', 'x-from-query:$(query_params.q)'],
                    querystring: ['added:1'],
                    body: ['source:gateway'],
                  },
                  replace: { uri: '/users/$(uri_captures.user)' },
                },
              },
            ],
          ),
          route(
            'res',
            ['/res'],
            [
              {
                name: 'response-transformer',
                config: {
                  remove: { headers: ['x-upstream-secret'], json: ['secret'] },
                  add: { headers: ['x-transformed:yes'], json: ['added:true'], json_types: ['boolean'] },
                },
              },
            ],
          ),
          route(
            'cid',
            ['/cid'],
            [{ name: 'correlation-id', config: { echo_downstream: true, generator: 'uuid' } }],
          ),
          route(
            'go',
            ['/go'],
            [{ name: 'redirect', config: { location: 'https://example.com/x', keep_incoming_path: true } }],
          ),
        ],
      },
      {
        // Through a balanced upstream: a Host set by request-transformer is not the target's.
        name: 'balanced',
        url: 'http://pool.upstream',
        routes: [
          route(
            'balanced',
            ['/balanced'],
            [{ name: 'request-transformer', config: { replace: { headers: ['host:custom.test'] } } }],
          ),
        ],
      },
    ],
    upstreams: [{ name: 'pool.upstream', targets: [{ target }] }],
  });
}

/** A promise with its resolver (one side of a test waits for the other). */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('transformation plugins through a real data plane process', () => {
  let upstream: Server;
  let dp: Proc;
  let proxy: string;
  /** The upstream got the first bytes of the big request body. */
  const upstreamGotBody = deferred();
  /** The client got the first bytes of the big response body. */
  const clientGotBody = deferred();

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const url = new URL(req.url!, 'http://upstream');
      if (url.pathname === '/res/big') {
        // 50 MiB of JSON, chunked: over the response buffer limit, it must stream unchanged. The
        // last 40 MiB are sent only once the client got bytes: a gateway holding the whole body
        // would never let that happen (the test would time out).
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"secret":"s","pad":"');
        const chunk = Buffer.alloc(MiB, 'a');
        let sent = 0;
        let waited = false;
        const pump = (): void => {
          while (sent < BIG) {
            if (sent === 10 * MiB && !waited) {
              waited = true;
              void clientGotBody.promise.then(pump);
              return;
            }
            sent += MiB;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end('"}');
        };
        pump();
        return;
      }
      if (url.pathname.startsWith('/res')) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream-secret': 's' });
        res.end(url.searchParams.has('bad') ? '{"secret": oops' : '{"secret":"s","kept":1}');
        return;
      }
      let bytes = 0;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        if (bytes === 0) upstreamGotBody.resolve();
        bytes += c.length;
        if (bytes <= MiB) chunks.push(c);
      });
      req.on('end', () => {
        const body = JSON.stringify({
          method: req.method,
          url: req.url,
          headers: req.headers,
          bytes,
          body: bytes <= MiB ? Buffer.concat(chunks).toString() : null,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const up = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const dir = tempDir('transform');
    const file = join(dir, 'kong.yaml');
    writeFileSync(file, declarativeFile(up));
    ({ proc: dp, proxy } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 2 }));
  }, 90_000);

  afterAll(async () => {
    await dp?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const send = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
    fetch(`${proxy}${path}`, { headers, ...init, signal: AbortSignal.timeout(60_000) });

  interface Seen {
    method: string;
    url: string;
    headers: Record<string, string>;
    bytes: number;
    body: string | null;
  }

  it('request-transformer: rewrites method, path, query, headers and the JSON body', async () => {
    const res = await send(
      '/req/ann?q=hello&drop=1',
      { 'content-type': 'application/json', 'x-secret': 's', 'x-old': 'o' },
      { method: 'POST', body: JSON.stringify({ password: 'p', name: 'ann' }) },
    );
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Seen;
    expect(seen.method).toBe('PUT');
    expect(seen.url).toBe('/users/ann?added=1&q=hello');
    expect(seen.headers['x-secret']).toBeUndefined();
    expect(seen.headers['x-old']).toBeUndefined();
    expect(seen.headers['x-new']).toBe('o');
    expect(seen.headers['x-user']).toBe('ann');
    expect(seen.headers['x-from-query']).toBe('hello');
    expect(JSON.parse(seen.body!)).toEqual({ name: 'ann', source: 'gateway' });
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength(seen.body!)));
  });

  it('request-transformer: passes a malformed JSON body through untouched', async () => {
    const res = await send(
      '/req/ann',
      { 'content-type': 'application/json' },
      { method: 'POST', body: '{"a":' },
    );
    expect(((await res.json()) as Seen).body).toBe('{"a":');
  });

  it('request-transformer: streams a 50 MiB body untransformed (the upstream reads it while it is sent), in bounded memory', async () => {
    const url = new URL(`${proxy}/req/ann`);
    let reply: Seen | undefined;
    const growth = await peakGrowthOf(dp.child.pid!, async () => {
      reply = await new Promise<Seen>((resolve, reject) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': String(BIG) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as Seen));
          },
        );
        req.on('error', reject);
        const chunk = Buffer.alloc(MiB, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < BIG) {
            sent += MiB;
            const ok = req.write(chunk);
            // The last 49 MiB go only once the upstream has bytes: a gateway that buffered the
            // body before sending it would never get there (the test would time out).
            if (sent === MiB) {
              void upstreamGotBody.promise.then(pump);
              return;
            }
            if (!ok) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
    });
    console.log(
      `request-transformer 50 MiB request: worker RSS peak growth ${(growth.max / MiB).toFixed(1)} MiB (bound ${GROWTH_BOUND / MiB} MiB)`,
    );
    expect(reply!.bytes).toBe(BIG);
    expect(reply!.body).toBeNull();
    expect(growth.max).toBeLessThan(GROWTH_BOUND);
  }, 120_000);

  it('response-transformer: changes headers and the JSON body, with a right Content-Length', async () => {
    const res = await send('/res');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ kept: 1, added: true });
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(res.headers.get('x-upstream-secret')).toBeNull();
    expect(res.headers.get('x-transformed')).toBe('yes');
  });

  it('response-transformer: sends a malformed JSON body unchanged', async () => {
    const res = await send('/res?bad');
    expect(await res.text()).toBe('{"secret": oops');
    expect(res.headers.get('x-transformed')).toBe('yes');
  });

  it('response-transformer: streams a 50 MiB JSON response unchanged (the client reads it while it is sent), in bounded memory', async () => {
    const growth = await peakGrowthOf(dp.child.pid!, async () => {
      const res = await send('/res/big');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-transformed')).toBe('yes');
      let bytes = 0;
      let head = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (head.length < 32) head += Buffer.from(chunk).toString('latin1', 0, 32);
        bytes += chunk.length;
        if (bytes >= MiB) clientGotBody.resolve();
      }
      expect(bytes).toBe(BIG + '{"secret":"s","pad":""}'.length);
      expect(head.startsWith('{"secret":"s"')).toBe(true);
    });
    console.log(
      `response-transformer 50 MiB response: worker RSS peak growth ${(growth.max / MiB).toFixed(1)} MiB (bound ${GROWTH_BOUND / MiB} MiB)`,
    );
    expect(growth.max).toBeLessThan(GROWTH_BOUND);
  }, 120_000);

  it('request-transformer: replaces the Host header sent to a balanced upstream', async () => {
    const seen = (await (await send('/balanced')).json()) as Seen;
    expect(seen.headers.host).toBe('custom.test');
  });

  it('correlation-id: sends one id upstream and echoes the same id downstream', async () => {
    const res = await send('/cid');
    const seen = (await res.json()) as Seen;
    const id = res.headers.get('kong-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['kong-request-id']).toBe(id);
    const kept = await send('/cid', { 'kong-request-id': 'mine' });
    expect(kept.headers.get('kong-request-id')).toBe('mine');
  });

  it('redirect: answers 301 with the request path and query on the configured location', async () => {
    const res = await send('/go/deeper?x=1', {}, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('https://example.com/go/deeper?x=1');
    expect(await res.text()).toBe('redirecting');
  });
});
