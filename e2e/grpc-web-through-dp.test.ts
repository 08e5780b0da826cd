/**
 * gRPC-Web through a real CP and DP (issue 16, the `grpc-web` plugin): a @grpc/grpc-js server
 * behind a `grpc://` service, an http/https route with key-auth in front of grpc-web, configured
 * through the Admin API. The calls are built here from the protocol (grpc/doc/PROTOCOL-WEB.md):
 * length-prefixed frames over HTTP/1.1, binary and base64 text (the text request sent as several
 * separately padded base64 chunks); the answers are read the same way, the trailer frame (flag
 * 0x80) parsed as an HTTP/1 header block. Unary, server streaming that arrives while the server is
 * still sending, an error status with a custom trailer, a grpc-timeout deadline, UNAUTHENTICATED
 * in gRPC-Web form without a key, a preflight, and hostile bodies answered 400 / INVALID_ARGUMENT.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import {
  adminJson,
  freePort,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';
import { decodeText, frame, parseFrames } from '../test/helpers/grpc-web-wire.js';
import { rawMethod } from '../test/helpers/grpc-server.js';

const method = (path: string, responseStream: boolean) => rawMethod(path, false, responseStream);
const DEFINITION = {
  Unary: method('/e2e.Greeter/Unary', false),
  List: method('/e2e.Greeter/List', true),
  Fail: method('/e2e.Greeter/Fail', false),
  Slow: method('/e2e.Greeter/Slow', false),
} satisfies grpc.ServiceDefinition;

const ORIGIN = 'https://app.example';

interface WebAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  messages: string[];
  trailers: Record<string, string>;
  /** How many body chunks arrived. */
  chunks: number;
}

describe('gRPC-Web through a real CP and DP, key-auth in front (binary and text)', () => {
  let cp: CpHandle;
  let dp: DpHandle;
  let server: grpc.Server;
  let tlsPort = 0;
  /** Resolved by the test once the first streamed message reached it. */
  let releaseStream: () => void = () => undefined;

  /**
   * A gRPC-Web call over HTTP/1.1 (`tls`: over HTTPS, the DP's self-signed certificate not
   * verified); `onFirstChunk` runs when the first body bytes arrive.
   */
  function call(
    path: string,
    parts: Buffer[],
    opts: {
      text?: boolean;
      key?: boolean;
      tls?: boolean;
      headers?: Record<string, string>;
      onFirstChunk?: () => void;
    } = {},
  ): Promise<WebAnswer> {
    const text = opts.text === true;
    const send = opts.tls === true ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          host: '127.0.0.1',
          port: opts.tls === true ? tlsPort : dp.proxyPort,
          rejectUnauthorized: false,
          method: 'POST',
          path,
          headers: {
            'content-type': text ? 'application/grpc-web-text' : 'application/grpc-web+proto',
            accept: text ? 'application/grpc-web-text' : 'application/grpc-web',
            'x-grpc-web': '1',
            origin: ORIGIN,
            ...(opts.key === false ? {} : { apikey: 'alice-key' }),
            ...opts.headers,
          },
        },
        (res) => {
          const got: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            if (got.length === 0) opts.onFirstChunk?.();
            got.push(c);
          });
          res.on('end', () => {
            const body = Buffer.concat(got);
            const bytes = text ? decodeText(body.toString('latin1')) : body;
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              chunks: got.length,
              ...parseFrames(bytes),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      // Each part as its own write (a text body: each part base64 on its own, padding inside).
      for (const p of parts) req.write(text ? p.toString('base64') : p);
      req.end();
    });
  }

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(DEFINITION, {
      Unary(c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const who = c.metadata.get('x-consumer-username')[0] ?? 'nobody';
        cb(null, Buffer.from(`hello ${c.request.toString()} (${String(who)})`));
      },
      List(c: grpc.ServerWritableStream<Buffer, Buffer>) {
        c.write(Buffer.from('item0'));
        // The rest only once the client has the first: a buffered response ends ABORTED instead.
        let released = false;
        const timeout = setTimeout(() => {
          if (!released)
            c.emit('error', { code: grpc.status.ABORTED, details: 'first message not streamed' });
        }, 5_000);
        releaseStream = () => {
          if (released) return;
          released = true;
          clearTimeout(timeout);
          c.write(Buffer.from('item1'));
          c.write(Buffer.from('item2'));
          c.end();
        };
      },
      Fail(_c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const md = new grpc.Metadata();
        md.set('x-reason', 'maintenance');
        cb({ code: grpc.status.FAILED_PRECONDITION, details: 'not ready', metadata: md }, null);
      },
      Slow(_c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        setTimeout(() => cb(null, Buffer.from('late')), 5_000).unref();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );

    cp = await startCp({ dataDir: tempDir('grpc-web-cp') });
    const ok = async (path: string, body: unknown): Promise<void> => {
      const r = await adminJson(cp.admin, 'POST', path, body);
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    };
    await ok('/services', { name: 'greeter', url: `grpc://127.0.0.1:${port}` });
    await ok('/services/greeter/routes', {
      name: 'web-route',
      protocols: ['http', 'https'],
      paths: ['/e2e.Greeter/'],
    });
    await ok('/routes/web-route/plugins', { name: 'key-auth', config: { run_on_preflight: false } });
    await ok('/routes/web-route/plugins', { name: 'grpc-web', config: { allow_origin_header: ORIGIN } });
    await ok('/consumers', { username: 'alice' });
    await ok('/consumers/alice/key-auth', { key: 'alice-key' });

    tlsPort = await freePort();
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('grpc-web-dp'),
      workers: 2,
      args: ['--listen-ssl', `127.0.0.1:${tlsPort}`],
    });
    await waitUntil(
      'the gRPC-Web route is served',
      async () =>
        (await call('/e2e.Greeter/Unary', [frame(Buffer.from('probe'))])).trailers['grpc-status'] === '0',
      60_000,
    );
  }, 150_000);

  afterAll(async () => {
    await dp?.proc.stop();
    await cp?.proc.stop();
    server?.forceShutdown();
  });

  it('refuses a config with proto (JSON transcoding) with a message that says so', async () => {
    const r = await adminJson(cp.admin, 'POST', '/plugins', {
      name: 'grpc-web',
      config: { proto: 'a.proto' },
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain('gRPC-Web JSON transcoding (proto) is not supported');
  });

  for (const text of [false, true]) {
    const mode = text ? 'text' : 'binary';

    it(`answers a unary call with the message and grpc-status 0 in the trailer frame (${mode})`, async () => {
      const msg = frame(Buffer.from('bob'));
      // Text: the body goes as two base64 chunks, the first one padded.
      const r = await call('/e2e.Greeter/Unary', text ? [msg.subarray(0, 4), msg.subarray(4)] : [msg], {
        text,
      });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe(
        text ? 'application/grpc-web-text' : 'application/grpc-web+proto',
      );
      expect(r.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(r.headers['access-control-expose-headers']).toBe('grpc-status,grpc-message');
      expect(r.messages).toEqual(['hello bob (alice)']);
      expect(r.trailers['grpc-status']).toBe('0');
    });

    it(`answers a unary call over HTTPS (${mode})`, async () => {
      const r = await call('/e2e.Greeter/Unary', [frame(Buffer.from('tls'))], { text, tls: true });
      expect(r.messages).toEqual(['hello tls (alice)']);
      expect(r.trailers['grpc-status']).toBe('0');
    });

    it(`answers UNAUTHENTICATED in gRPC-Web form without a key (${mode})`, async () => {
      const r = await call('/e2e.Greeter/Unary', [frame(Buffer.from('bob'))], { text, key: false });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe(
        text ? 'application/grpc-web-text+proto' : 'application/grpc-web+proto',
      );
      expect(r.headers['grpc-status']).toBe(String(grpc.status.UNAUTHENTICATED));
      expect(r.headers['grpc-message']).toBe('No API key found in request');
      expect(r.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(r.messages).toEqual([]);
    });

    it(`streams a server-streaming call as the server sends it (${mode})`, async () => {
      const r = await call('/e2e.Greeter/List', [frame(Buffer.alloc(0))], {
        text,
        onFirstChunk: () => releaseStream(),
      });
      expect(r.messages).toEqual(['item0', 'item1', 'item2']);
      expect(r.trailers['grpc-status']).toBe('0');
      expect(r.chunks).toBeGreaterThan(1);
    });

    it(`passes the upstream's error status, message and custom trailer (${mode})`, async () => {
      const r = await call('/e2e.Greeter/Fail', [frame(Buffer.alloc(0))], { text });
      expect(r.status).toBe(200);
      expect(r.messages).toEqual([]);
      expect(r.trailers['grpc-status']).toBe(String(grpc.status.FAILED_PRECONDITION));
      // grpc-message is percent-encoded on the wire (grpc-js encodes the space).
      expect(decodeURIComponent(r.trailers['grpc-message']!)).toBe('not ready');
      expect(r.trailers['x-reason']).toBe('maintenance');
    });

    it(`ends a call past its grpc-timeout with DEADLINE_EXCEEDED (${mode})`, async () => {
      const r = await call('/e2e.Greeter/Slow', [frame(Buffer.alloc(0))], {
        text,
        headers: { 'grpc-timeout': '300m' },
      });
      const status = r.trailers['grpc-status'] ?? r.headers['grpc-status'];
      expect(status).toBe(String(grpc.status.DEADLINE_EXCEEDED));
      expect(r.messages).toEqual([]);
    });
  }

  it('answers a truncated frame and bad base64 with INVALID_ARGUMENT, never reaching the upstream', async () => {
    const truncated = await call('/e2e.Greeter/Unary', [frame(Buffer.from('bob')).subarray(0, 6)]);
    expect(truncated.headers['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(truncated.headers['grpc-message']).toBe(
      'gRPC-Web frame at byte 0 announces 3 bytes, the body holds 1',
    );
    const oversized = await call('/e2e.Greeter/Unary', [Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 1])]);
    expect(oversized.headers['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
    const badText = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: dp.proxyPort,
          method: 'POST',
          path: '/e2e.Greeter/Unary',
          headers: { 'content-type': 'application/grpc-web-text', apikey: 'alice-key' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        },
      );
      req.on('error', reject);
      req.end('AAAA*AAA');
    });
    expect(badText['grpc-status']).toBe(String(grpc.status.INVALID_ARGUMENT));
    expect(badText['grpc-message']).toBe('invalid base64 body at byte 4');
  });

  it('answers a wrong content type with a plain 400 and a preflight with the CORS headers', async () => {
    const res = await fetch(`${dp.proxy}/e2e.Greeter/Unary`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', apikey: 'alice-key' },
      body: 'hi',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(
      /^gRPC-Web requests must have content-type/,
    );
    const pre = await fetch(`${dp.proxy}/e2e.Greeter/Unary`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-grpc-web,apikey,grpc-timeout',
      },
    });
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(pre.headers.get('access-control-allow-methods')).toBe('POST');
    expect(pre.headers.get('access-control-allow-headers')).toBe(
      'content-type,x-grpc-web,apikey,grpc-timeout',
    );
  });
});
