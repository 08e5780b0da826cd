/**
 * gRPC-Web through a real ProxyServer (the `grpc-web` plugin) against a raw HTTP/2 upstream that
 * shows what it received and answers as a gRPC server does: the translated request (path,
 * content-type, the decoded text body), gRPC-Web over an HTTP/2 edge (trailers in the body, none
 * as HTTP trailers), a trailers-only answer, an upstream that resets mid-stream (the messages that
 * passed, then UNAVAILABLE in a trailer frame), pass_stripped_path, the request size bound, and a
 * property over hostile bodies: never a 5xx, never a crash.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { completeConfig, createLogger } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { loadPluginRegistry } from '../../data-plane/src/plugins/registry.js';
import { errorResponseOf, ProxyErrorCode } from '../../data-plane/src/proxy/errors.js';
import { MAX_REQUEST_BYTES } from '../../data-plane/src/plugins/grpc-web/plugin.js';
import { AccessLog } from '../../data-plane/src/observe/access-log.js';
import { textLines } from '../../data-plane/src/observe/line-writer.js';
import { plugin } from '../plugins/auth/helpers.js';
import { closeSession, connectH2 } from '../helpers/h2-client.js';
import { decodeText, frame, parseFrames } from '../helpers/grpc-web-wire.js';
import { route, service } from './helpers.js';

/** The access log's lines (the real observer). */
const logLines: string[] = [];

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

describe('plugin grpc-web through a real ProxyServer (raw HTTP/2 upstream)', () => {
  let upstream: http2.Http2Server;
  const sessions: http2.ServerHttp2Session[] = [];
  let seen: { path: string; contentType: string; te: string; body: Buffer } | null = null;
  let proxy: ProxyServer;
  let port = 0;

  function post(path: string, contentType: string, body: Buffer | string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': contentType } },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  beforeAll(async () => {
    upstream = http2.createServer();
    upstream.on('session', (s) => sessions.push(s));
    upstream.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      stream.on('error', () => undefined);
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        seen = {
          path,
          contentType: String(headers['content-type']),
          te: String(headers['te']),
          body: Buffer.concat(parts),
        };
        if (path.endsWith('/TrailersOnly')) {
          stream.respond(
            {
              ':status': 200,
              'content-type': 'application/grpc',
              'grpc-status': '7',
              'grpc-message': 'denied',
            },
            { endStream: true },
          );
          return;
        }
        if (path.endsWith('/Reset')) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
          stream.write(frame(Buffer.from('hi')), () =>
            setTimeout(() => stream.destroy(new Error('breaks')), 20),
          );
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-t': 'yes' }));
        stream.write(frame(Buffer.from('one')));
        stream.end(frame(Buffer.from('two')));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    proxy = new ProxyServer({
      logger: createLogger('grpc-web-test', { level: 'silent' }),
      plugins: await loadPluginRegistry({}),
      observers: [
        new AccessLog(
          textLines((line) => logLines.push(line)),
          1,
        ),
      ],
    });
    proxy.apply(
      completeConfig({
        services: [
          service('svc', upstreamPort, { protocol: 'grpc' }),
          // Nothing listens on port 1.
          service('down', 1, { protocol: 'grpc' }),
        ],
        routes: [
          route('web', 'svc', { protocols: ['http', 'https'], paths: ['/web.T/'], strip_path: false }),
          route('stripped', 'svc', { protocols: ['http', 'https'], paths: ['/api'], strip_path: true }),
          route('down', 'down', { protocols: ['http', 'https'], paths: ['/down.T/'], strip_path: false }),
        ],
        plugins: [
          plugin('grpc-web', { allow_origin_header: '*' }, { route: { id: 'web' } }),
          plugin('grpc-web', { allow_origin_header: '*' }, { route: { id: 'down' } }),
          plugin(
            'grpc-web',
            { allow_origin_header: '*', pass_stripped_path: true },
            { route: { id: 'stripped' } },
          ),
        ],
      }),
    );
    await proxy.listen(0, '127.0.0.1');
    port = (proxy.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await proxy.close();
    for (const s of sessions) s.destroy();
    upstream.close();
  });

  it('sends the upstream a gRPC call: the path, application/grpc, TE trailers and the decoded text body', async () => {
    const msg = frame(Buffer.from('payload'));
    const text = msg.subarray(0, 2).toString('base64') + msg.subarray(2).toString('base64');
    const r = await post('/web.T/Ok', 'application/grpc-web-text+proto', text);
    expect(seen).toEqual({ path: '/web.T/Ok', contentType: 'application/grpc', te: 'trailers', body: msg });
    expect(r.headers['content-type']).toBe('application/grpc-web-text+proto');
    expect(r.headers['content-length']).toBeUndefined();
    const { messages, block } = parseFrames(decodeText(r.body.toString('latin1')));
    expect(messages).toEqual(['one', 'two']);
    expect(block).toBe('grpc-status:0\r\nx-t:yes\r\n');
  });

  it('passes the stripped path upstream with pass_stripped_path', async () => {
    await post('/api/web.T/Ok', 'application/grpc-web', frame(Buffer.from('x')));
    expect(seen!.path).toBe('/web.T/Ok');
  });

  it('ends a trailers-only answer with its status in the trailer frame', async () => {
    const r = await post('/web.T/TrailersOnly', 'application/grpc-web', frame(Buffer.from('x')));
    expect(r.status).toBe(200);
    const got = parseFrames(r.body);
    expect(got.messages).toEqual([]);
    // The upstream's other head fields (its date) are trailing metadata of a trailers-only answer.
    expect(got.block).toMatch(/^grpc-status:7\r\ngrpc-message:denied\r\n/);
  });

  it('ends a call whose upstream resets mid-stream with UNAVAILABLE after the messages that passed', async () => {
    for (const type of ['application/grpc-web', 'application/grpc-web-text']) {
      const text = type.endsWith('text');
      const body = frame(Buffer.from('x'));
      const r = await post('/web.T/Reset', type, text ? body.toString('base64') : body);
      const got = parseFrames(text ? decodeText(r.body.toString('latin1')) : r.body);
      expect(got.messages, type).toEqual(['hi']);
      expect(got.block, type).toMatch(/^grpc-status:14\r\n/);
    }
  });

  it('answers gRPC-Web over an HTTP/2 edge with the trailers in the body, none as HTTP trailers', async () => {
    const session = await connectH2(`http://127.0.0.1:${port}`);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/web.T/Ok',
        'content-type': 'application/grpc-web+proto',
      });
      let httpTrailers: http2.IncomingHttpHeaders | null = null;
      stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
        httpTrailers = t;
      });
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.end(frame(Buffer.from('h2')));
      await new Promise<void>((resolve, reject) => {
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      expect(parseFrames(Buffer.concat(parts))).toMatchObject({
        messages: ['one', 'two'],
        block: 'grpc-status:0\r\nx-t:yes\r\n',
        whole: true,
      });
      expect(httpTrailers).toBeNull();
    } finally {
      await closeSession(session);
    }
  });

  it("answers the gateway's own errors in gRPC-Web form: no route, upstream down", async () => {
    logLines.length = 0;
    for (const [path, code, status] of [
      ['/nowhere.T/M', ProxyErrorCode.NO_ROUTE, '5'],
      ['/down.T/M', ProxyErrorCode.UPSTREAM_UNAVAILABLE, '14'],
    ] as const) {
      const r = await post(path, 'application/grpc-web-text', frame('x').toString('base64'));
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe('application/grpc-web-text+proto');
      expect(r.headers['grpc-status'], path).toBe(status);
      expect(r.headers['grpc-message'], path).toBe(errorResponseOf(code).message);
      expect(r.headers['x-gatehouse-error-code'], path).toBe(code);
      expect(r.body.length, path).toBe(0);
    }
    // Logged (and counted) with the answers' HTTP statuses, not the wire's 200, as gRPC answers are.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logLines.map((line) => (JSON.parse(line) as { status: number }).status)).toEqual([404, 502]);
  });

  it('refuses a body over the size bound in gRPC-Web form, without calling the upstream', async () => {
    seen = null;
    const r = await post('/web.T/Ok', 'application/grpc-web', Buffer.alloc(MAX_REQUEST_BYTES + 1));
    expect(r.status).toBe(200);
    expect(r.headers['grpc-message']).toBe(errorResponseOf(ProxyErrorCode.BODY_TOO_LARGE).message);
    expect(seen).toBeNull();
  });

  it('never answers hostile gRPC-Web bodies with a 5xx or a crash (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('application/grpc-web', 'application/grpc-web-text', 'application/grpc-web+json'),
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
          fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)),
          fc
            .tuple(fc.integer({ min: 0, max: 255 }), fc.nat(), fc.uint8Array({ maxLength: 16 }))
            .map(([flag, len, rest]) => {
              const head = Buffer.alloc(5);
              head[0] = flag;
              head.writeUInt32BE(len >>> 0, 1);
              return Buffer.concat([head, Buffer.from(rest)]);
            }),
        ),
        async (type, body) => {
          const r = await post('/web.T/Ok', type, body);
          expect(r.status).toBe(200);
          const status = r.headers['grpc-status'];
          // Refused (INVALID_ARGUMENT, in the headers) or a well-formed call answered by the upstream.
          if (status !== undefined) expect(status).toBe('3');
          else expect(r.body.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
