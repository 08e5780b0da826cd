/**
 * gRPC proxied end to end through a real ProxyServer: a @grpc/grpc-js server behind `grpc://`
 * and `grpcs://` services, @grpc/grpc-js clients over h2c on the plain port. The service is
 * defined with raw Buffer serializers (no .proto needed): unary, server-streaming,
 * client-streaming, bidi, cancellation both ways, deadlines (the client's `grpc-timeout` and the
 * service's read_timeout), upstream statuses and trailers passed through, and the gateway's own
 * answers as gRPC statuses (no route, key-auth, upstream down).
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { completeConfig, createLogger, type GatehouseConfig, type Route } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/registry.js';
import { createCertificate } from '../../data-plane/src/tls/x509.js';
import { parseGrpcTimeout } from '../../data-plane/src/proxy/grpc.js';
import { AccessLog } from '../../data-plane/src/observe/access-log.js';
import { textLines } from '../../data-plane/src/observe/line-writer.js';
import { RequestMetrics } from '../../data-plane/src/observe/request-metrics.js';
import { MetricStore } from '../../data-plane/src/observe/metric-store.js';
import { consumer, plugin } from '../plugins/auth/helpers.js';
import { route, service } from './helpers.js';
import { target, upstream } from '../balancer/fixtures.js';
import { listenGrpc, rawMethod } from '../helpers/grpc-server.js';

const now = Math.floor(Date.now() / 1000);
/** What the real observers recorded: the access log's lines and the metrics' series. */
const logLines: string[] = [];
const metricsStore = new MetricStore();
const metrics = new RequestMetrics(metricsStore);
const method = rawMethod;

/** The test service under package `pkg`: the same methods, so key-auth can guard one package. */
function definition(pkg: string) {
  return {
    Unary: method(`/${pkg}/Unary`, false, false),
    ServerStream: method(`/${pkg}/ServerStream`, false, true),
    ClientStream: method(`/${pkg}/ClientStream`, true, false),
    Bidi: method(`/${pkg}/Bidi`, true, true),
    Fail: method(`/${pkg}/Fail`, false, false),
    Slow: method(`/${pkg}/Slow`, false, false),
    Endless: method(`/${pkg}/Endless`, false, true),
  } satisfies grpc.ServiceDefinition;
}

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** What the upstream saw (metadata of the last call, cancellations). */
const seen = { metadata: {} as Record<string, unknown>, cancelled: 0 };

const implementation: grpc.UntypedServiceImplementation = {
  Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
    seen.metadata = call.metadata.getMap();
    cb(null, Buffer.concat([Buffer.from('echo:'), call.request]));
  },
  ServerStream(call: grpc.ServerWritableStream<Buffer, Buffer>) {
    const n = Number(call.request.toString());
    for (let i = 0; i < n; i++) call.write(Buffer.from(`m${i}`));
    const trailer = new grpc.Metadata();
    trailer.set('x-count', String(n));
    call.end(trailer);
  },
  ClientStream(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
    const parts: string[] = [];
    call.on('data', (b: Buffer) => parts.push(b.toString()));
    call.on('end', () => cb(null, Buffer.from(parts.join(','))));
  },
  Bidi(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
    // Answers each message as it comes: a client that waits for the reply before sending the
    // next proves nothing is buffered on the way.
    call.on('data', (b: Buffer) => call.write(Buffer.from(b.toString().toUpperCase())));
    call.on('end', () => call.end());
  },
  Fail(_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
    const metadata = new grpc.Metadata();
    metadata.set('x-reason', 'no-such-thing');
    cb({ code: grpc.status.NOT_FOUND, details: 'thing 42 not found', metadata }, null);
  },
  Slow(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
    const t = setTimeout(() => cb(null, Buffer.from('late')), Number(call.request.toString()));
    call.on('cancelled', () => clearTimeout(t));
  },
  Endless(call: grpc.ServerWritableStream<Buffer, Buffer>) {
    const t = setInterval(() => call.write(Buffer.from('tick')), 5);
    call.on('cancelled', () => {
      seen.cancelled++;
      clearInterval(t);
    });
  },
};

async function startGrpcServer(
  credentials: grpc.ServerCredentials,
): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(definition('test.Echo'), implementation);
  server.addService(definition('test.Secure'), implementation);
  server.addService(definition('test.Tls'), implementation);
  server.addService(definition('test.Tight'), implementation);
  server.addService(definition('test.Limited'), implementation);
  server.addService(definition('test.HttpOnly'), implementation);
  server.addService(definition('test.Balanced'), implementation);
  const port = await listenGrpc(server, credentials);
  return { port, server };
}

function unary(
  client: Client,
  name: string,
  body: Buffer,
  md = new grpc.Metadata(),
  opts: grpc.CallOptions = {},
) {
  return new Promise<{ value: Buffer | null; err: grpc.ServiceError | null }>((resolve) => {
    client[name]!(body, md, opts, (err: grpc.ServiceError | null, value: Buffer | null) =>
      resolve({ value, err }),
    );
  });
}

function grpcRoute(id: string, serviceId: string, pkg: string): Route {
  return route(id, serviceId, { protocols: ['grpc', 'grpcs'], paths: [`/${pkg}/`], strip_path: false });
}

describe('gRPC through the proxy (grpc-js server and clients, h2c at the edge)', () => {
  const ca = createCertificate({ commonName: 'gRPC Test CA', isCa: true });
  const leaf = createCertificate({
    commonName: 'localhost',
    altNames: ['localhost', '127.0.0.1'],
    issuer: { commonName: 'gRPC Test CA', key: ca.key },
  });
  let plain: { port: number; server: grpc.Server };
  let secure: { port: number; server: grpc.Server };
  /** A raw HTTP/2 upstream that never answers (to see the proxy's own deadline). */
  let hang: http2.Http2Server;
  let hangPort = 0;
  let hangSeen: http2.IncomingHttpHeaders | null = null;
  /** A raw HTTP/2 upstream answering every call `ok`, keeping its sessions (to count them). */
  let count: http2.Http2Server;
  const countSessions: http2.ServerHttp2Session[] = [];
  let proxy: ProxyServer;
  let port = 0;
  const clients: grpc.Client[] = [];

  const client = (pkg: string): Client => {
    const Ctor = grpc.makeGenericClientConstructor(definition(pkg), pkg);
    const c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    plain = await startGrpcServer(grpc.ServerCredentials.createInsecure());
    secure = await startGrpcServer(
      grpc.ServerCredentials.createSsl(null, [
        { cert_chain: Buffer.from(leaf.cert), private_key: Buffer.from(leaf.key) },
      ]),
    );
    hang = http2.createServer();
    hang.on('stream', (_s, headers) => (hangSeen = headers));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    hangPort = (hang.address() as AddressInfo).port;
    count = http2.createServer();
    count.on('session', (session) => countSessions.push(session));
    count.on('stream', (stream, headers) => {
      if (headers[':path'] === '/test.Count/Reset') {
        // One message, then the upstream resets the stream mid-call.
        stream.on('error', () => undefined);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(Buffer.from([0, 0, 0, 0, 2, 0x68, 0x69]), () =>
          setTimeout(() => stream.destroy(new Error('upstream breaks the call')), 20),
        );
        return;
      }
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        // One gRPC message: uncompressed, length 2, "ok".
        stream.end(Buffer.from([0, 0, 0, 0, 2, 0x6f, 0x6b]));
      });
    });
    await new Promise<void>((resolve) => count.listen(0, '127.0.0.1', resolve));
    const countPort = (count.address() as AddressInfo).port;
    const config: Partial<GatehouseConfig> = {
      services: [
        service('grpc-svc', plain.port, { protocol: 'grpc' }),
        service('grpcs-svc', secure.port, {
          protocol: 'grpcs',
          tls_verify: true,
          ca_certificates: ['grpc-ca'],
        }),
        service('tight-svc', plain.port, { protocol: 'grpc', read_timeout: 150 }),
        service('hang-svc', hangPort, { protocol: 'grpc' }),
        service('count-svc', countPort, { protocol: 'grpc' }),
        // Balanced: a dead target beside the live one; connection failures are retried.
        service('balanced-svc', 80, { protocol: 'grpc', host: 'grpc-up', retries: 5 }),
        // Nothing listens on port 1.
        service('down-svc', 1, { protocol: 'grpc' }),
      ],
      ca_certificates: [
        {
          id: 'grpc-ca',
          cert: ca.cert,
          cert_digest: 'grpc-ca',
          tags: null,
          created_at: now,
          updated_at: now,
        },
      ],
      routes: [
        grpcRoute('echo', 'grpc-svc', 'test.Echo'),
        grpcRoute('secure', 'grpc-svc', 'test.Secure'),
        grpcRoute('tls', 'grpcs-svc', 'test.Tls'),
        grpcRoute('tight', 'tight-svc', 'test.Tight'),
        grpcRoute('hang', 'hang-svc', 'test.Hang'),
        grpcRoute('count', 'count-svc', 'test.Count'),
        grpcRoute('balanced', 'balanced-svc', 'test.Balanced'),
        grpcRoute('limited', 'grpc-svc', 'test.Limited'),
        grpcRoute('http-only', 'grpc-svc', 'test.HttpOnly'),
        grpcRoute('down', 'down-svc', 'test.Down'),
      ],
      upstreams: [upstream('up1', 'grpc-up')],
      targets: [target('t-dead', 'up1', '127.0.0.1:1'), target('t-live', 'up1', `127.0.0.1:${plain.port}`)],
      consumers: [consumer('alice')],
      keyauth_credentials: [
        { id: 'k1', consumer: { id: 'alice' }, key: 'alice-key', ttl: null, tags: null, created_at: now },
      ],
      plugins: [
        plugin('key-auth', {}, { route: { id: 'secure' } }),
        plugin('rate-limiting', { minute: 1, policy: 'local' }, { route: { id: 'limited' } }),
        // Configured for HTTP only: a gRPC call on its route does not run it.
        plugin('key-auth', {}, { route: { id: 'http-only' }, protocols: ['http', 'https'] }),
      ],
    };
    proxy = new ProxyServer({
      logger: createLogger('grpc-test', { level: 'silent' }),
      plugins: await loadPluginRegistry({}),
      observers: [
        metrics,
        new AccessLog(
          textLines((line) => logLines.push(line)),
          1,
        ),
      ],
    });
    proxy.apply(completeConfig(config));
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await proxy.close();
    plain.server.forceShutdown();
    secure.server.forceShutdown();
    hang.close();
    count.close();
    for (const session of countSessions) session.destroy();
  });

  it('proxies a unary call, with the metadata going upstream', async () => {
    const md = new grpc.Metadata();
    md.set('x-tenant', 't1');
    const r = await unary(client('test.Echo'), 'Unary', Buffer.from('hi'), md);
    expect(r.err).toBeNull();
    expect(r.value!.toString()).toBe('echo:hi');
    expect(seen.metadata['x-tenant']).toBe('t1');
    expect(seen.metadata['via']).toMatch(/gatehouse/);
  });

  it('streams a server-streaming call and passes its trailing metadata', async () => {
    const call = client('test.Echo').ServerStream!(Buffer.from('5')) as grpc.ClientReadableStream<Buffer>;
    const got: string[] = [];
    let trailers: grpc.Metadata | null = null;
    call.on('data', (b: Buffer) => got.push(b.toString()));
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
    await new Promise((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(trailers!.get('x-count')).toEqual(['5']);
  });

  it('streams a client-streaming call', async () => {
    const value = await new Promise<Buffer>((resolve, reject) => {
      const call = client('test.Echo').ClientStream!((err: grpc.ServiceError | null, v: Buffer) =>
        err ? reject(err) : resolve(v),
      ) as grpc.ClientWritableStream<Buffer>;
      for (const p of ['a', 'b', 'c']) call.write(Buffer.from(p));
      call.end();
    });
    expect(value.toString()).toBe('a,b,c');
  });

  it('streams a bidi call message by message (each reply awaited before the next send)', async () => {
    const call = client('test.Echo').Bidi!() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const replies: string[] = [];
    for (const word of ['one', 'two', 'three']) {
      const reply = new Promise<string>((resolve) => call.once('data', (b: Buffer) => resolve(b.toString())));
      call.write(Buffer.from(word));
      replies.push(await reply);
    }
    call.end();
    await new Promise((resolve) => call.on('status', resolve));
    expect(replies).toEqual(['ONE', 'TWO', 'THREE']);
  });

  it('passes an upstream error status, its message and its trailing metadata through', async () => {
    const r = await unary(client('test.Echo'), 'Fail', Buffer.from('x'));
    expect(r.err!.code).toBe(grpc.status.NOT_FOUND);
    expect(r.err!.details).toBe('thing 42 not found');
    expect(r.err!.metadata.get('x-reason')).toEqual(['no-such-thing']);
  });

  it('cancels the upstream call when the client cancels', async () => {
    const before = seen.cancelled;
    const call = client('test.Echo').Endless!(Buffer.from('')) as grpc.ClientReadableStream<Buffer>;
    await new Promise((resolve) => call.once('data', resolve));
    call.on('error', () => undefined);
    call.cancel();
    await expect.poll(() => seen.cancelled, { timeout: 5_000 }).toBe(before + 1);
  });

  it('ends a call at the client deadline (DEADLINE_EXCEEDED)', async () => {
    const r = await unary(client('test.Echo'), 'Slow', Buffer.from('3000'), new grpc.Metadata(), {
      deadline: Date.now() + 200,
    });
    expect(r.err!.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it("answers DEADLINE_EXCEEDED when the service's read_timeout passes (no client deadline)", async () => {
    const r = await unary(client('test.Tight'), 'Slow', Buffer.from('3000'));
    expect(r.err!.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(r.err!.details).toBe('The upstream server is timing out');
  });

  it("forwards grpc-timeout and ends the upstream wait at it (the gateway's own DEADLINE_EXCEEDED)", async () => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    const stream = s.request({
      ':method': 'POST',
      ':path': '/test.Hang/Call',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '150m',
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
    const answer: Record<string, unknown> = {};
    stream.on('response', (h) => {
      Object.assign(answer, h);
    });
    stream.on('trailers', (h: http2.IncomingHttpHeaders) => {
      Object.assign(answer, h);
    });
    stream.resume();
    await new Promise((resolve) => stream.on('close', resolve));
    s.close();
    expect(hangSeen!['grpc-timeout']).toBe('150m');
    expect(answer[':status']).toBe(200);
    expect(answer['content-type']).toBe('application/grpc');
    expect(answer['grpc-status']).toBe('4');
    expect(answer['grpc-message']).toBe('The upstream server is timing out');
  });

  it('answers an unknown method with no route as gRPC NOT_FOUND (Kong: 404 → 5), trailers-only', async () => {
    const r = await unary(client('test.Nowhere'), 'Unary', Buffer.from('x'));
    expect(r.err!.code).toBe(grpc.status.NOT_FOUND);
    expect(r.err!.details).toBe('no Route matched with those values');
    expect(r.err!.metadata.get('x-gatehouse-error-code')).toEqual(['GH_ERR_PROXY_NO_ROUTE']);
  });

  it('answers a call without its API key UNAUTHENTICATED (key-auth), and passes one with it', async () => {
    const c = client('test.Secure');
    const denied = await unary(c, 'Unary', Buffer.from('x'));
    expect(denied.err!.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(denied.err!.details).toBe('No API key found in request');
    const md = new grpc.Metadata();
    md.set('apikey', 'alice-key');
    const ok = await unary(c, 'Unary', Buffer.from('in'), md);
    expect(ok.err).toBeNull();
    expect(ok.value!.toString()).toBe('echo:in');
    expect(seen.metadata['x-consumer-username']).toBe('alice');
  });

  it("counts and logs a gateway answer to a gRPC call with the answer's HTTP status (as Kong), not the wire's 200", async () => {
    logLines.length = 0;
    const codes = metricsStore.routeCell('grpc-svc', 'secure').codes;
    const before = { 401: codes.get(401) ?? 0, 200: codes.get(200) ?? 0 };
    const denied = await unary(client('test.Secure'), 'Unary', Buffer.from('x'));
    expect(denied.err!.code).toBe(grpc.status.UNAUTHENTICATED);
    const nowhere = await unary(client('test.Nowhere'), 'Unary', Buffer.from('x'));
    expect(nowhere.err!.code).toBe(grpc.status.NOT_FOUND);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const statuses = logLines.map((line) => (JSON.parse(line) as { status: number }).status);
    expect(statuses).toEqual([401, 404]);
    expect((codes.get(401) ?? 0) - before[401]).toBe(1);
    expect((codes.get(200) ?? 0) - before[200]).toBe(0);
  });

  it('answers RESOURCE_EXHAUSTED over the rate limit (rate-limiting), with its headers as metadata', async () => {
    const c = client('test.Limited');
    const first = await unary(c, 'Unary', Buffer.from('1'));
    expect(first.err).toBeNull();
    const second = await unary(c, 'Unary', Buffer.from('2'));
    expect(second.err!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(second.err!.details).toBe('API rate limit exceeded');
    expect(second.err!.metadata.get('x-ratelimit-remaining-minute')).toEqual(['0']);
  });

  it('runs a plugin on gRPC calls only when its protocols include grpc', async () => {
    const r = await unary(client('test.HttpOnly'), 'Unary', Buffer.from('free'));
    expect(r.err).toBeNull();
    expect(r.value!.toString()).toBe('echo:free');
  });

  it("balances over an upstream's targets, retrying a call whose target refused the connection", async () => {
    const c = client('test.Balanced');
    for (let i = 0; i < 4; i++) {
      const r = await unary(c, 'Unary', Buffer.from(`b${i}`));
      expect(r.err).toBeNull();
      expect(r.value!.toString()).toBe(`echo:b${i}`);
    }
  });

  it('ends a call whose upstream stream is reset mid-way with UNAVAILABLE in the trailers', async () => {
    const Ctor = grpc.makeGenericClientConstructor(
      { Reset: method('/test.Count/Reset', false, true) },
      'test.Count',
    );
    const c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
    clients.push(c);
    const call = c.Reset!(Buffer.from('')) as grpc.ClientReadableStream<Buffer>;
    const got: string[] = [];
    call.on('data', (b: Buffer) => got.push(b.toString()));
    const err = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    expect(got).toEqual(['hi']);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe('An invalid response was received from the upstream server');
  });

  it('answers UNAVAILABLE when the upstream cannot be reached', async () => {
    const r = await unary(client('test.Down'), 'Unary', Buffer.from('x'));
    expect(r.err!.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err!.details).toBe('An invalid response was received from the upstream server');
  });

  it('reaches a grpcs service over TLS, verifying it with the service CA', async () => {
    const c = client('test.Tls');
    const r = await unary(c, 'Unary', Buffer.from('tls'));
    expect(r.err).toBeNull();
    expect(r.value!.toString()).toBe('echo:tls');
    const call = c.ServerStream!(Buffer.from('3')) as grpc.ClientReadableStream<Buffer>;
    const got: string[] = [];
    call.on('data', (b: Buffer) => got.push(b.toString()));
    await new Promise((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(got).toEqual(['m0', 'm1', 'm2']);
  });

  it('reuses one upstream HTTP/2 session for concurrent calls, and opens another after GOAWAY', async () => {
    const c = client('test.Count');
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => unary(c, 'Unary', Buffer.from(String(i)))),
    );
    expect(all.every((r) => r.err === null)).toBe(true);
    expect(all.map((r) => r.value!.toString())).toEqual(Array.from({ length: 20 }, () => 'ok'));
    expect(countSessions.length).toBe(1);
    // The upstream says GOAWAY: the next call goes on a new session.
    countSessions[0]!.goaway();
    await expect.poll(async () => (await unary(c, 'Unary', Buffer.from('x'))).err).toBeNull();
    expect(countSessions.length).toBe(2);
  });
});

describe('grpc-timeout parsing', () => {
  it('never throws and stays bounded on hostile values', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^\d{0,12}[HMSmunx]?$/)), (v) => {
        const ms = parseGrpcTimeout(v);
        if (ms === null) return;
        expect(Number.isFinite(ms)).toBe(true);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(99_999_999 * 3_600_000);
      }),
    );
  });

  it('reads the units and refuses what the grammar does not allow', () => {
    expect(parseGrpcTimeout('150m')).toBe(150);
    expect(parseGrpcTimeout('2S')).toBe(2_000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('1M')).toBe(60_000);
    expect(parseGrpcTimeout('1500u')).toBe(2);
    expect(parseGrpcTimeout('1n')).toBe(1);
    expect(parseGrpcTimeout('0m')).toBe(0);
    expect(parseGrpcTimeout('123456789S')).toBeNull();
    expect(parseGrpcTimeout('-1S')).toBeNull();
    expect(parseGrpcTimeout('1.5S')).toBeNull();
    expect(parseGrpcTimeout('10')).toBeNull();
    expect(parseGrpcTimeout('S')).toBeNull();
    expect(parseGrpcTimeout(undefined)).toBeNull();
  });
});
