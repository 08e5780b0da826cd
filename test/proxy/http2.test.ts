/**
 * HTTP/2 at the edge through a real ProxyServer (bundled plugins, real upstream, node:http2
 * clients): h2c with prior knowledge beside HTTP/1.1 on the plain port, h2 by ALPN beside
 * http/1.1 on the TLS port, the request path's HTTP/2 differences (`:authority` as Host, split
 * cookies, bodies without Content-Length, no connection-specific response header, error table,
 * key-auth, observers), the settings that turn it off, the preface sniff's edge cases, and the
 * attack limits with raw frames: rapid reset and CONTINUATION flood close the session, the proxy
 * keeps serving.
 */
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { completeConfig, createLogger, type GatehouseConfig } from '@gatehouse/shared';
import { ProxyServer, type ProxyServerOptions } from '../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/registry.js';
import type { ProxyRequest } from '../../data-plane/src/proxy/request.js';
import { PREMATURE_RESET_LIMIT } from '../../data-plane/src/proxy/http2-edge.js';
import { consumer, plugin } from '../plugins/auth/helpers.js';
import { closeSession, connectH2, h2Request, type H2Reply } from '../helpers/h2-client.js';
import {
  call,
  rawExchange,
  route,
  service,
  startUpstream,
  type SeenRequest,
  type Upstream,
} from './helpers.js';
import {
  CANCEL,
  ENHANCE_YOUR_CALM,
  Flags,
  FrameType,
  PREFACE,
  clientStart,
  field,
  frame,
  goawayCode,
  parseFrames,
  rawSession,
  requestBlock,
  rstStream,
} from './h2-frames.js';

const now = Math.floor(Date.now() / 1000);

describe('HTTP/2 at the edge of the proxy (real ProxyServer, node:http2 clients)', () => {
  let upstream: Upstream;
  let proxy: ProxyServer;
  let port: number;
  let tlsPort: number;
  const ended: ProxyRequest[] = [];
  let counted: Upstream;
  let countedHits = 0;

  const base = (): Partial<GatehouseConfig> => ({
    services: [service('svc', upstream.port), service('counted', counted.port)],
    routes: [
      route('open', 'svc', { paths: ['/open'], strip_path: false }),
      route('keep', 'svc', { paths: ['/keep'], strip_path: false, preserve_host: true }),
      route('rr', 'counted', { paths: ['/rr'], strip_path: false }),
      route('auth', 'svc', { paths: ['/auth'], strip_path: false }),
    ],
    consumers: [consumer('alice')],
    keyauth_credentials: [
      { id: 'k1', consumer: { id: 'alice' }, key: 'alice-key', ttl: null, tags: null, created_at: now },
    ],
    plugins: [plugin('key-auth', {}, { route: { id: 'auth' } })],
  });

  async function start(
    options: Partial<ProxyServerOptions> = {},
  ): Promise<{ proxy: ProxyServer; port: number; tlsPort: number }> {
    const p = new ProxyServer({
      logger: createLogger('h2-test', { level: 'silent' }),
      plugins: await loadPluginRegistry({}),
      observers: [{ requestEnded: (r) => ended.push(r) }],
      ...options,
    });
    p.apply(completeConfig(base()));
    await p.listen(0, '127.0.0.1');
    await p.listenTls(0, '127.0.0.1');
    return {
      proxy: p,
      port: (p.server.address() as AddressInfo).port,
      tlsPort: (p.tlsServer!.address() as AddressInfo).port,
    };
  }

  beforeAll(async () => {
    upstream = await startUpstream();
    counted = await startUpstream((_req, res) => {
      countedHits++;
      res.end('ok');
    });
    ({ proxy, port, tlsPort } = await start());
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
    await counted.close();
  });

  it('serves h2c with prior knowledge on the plain port: Host from :authority, no pseudo-header upstream', async () => {
    const s = await connectH2(`http://127.0.0.1:${port}`);
    const r = await h2Request(s, '/keep/a?x=1', { cookie: ['a=1', 'b=2'], 'x-custom': 'yes' });
    await closeSession(s);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as SeenRequest;
    expect(seen.url).toBe('/keep/a?x=1');
    // preserve_host: the client's :authority is the Host sent upstream.
    expect(seen.headers.host).toBe(`127.0.0.1:${port}`);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-custom']).toBe('yes');
    // Split cookie fields are one Cookie header upstream (RFC 9113 §8.2.3).
    expect(
      seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'cookie'),
    ).toHaveLength(1);
    expect(seen.headers.cookie).toBe('a=1; b=2');
    expect(seen.rawHeaders.some((n, i) => i % 2 === 0 && n.startsWith(':'))).toBe(false);
    expect(r.headers.via).toMatch(/gatehouse/);
    expect(r.headers.connection).toBeUndefined();
  });

  it('negotiates h2 by ALPN on the TLS port and serves it (X-Forwarded-Proto https)', async () => {
    const s = await connectH2(`https://127.0.0.1:${tlsPort}`);
    expect(s.alpnProtocol).toBe('h2');
    const r = await h2Request(s, '/open/tls');
    await closeSession(s);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as SeenRequest;
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-port']).toBe(String(tlsPort));
  });

  it('forwards a request body sent without Content-Length (chunked upstream)', async () => {
    const s = await connectH2(`http://127.0.0.1:${port}`);
    const r = await h2Request(s, '/open/post', { ':method': 'POST' }, 'x'.repeat(5000));
    await closeSession(s);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as SeenRequest).bodyLength).toBe(5000);
  });

  it("answers the error table's 404 over h2 with Kong's JSON body and no Connection header", async () => {
    const s = await connectH2(`http://127.0.0.1:${port}`);
    const r = await h2Request(s, '/nowhere');
    await closeSession(s);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toEqual({ message: 'no Route matched with those values' });
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_ROUTE');
    expect(r.headers.connection).toBeUndefined();
  });

  it('answers the 400s that close an HTTP/1.1 connection on the stream only (bad path, TRACE)', async () => {
    const s = await connectH2(`http://127.0.0.1:${port}`);
    const bad = await h2Request(s, '/open/..%2Fadmin');
    expect(bad.status).toBe(400);
    expect(bad.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_BAD_PATH');
    const trace = await h2Request(s, '/open/x', { ':method': 'TRACE' });
    expect(trace.status).toBe(405);
    // The session is still usable.
    expect((await h2Request(s, '/open/after')).status).toBe(200);
    await closeSession(s);
  });

  it('runs key-auth over h2: 401 without the key, 200 with it', async () => {
    const s = await connectH2(`https://127.0.0.1:${tlsPort}`);
    const refused = await h2Request(s, '/auth/x');
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ message: 'No API key found in request' });
    const ok = await h2Request(s, '/auth/x', { apikey: 'alice-key' });
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as SeenRequest).headers['x-consumer-username']).toBe('alice');
    await closeSession(s);
  });

  it('serves many concurrent streams on one session, each observed once', async () => {
    ended.length = 0;
    const s = await connectH2(`http://127.0.0.1:${port}`);
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => h2Request(s, `/open/${i}`)));
    await closeSession(s);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(replies.map((r) => (JSON.parse(r.body) as SeenRequest).url)).toEqual(
      Array.from({ length: 300 }, (_, i) => `/open/${i}`),
    );
    await new Promise((r) => setTimeout(r, 50));
    const mine = ended.filter((e) => e.stream !== null && e.path.startsWith('/open/'));
    expect(mine).toHaveLength(300);
    expect(mine.every((e) => e.res.statusCode === 200 && e.bytesOut > 0 && e.bytesIn > 0)).toBe(true);
  });

  it('leaves HTTP/1.1 unchanged on both ports (keep-alive, ALPN http/1.1)', async () => {
    const plain = await call(port, '/open/h1', { headers: { host: 'example.test' } });
    expect(plain.status).toBe(200);
    expect(plain.json().headers.host).toBe(`127.0.0.1:${upstream.port}`);
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        await new Promise<number>((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port: tlsPort, path: '/open/h1s', agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            })
            .on('error', reject);
        }),
      );
    }
    agent.destroy();
    expect(statuses).toEqual([200, 200, 200]);
    const raw = await rawExchange(port, 'GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n', /\}$/);
    expect(raw).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('proxies an HTTP/1.1 `Upgrade: h2c` request as plain HTTP, without switching', async () => {
    const r = await call(port, '/open/up', {
      headers: {
        connection: 'Upgrade, HTTP2-Settings',
        upgrade: 'h2c',
        'http2-settings': 'AAMAAABkAAQAAP__',
      },
    });
    expect(r.status).toBe(200);
    expect(r.json().headers.upgrade).toBeUndefined();
  });

  it('answers 400 to a connection cut inside the preface, 408 to one that stops inside it, closes a silent session', async () => {
    const cut = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.end(PREFACE.subarray(0, 10)));
      let data = '';
      s.on('data', (c: Buffer) => (data += c.toString('latin1')));
      s.on('close', () => resolve(data));
    });
    expect(cut).toMatch(/^HTTP\/1\.1 400 /);
    const short = await start({ clientLimits: { headerTimeoutMs: 200, requestTimeoutMs: 1000 } });
    try {
      const slow = await rawExchange(short.port, PREFACE.subarray(0, 16), undefined, 10_000);
      expect(slow).toMatch(/^HTTP\/1\.1 408 /);
      expect(slow).toContain('GH_ERR_PROXY_REQUEST_TIMEOUT');
      const silent = await rawExchange(short.port, Buffer.alloc(0), undefined, 10_000);
      expect(silent).toMatch(/^HTTP\/1\.1 408 /);
      // An HTTP/2 session that sends no request head within the header timeout is closed.
      const idle = await rawSession(short.port, (sock) => sock.write(clientStart()), 10_000);
      expect(idle.closed).toBe(true);
      expect(short.proxy.h2!.counts.headerTimeouts).toBe(1);
    } finally {
      await short.proxy.close();
    }
  });

  it('closes, at shutdown, connections that have not sent a byte yet, and GOAWAYs open sessions', async () => {
    const p = await start();
    const silent = net.connect(p.port, '127.0.0.1');
    await new Promise((r) => silent.once('connect', r));
    const silentClosed = new Promise((r) => silent.once('close', r));
    const s = await connectH2(`http://127.0.0.1:${p.port}`);
    expect((await h2Request(s, '/open/x')).status).toBe(200);
    const goaway = new Promise((r) => s.once('goaway', r));
    await p.proxy.close();
    await silentClosed;
    await goaway;
    s.destroy();
  });

  it('turns h2 off per listener: the preface is HTTP/1.1 garbage (400), ALPN offers http/1.1 only', async () => {
    const off = await start({ http2: { tls: false, cleartext: false } });
    try {
      const raw = await rawExchange(off.port, clientStart(), undefined, 5_000);
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      const alpn = await new Promise<string | false | null>((resolve, reject) => {
        const s = tls.connect(
          {
            host: '127.0.0.1',
            port: off.tlsPort,
            ALPNProtocols: ['h2', 'http/1.1'],
            rejectUnauthorized: false,
          },
          () => {
            resolve(s.alpnProtocol);
            s.destroy();
          },
        );
        s.on('error', reject);
      });
      expect(alpn).toBe('http/1.1');
      expect(off.proxy.h2).toBeNull();
    } finally {
      await off.proxy.close();
    }
  });

  it('times out an idle body (408 on the stream), answers 100-continue and CONNECT, closes an idle session', async () => {
    const short = await start({
      clientLimits: {
        keepAliveTimeoutMs: 300,
        bodyTimeoutMs: 300,
        headerTimeoutMs: 300,
        requestTimeoutMs: 1000,
      },
    });
    try {
      const s = await connectH2(`http://127.0.0.1:${short.port}`);
      // A body that never comes: 408 from the error table, on its stream only.
      const stalled = await new Promise<H2Reply>((resolve, reject) => {
        const st = s.request({ ':path': '/open/slow', ':method': 'POST' }, { endStream: false });
        let status = 0;
        let body = '';
        st.on('response', (h) => (status = Number(h[':status'])));
        st.setEncoding('utf8');
        st.on('data', (c: string) => (body += c));
        st.on('end', () => resolve({ status, headers: {}, body }));
        st.on('error', reject);
        st.write('x');
      });
      expect(stalled.status).toBe(408);
      expect(JSON.parse(stalled.body)).toEqual({ message: 'Request timeout' });
      // Expect: 100-continue: the interim answer, then the body goes upstream.
      const continued = await new Promise<{ sawContinue: boolean; status: number }>((resolve, reject) => {
        const st = s.request(
          { ':path': '/open/c', ':method': 'POST', expect: '100-continue' },
          { endStream: false },
        );
        let sawContinue = false;
        st.on('continue', () => {
          sawContinue = true;
          st.end('body');
        });
        st.on('response', (h) => {
          st.resume();
          st.on('end', () => resolve({ sawContinue, status: Number(h[':status']) }));
        });
        st.on('error', reject);
      });
      expect(continued).toEqual({ sawContinue: true, status: 200 });
      const connect = await h2Request(s, '', {
        ':method': 'CONNECT',
        ':authority': 'a.test:443',
        ':path': undefined,
      });
      expect(connect.status).toBe(405);
      // No stream open for the keep-alive timeout: the proxy closes the session.
      await new Promise<void>((resolve) => s.once('close', () => resolve()));
      expect(short.proxy.h2!.openSessions).toBe(0);
    } finally {
      await short.proxy.close();
    }
  });

  it('answers a GET with HEADERS and DATA only (no RST_STREAM after a complete exchange)', async () => {
    const { bytes } = await rawSession(
      port,
      (socket) =>
        socket.write(
          Buffer.concat([
            clientStart(),
            frame(FrameType.SETTINGS, Flags.ACK, 0),
            frame(
              FrameType.HEADERS,
              Flags.END_STREAM | Flags.END_HEADERS,
              1,
              requestBlock('/open/raw', 'a.test'),
            ),
          ]),
        ),
      // Everything the proxy sends on the stream within a second (the session stays open).
      1_000,
    );
    const mine = parseFrames(bytes).filter((f) => f.streamId === 1);
    expect(mine.map((f) => f.type)).toEqual(expect.arrayContaining([FrameType.HEADERS, 0 /* DATA */]));
    expect(mine.some((f) => f.type === FrameType.RST_STREAM)).toBe(false);
  });

  it('closes a rapid-reset session with GOAWAY(ENHANCE_YOUR_CALM), bounded work, and keeps serving', async () => {
    countedHits = 0;
    // Under nghttp2's own reset-rate limit (a burst of 1000, then GOAWAY(INTERNAL_ERROR)), so the
    // proxy's guard is what closes it.
    const streams = 600;
    const { bytes, closed } = await rawSession(port, (socket) => {
      const parts: Buffer[] = [clientStart()];
      for (let i = 0; i < streams; i++) {
        const id = 2 * i + 1;
        parts.push(
          frame(FrameType.HEADERS, Flags.END_STREAM | Flags.END_HEADERS, id, requestBlock('/rr/x', 'a.test')),
          rstStream(id, CANCEL),
        );
      }
      socket.write(Buffer.concat(parts));
    });
    expect(closed).toBe(true);
    expect(goawayCode(parseFrames(bytes))).toBe(ENHANCE_YOUR_CALM);
    expect(proxy.h2!.counts.rapidResetCloses).toBeGreaterThanOrEqual(1);
    // A stream reset in the packets that opened it is never served: nothing reached the upstream.
    expect(countedHits).toBeLessThan(PREMATURE_RESET_LIMIT);
    const s = await connectH2(`http://127.0.0.1:${port}`);
    expect((await h2Request(s, '/open/still')).status).toBe(200);
    await closeSession(s);
  });

  it('does not count streams answered before the reset: a client that cancels after its answers is served', async () => {
    const s = await connectH2(`http://127.0.0.1:${port}`);
    for (let i = 0; i < PREMATURE_RESET_LIMIT + 20; i++)
      expect((await h2Request(s, `/open/n${i}`)).status).toBe(200);
    expect(s.closed || s.destroyed).toBe(false);
    await closeSession(s);
  });

  it('cuts off a CONTINUATION flood (no END_HEADERS) by the header limits and keeps serving', async () => {
    const big = field('x-flood', 'v'.repeat(4000));
    const streamsBefore = proxy.h2!.counts.streams;
    const { bytes, closed } = await rawSession(port, (socket) => {
      socket.write(
        Buffer.concat([clientStart(), frame(FrameType.HEADERS, 0, 1, requestBlock('/open/c', 'a.test'))]),
      );
      let sent = 0;
      const pump = (): void => {
        while (sent < 5_000 && !socket.destroyed) {
          sent++;
          if (!socket.write(frame(FrameType.CONTINUATION, 0, 1, big))) {
            socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    expect(closed).toBe(true);
    const frames = parseFrames(bytes);
    // nghttp2 (1.61, node ≥ 20.12) bounds CONTINUATION frames per header block: GOAWAY, closed,
    // the request never reached the proxy.
    expect(goawayCode(frames)).not.toBeNull();
    expect(frames.some((f) => f.type === FrameType.HEADERS)).toBe(false);
    expect(proxy.h2!.counts.streams).toBe(streamsBefore);
    const s = await connectH2(`http://127.0.0.1:${port}`);
    expect((await h2Request(s, '/open/still')).status).toBe(200);
    await closeSession(s);
  });

  it('answers 431 to a header list over --http2-max-header-list-size; the session goes on', async () => {
    const s = await connectH2(`http://127.0.0.1:${port}`);
    const before = proxy.h2!.counts.streams;
    const r = await h2Request(s, '/open/big', { 'x-big': 'v'.repeat(40 * 1024) });
    expect(r.status).toBe(431);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_HEADERS_TOO_LARGE');
    expect(JSON.parse(r.body)).toEqual({ message: 'Request header fields too large' });
    // Once the client acknowledged the SETTINGS, node's nghttp2 glue refuses it itself.
    const again = await h2Request(s, '/open/big', { 'x-big': 'v'.repeat(40 * 1024) }).then(
      (x) => x.status,
      (e: Error) => e.message,
    );
    expect(again).not.toBe(200);
    expect(proxy.h2!.counts.streams - before).toBeLessThanOrEqual(2);
    expect((await h2Request(s, '/open/after-big')).status).toBe(200);
    await closeSession(s);
  });

  it('never crashes nor hangs on hostile first bytes on the plain port', async () => {
    const short = await start({ clientLimits: { headerTimeoutMs: 300, requestTimeoutMs: 1000 } });
    try {
      const prefixes = fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc
          .tuple(fc.integer({ min: 1, max: PREFACE.length }), fc.uint8Array({ maxLength: 40 }))
          .map(([n, tail]) => Buffer.concat([PREFACE.subarray(0, n), Buffer.from(tail)])),
        fc.constantFrom(
          Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'),
          Buffer.from('PRI * HTTP/1.1\r\n\r\n'),
          Buffer.concat([PREFACE, Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]),
        ),
      );
      await fc.assert(
        fc.asyncProperty(prefixes, async (first) => {
          // An HTTP/1.1 answer (its head), or an HTTP/2 session's SETTINGS frame, settles it.
          const isH1 = (b: Buffer): boolean => /^HTTP\/1\.1 \d{3} [^]*\r\n\r\n/.test(b.toString('latin1'));
          const isH2 = (b: Buffer): boolean => b.length >= 9 && b[3] === FrameType.SETTINGS;
          const { bytes, closed } = await rawSession(
            short.port,
            (s) => s.write(Buffer.from(first)),
            8_000,
            (b) => isH1(b) || isH2(b),
          );
          const h1 = isH1(bytes);
          const h2 = isH2(bytes);
          expect(closed || h1 || h2).toBe(true);
          expect(h1 || h2 || bytes.length === 0).toBe(true);
        }),
        { numRuns: 40 },
      );
      // Still serving both protocols.
      expect((await call(short.port, '/open/x')).status).toBe(200);
    } finally {
      await short.proxy.close();
    }
  }, 120_000);
});
