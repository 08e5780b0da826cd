import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { config, rawExchange, route, service, startProxy, startUpstream, type Upstream } from './helpers.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('proxy bodies are streamed both ways (real sockets)', () => {
  let upstream: Upstream;
  let proxy: ProxyServer;
  let port: number;
  /** Resolvers the upstream calls when a streamed request body delivers its first chunk. */
  let onFirstChunk: (() => void) | null = null;
  /** Lets the streamed-response upstream send its last part. */
  let releaseResponse: (() => void) | null = null;
  let upstreamSawClose: ((reason: string) => void) | null = null;
  let upstreamGotHang: (() => void) | null = null;
  const download = randomBytes(8 * 1024 * 1024 + 123);

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      const url = req.url ?? '';
      if (url.startsWith('/upload')) {
        const hash = createHash('sha256');
        let length = 0;
        let first = true;
        req.on('data', (c: Buffer) => {
          hash.update(c);
          length += c.length;
          if (first) {
            first = false;
            onFirstChunk?.();
          }
        });
        req.on('end', () => {
          const body = JSON.stringify({
            length,
            sha: hash.digest('hex'),
            te: req.headers['transfer-encoding'] ?? null,
            cl: req.headers['content-length'] ?? null,
            expect: req.headers.expect ?? null,
          });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(body);
        });
      } else if (url.startsWith('/download')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': download.length });
        res.end(download);
      } else if (url.startsWith('/drip')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first-part;');
        releaseResponse = () => res.end('last-part');
      } else if (url.startsWith('/hang')) {
        res.on('close', () => upstreamSawClose?.(res.writableFinished ? 'finished' : 'aborted'));
        req.resume();
        upstreamGotHang?.();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    ({ proxy, port } = await startProxy(
      config(
        [service('s', upstream.port)],
        [
          route('r', 's', { paths: ['/'] }),
          // Kong's request_buffering off: the body streams upstream as it arrives.
          route('streamed', 's', {
            paths: ['/upload/streamed'],
            strip_path: false,
            request_buffering: false,
          }),
        ],
      ),
    ));
  });

  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  function post(
    path: string,
    headers: Record<string, string>,
  ): { req: http.ClientRequest; res: Promise<IncomingMessage> } {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false });
    const res = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    return { req, res };
  }

  async function readAll(res: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  it('streams a chunked request body on a route without request_buffering: the upstream gets the first chunk before the client sends the rest', async () => {
    const gotFirst = new Promise<void>((resolve) => (onFirstChunk = resolve));
    const { req, res } = post('/upload/streamed', { 'transfer-encoding': 'chunked' });
    const part = randomBytes(64 * 1024);
    req.write(part);
    await gotFirst; // would hang (test timeout) if the proxy buffered the whole body
    onFirstChunk = null;
    req.end(part);
    const body = JSON.parse((await readAll(await res)).toString());
    expect(body.length).toBe(2 * part.length);
    expect(body.sha).toBe(sha(Buffer.concat([part, part])));
    expect(body.te).toBe('chunked');
  });

  it('buffers a request body by default (Kong request_buffering): the upstream sees nothing until the client ends it, then a Content-Length body', async () => {
    let upstreamStarted = false;
    onFirstChunk = () => (upstreamStarted = true);
    const { req, res } = post('/upload/buffered', { 'transfer-encoding': 'chunked' });
    const part = randomBytes(64 * 1024);
    req.write(part);
    // Long enough for the first chunk to have reached the upstream, were it streamed (the test above).
    await new Promise((r) => setTimeout(r, 300));
    expect(upstreamStarted).toBe(false);
    req.end(part);
    const body = JSON.parse((await readAll(await res)).toString());
    onFirstChunk = null;
    expect(body).toMatchObject({ length: 2 * part.length, te: null, cl: String(2 * part.length) });
    expect(body.sha).toBe(sha(Buffer.concat([part, part])));
  });

  it('sends a buffered empty chunked body upstream as Content-Length: 0', async () => {
    const { req, res } = post('/upload/empty', { 'transfer-encoding': 'chunked' });
    req.end();
    const body = JSON.parse((await readAll(await res)).toString());
    expect(body).toMatchObject({ length: 0, te: null, cl: '0' });
  });

  it('streams a body larger than the buffer (what was read, then the rest), intact', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 5); // over REQUEST_BUFFER_BYTES (1 MiB)
    const { req, res } = post('/upload/big-chunked', { 'transfer-encoding': 'chunked' });
    for (let at = 0; at < big.length; at += 256 * 1024) req.write(big.subarray(at, at + 256 * 1024));
    req.end();
    const body = JSON.parse((await readAll(await res)).toString());
    expect(body).toMatchObject({ length: big.length, sha: sha(big) });
  });

  it('streams a response: the client gets the first part before the upstream ends it', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/drip', agent: false }, resolve).on('error', reject);
    });
    const [first] = (await once(res, 'data')) as [Buffer];
    expect(first.toString()).toBe('first-part;');
    releaseResponse!();
    const rest = await readAll(res);
    expect(rest.toString()).toBe('last-part');
  });

  it('uploads a large body with Content-Length intact', async () => {
    const body = randomBytes(16 * 1024 * 1024 + 7);
    const { req, res } = post('/upload/large', { 'content-length': String(body.length) });
    req.end(body);
    const reply = JSON.parse((await readAll(await res)).toString());
    expect(reply).toMatchObject({ length: body.length, sha: sha(body), cl: String(body.length), te: null });
  });

  it('downloads a large body intact', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/download', agent: false }, resolve).on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(download.length));
    const got = await readAll(res);
    expect(got.length).toBe(download.length);
    expect(sha(got)).toBe(sha(download));
  });

  it('handles Expect: 100-continue (100 to the client, no Expect upstream)', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'POST /upload/expect HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
    );
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString()));
    while (!data.includes('100 Continue')) await once(socket, 'data');
    socket.write('hello');
    await once(socket, 'end');
    expect(data).toMatch(/^HTTP\/1\.1 100 Continue/);
    expect(data).toMatch(/HTTP\/1\.1 200 OK/);
    const reply = JSON.parse(/\{.*\}/s.exec(data)![0]);
    expect(reply).toMatchObject({ length: 5, expect: null });
  });

  it('never answers 500 to Transfer-Encoding: chunked + Connection: keep-alive, X-Foo + Upgrade', async () => {
    const raw = await rawExchange(
      port,
      'POST /upload/odd HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Foo, Upgrade\r\n' +
        'X-Foo: bar\r\nUpgrade: websocket\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      /\r\n0\r\n\r\n$|"expect":null\}/,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toContain('"length":5');
  });

  it('answers 400 JSON to a malformed request', async () => {
    const raw = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: h\r\nBad Header Line\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('{"message":"Bad request"}');
  });

  it('answers 400 JSON to Content-Length together with Transfer-Encoding', async () => {
    const raw = await rawExchange(
      port,
      'POST /upload/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(raw).toContain('application/json');
  });

  it('aborts the upstream request when the client disconnects', async () => {
    const sawClose = new Promise<string>((resolve) => (upstreamSawClose = resolve));
    const gotRequest = new Promise<void>((resolve) => (upstreamGotHang = resolve));
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /hang HTTP/1.1\r\nHost: h\r\n\r\n');
    await gotRequest;
    socket.destroy();
    expect(await sawClose).toBe('aborted');
  });
});
