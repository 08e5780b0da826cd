/**
 * HTTP/2 at the edge through a real CP and DP (issue 16): node:http2 clients reach the upstream
 * with h2 over TLS (ALPN `h2` on --listen-ssl) and h2c with prior knowledge on the plain port,
 * key-auth (configured through the Admin API) answers 401 without the key and lets the key in,
 * the gateway's own answers (404 no route) come over h2 with Kong's JSON bodies, one connection
 * carries many concurrent streams, rapid reset on a raw socket gets GOAWAY(ENHANCE_YOUR_CALM) while
 * the DP keeps serving, and HTTP/1.1 clients on both ports see what they always did.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CANCEL,
  ENHANCE_YOUR_CALM,
  Flags,
  FrameType,
  clientStart,
  frame,
  goawayCode,
  parseFrames,
  rawSession,
  requestBlock,
  rstStream,
} from '../test/proxy/h2-frames.js';
import {
  adminCreate,
  freePort,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';
import {
  closeSession as close,
  connectH2 as connect,
  h2Request as request,
  type H2Reply as Reply,
} from '../test/helpers/h2-client.js';

function h1(
  port: number,
  path: string,
  secure: boolean,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const mod = secure ? https : http;
    const req = mod.request(
      { host: '127.0.0.1', port, path, headers, agent: false, rejectUnauthorized: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: { ...res.headers, ':version': res.httpVersion },
            body,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP/2 at the edge through a real CP and DP, key-auth in front', () => {
  let cp: CpHandle;
  let dp: DpHandle;
  let upstream: http.Server;
  let tlsPort: number;
  let plain: string;
  let secure: string;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const body = JSON.stringify({ url: req.url, version: req.httpVersion, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;

    cp = await startCp({ dataDir: tempDir('h2-cp') });
    const ok = (path: string, body: unknown): Promise<void> => adminCreate(cp.admin, path, body);
    await ok('/services', { name: 'svc', url: `http://127.0.0.1:${port}` });
    await ok('/services/svc/routes', { name: 'api', paths: ['/api'], preserve_host: true });
    await ok('/services/svc/routes', { name: 'open', paths: ['/open'] });
    await ok('/routes/api/plugins', { name: 'key-auth', config: {} });
    await ok('/consumers', { username: 'alice' });
    await ok('/consumers/alice/key-auth', { key: 'alice-key' });

    tlsPort = await freePort();
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('h2-dp'),
      // Two workers: node:cluster hands each connection to one; the sniff and ALPN run there.
      workers: 2,
      args: ['--listen-ssl', `127.0.0.1:${tlsPort}`],
    });
    plain = dp.proxy;
    secure = `https://127.0.0.1:${tlsPort}`;
    await waitUntil(
      'the key-auth route is served',
      async () => (await h1(dp.proxyPort, '/api/x', false, { apikey: 'alice-key' })).status === 200,
      60_000,
    );
  }, 150_000);

  afterAll(async () => {
    await dp?.proc.stop();
    await cp?.proc.stop();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  it('serves h2 over TLS (ALPN h2) and h2c on the plain port, upstream over HTTP/1.1', async () => {
    for (const url of [secure, plain]) {
      const s = await connect(url);
      if (url === secure) expect(s.alpnProtocol).toBe('h2');
      const r = await request(s, '/open/hello');
      await close(s);
      expect(r.status, url).toBe(200);
      const seen = JSON.parse(r.body) as { url: string; version: string; headers: Record<string, string> };
      expect(seen.url).toBe('/hello'); // strip_path (the Admin API's default)
      expect(seen.version).toBe('1.1');
      expect(seen.headers['x-forwarded-proto']).toBe(url === secure ? 'https' : 'http');
      expect(r.headers.via).toMatch(/gatehouse/);
    }
  });

  it('answers key-auth 401 without the key and 200 with it, over h2 and h2c', async () => {
    for (const url of [secure, plain]) {
      const s = await connect(url);
      const refused = await request(s, '/api/x');
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toEqual({ message: 'No API key found in request' });
      const passed = await request(s, '/api/x', { apikey: 'alice-key' });
      await close(s);
      expect(passed.status).toBe(200);
      const seen = JSON.parse(passed.body) as { headers: Record<string, string> };
      expect(seen.headers['x-consumer-username']).toBe('alice');
      // preserve_host: the Host upstream is the client's :authority.
      expect(seen.headers.host).toBe(new URL(url).host);
    }
  });

  it("answers the gateway's 404 over h2 with Kong's JSON body", async () => {
    const s = await connect(secure);
    const r = await request(s, '/no/such/route');
    await close(s);
    expect(r.status).toBe(404);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_ROUTE');
    expect(JSON.parse(r.body)).toEqual({ message: 'no Route matched with those values' });
  });

  it('carries many concurrent streams on one connection', async () => {
    const s = await connect(plain);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => request(s, `/api/${i}`, { apikey: 'alice-key' })),
    );
    await close(s);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(200);
    expect(new Set(replies.map((r) => (JSON.parse(r.body) as { url: string }).url)).size).toBe(200);
  });

  it('closes a rapid-reset connection with GOAWAY(ENHANCE_YOUR_CALM) and keeps serving others', async () => {
    const { bytes, closed } = await rawSession(dp.proxyPort, (socket) => {
      const parts: Buffer[] = [clientStart()];
      for (let i = 0; i < 600; i++) {
        const id = 2 * i + 1;
        parts.push(
          frame(
            FrameType.HEADERS,
            Flags.END_STREAM | Flags.END_HEADERS,
            id,
            requestBlock('/api/x', 'a.test'),
          ),
          rstStream(id, CANCEL),
        );
      }
      socket.write(Buffer.concat(parts));
    });
    expect(closed).toBe(true);
    expect(goawayCode(parseFrames(bytes))).toBe(ENHANCE_YOUR_CALM);
    // Counted in /metrics (the primary pulls every worker's counts at each scrape) and logged.
    await waitUntil(
      'the rapid-reset close counted',
      async () => {
        const text = await (await fetch(`${dp.status}/metrics`)).text();
        const m = /^gatehouse_dp_http2_rapid_reset_closes_total (\d+)/m.exec(text);
        return m !== null && Number(m[1]) >= 1 && /^gatehouse_dp_http2_sessions_total [1-9]/m.test(text);
      },
      20_000,
    );
    expect(dp.proc.output).toContain('rapid reset');
    const s = await connect(plain);
    expect((await request(s, '/api/after', { apikey: 'alice-key' })).status).toBe(200);
    await close(s);
  });

  it('leaves HTTP/1.1 clients unchanged on both ports', async () => {
    for (const [port, tls] of [
      [dp.proxyPort, false],
      [tlsPort, true],
    ] as const) {
      const refused = await h1(port, '/api/x', tls);
      expect(refused.status).toBe(401);
      expect(refused.headers[':version']).toBe('1.1');
      const passed = await h1(port, '/api/x', tls, { apikey: 'alice-key' });
      expect(passed.status).toBe(200);
      expect(passed.headers.connection).toBe('close');
    }
  });
});
