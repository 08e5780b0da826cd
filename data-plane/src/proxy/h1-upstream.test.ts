import fc from 'fast-check';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Pool } from './undici-parts.js';
import type { CoreHandler } from './exchange.js';
import type { UpstreamOptions } from './dispatch.js';
import { createLogger } from '@gatehouse/shared';
import { H1Pool, requestHead, type FallbackPool, type H1PoolOptions } from './h1-upstream.js';
import { upstreamClientFromEnv, type PoolSpec } from './pool-spec.js';
import type { ServiceTarget } from './service-targets.js';
import { UpstreamPools } from './upstream-pools.js';

/** What a dispatch handler heard. */
interface Heard {
  status: number;
  headers: string[];
  body: string;
  trailers: string[] | null;
  error: (Error & { code?: string }) | null;
  outcomes: number;
  done: Promise<void>;
}

function recorder(
  options: { onData?: (chunk: Buffer, resume: () => void) => boolean } = {},
): [CoreHandler, Heard] {
  let finish!: () => void;
  const heard: Heard = {
    status: 0,
    headers: [],
    body: '',
    trailers: null,
    error: null,
    outcomes: 0,
    done: new Promise((r) => (finish = r)),
  };
  let resume: () => void = () => undefined;
  const handler: CoreHandler = {
    onConnect: () => undefined,
    onHeaders(status, raw, r) {
      heard.status = status;
      heard.headers = raw.map(String);
      resume = r;
      return true;
    },
    onData(chunk) {
      heard.body += chunk.toString('latin1');
      return options.onData ? options.onData(chunk, resume) : true;
    },
    onComplete(trailers) {
      heard.trailers = trailers;
      heard.outcomes++;
      finish();
    },
    onError(err) {
      heard.error = err;
      heard.outcomes++;
      finish();
    },
    onUpgrade: () => undefined,
  };
  return [handler, heard];
}

const get = (path = '/x', headers: string[] = []): UpstreamOptions => ({
  path,
  method: 'GET',
  headers: ['host', 'example.test', ...headers],
  body: null,
  headersTimeout: 5_000,
  bodyTimeout: 5_000,
});

const closers: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A raw TCP upstream: `respond(socket, requestBytes)` for every request head it reads. */
async function rawUpstream(respond: (socket: net.Socket, head: string, index: number) => void) {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end + 4);
        buf = buf.slice(end + 4);
        const m = /content-length: (\d+)/i.exec(head);
        if (m !== null) buf = buf.slice(Number(m[1]));
        respond(socket, head, requests++);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { port: (server.address() as AddressInfo).port };
}

function pool(port: number, extra: Partial<H1PoolOptions> = {}): H1Pool {
  const p = new H1Pool<FallbackPool>(`http://127.0.0.1:${port}`, {
    connectTimeout: 2_000,
    keepAliveTimeout: 60_000,
    connections: 16,
    fallback: () => new Pool(`http://127.0.0.1:${port}`),
    ...extra,
  });
  closers.push(() => p.destroy());
  return p;
}

const OK = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';

describe('the llhttp upstream client', () => {
  it('writes, for any request it takes, exactly the bytes undici writes (anything else is left to undici)', async () => {
    let captured: (head: string) => void = () => undefined;
    const up = await rawUpstream((socket, head) => {
      captured(head);
      socket.write(OK);
    });
    const undici = new Pool(`http://127.0.0.1:${up.port}`);
    closers.push(() => undici.destroy());
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
    const value = fc.oneof(
      { arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,20}$/), weight: 12 },
      fc.string({ maxLength: 12 }),
      fc.constantFrom('a\r\nb', 'x\0y', 'caf\u00e9', 'snow\u2603', ''),
    );
    const name = fc.oneof(
      { arbitrary: token, weight: 12 },
      fc.constantFrom(
        'Host',
        'content-length',
        'Connection',
        'expect',
        'Transfer-Encoding',
        'upgrade',
        'bad name',
        'a:b',
      ),
    );
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD', 'BREW', 'GE T'),
        fc.oneof(
          { arbitrary: fc.stringMatching(/^\/[\x21-\x7e]{0,20}$/), weight: 8 },
          fc.constantFrom('/a b', '/\u00e9', '/\u2603', ''),
        ),
        fc.array(fc.tuple(name, value), { maxLength: 4 }),
        fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }),
        async (method, path, pairs, body) => {
          const options: UpstreamOptions = {
            method,
            path,
            headers: pairs.flat(),
            body: body === null ? null : Buffer.from(body),
          };
          const head = requestHead(options, `127.0.0.1:${up.port}`);
          if (head === null) return;
          taken++;
          const got = new Promise<string>((r) => (captured = r));
          const [handler, heard] = recorder();
          undici.dispatch(options, handler);
          expect(await got).toBe(head);
          await heard.done;
          expect(heard.error).toBeNull();
        },
      ),
      { numRuns: 200 },
    );
    expect(taken).toBeGreaterThan(20);
  });

  it('reuses one keep-alive connection for requests one after another', async () => {
    let connections = 0;
    const server = http.createServer((q, r) => r.end(`seen ${q.url}`));
    server.on('connection', () => connections++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => new Promise((r) => server.close(r)));
    closers.push(() => server.closeAllConnections());
    const p = pool((server.address() as AddressInfo).port);
    for (const path of ['/a', '/b', '/c']) {
      const [h, heard] = recorder();
      p.dispatch(get(path), h);
      await heard.done;
      expect([heard.status, heard.body, heard.outcomes]).toEqual([200, `seen ${path}`, 1]);
    }
    expect(connections).toBe(1);
    expect(p.size).toBe(1);
  });

  it('passes a chunked body decoded and its trailers; a body ended by the close of the connection is whole', async () => {
    const up = await rawUpstream((socket, head) => {
      if (head.startsWith('GET /chunked'))
        socket.write(
          'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n',
        );
      else socket.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end');
    });
    const p = pool(up.port);
    const [h1, chunked] = recorder();
    p.dispatch(get('/chunked'), h1);
    await chunked.done;
    expect([chunked.body, chunked.trailers]).toEqual(['abcde', ['x-sum', '5']]);
    const [h2, closed] = recorder();
    p.dispatch(get('/close'), h2);
    await closed.done;
    expect([closed.error, closed.body, closed.outcomes]).toEqual([null, 'until the end', 1]);
  });

  it("fails with undici's codes: headers timeout, body timeout, refused, closed mid-body, an invalid response", async () => {
    const up = await rawUpstream((socket, head) => {
      if (head.startsWith('GET /slow-head')) return;
      if (head.startsWith('GET /slow-body')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
      else if (head.startsWith('GET /cut')) socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
      else socket.write('HTTP/1.1 2x0 nope\r\n\r\n');
    });
    const p = pool(up.port);
    const cases: [string, number, string][] = [
      ['/slow-head', 150, 'UND_ERR_HEADERS_TIMEOUT'],
      ['/slow-body', 150, 'UND_ERR_BODY_TIMEOUT'],
      ['/cut', 5_000, 'UND_ERR_SOCKET'],
      ['/garbage', 5_000, 'UND_ERR_SOCKET'],
    ];
    for (const [path, ms, code] of cases) {
      const [h, heard] = recorder();
      p.dispatch({ ...get(path), headersTimeout: ms, bodyTimeout: ms }, h);
      await heard.done;
      expect([path, heard.error?.code, heard.outcomes]).toEqual([path, code, 1]);
    }
    const free = net.createServer();
    free.listen(0, '127.0.0.1');
    await once(free, 'listening');
    const port = (free.address() as AddressInfo).port;
    await new Promise((r) => free.close(r));
    const [h, refused] = recorder();
    pool(port).dispatch(get(), h);
    await refused.done;
    expect(refused.error?.code).toBe('ECONNREFUSED');
  });

  it('closes a connection that sends more than it was asked for (the next request gets a new one)', async () => {
    const up = await rawUpstream((socket, _head, i) => {
      if (i === 0) socket.write(OK + 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nextra');
      else socket.write(OK);
    });
    const p = pool(up.port);
    const [h1, first] = recorder();
    p.dispatch(get(), h1);
    await first.done;
    expect(first.body).toBe('ok');
    await new Promise((r) => setTimeout(r, 50));
    expect(p.size).toBe(0);
    const [h2, second] = recorder();
    p.dispatch(get(), h2);
    await second.done;
    expect([second.body, second.outcomes]).toEqual(['ok', 1]);
    expect(p.size).toBe(1);
  });

  it('an abort ends the request once, with the reason, and closes its connection', async () => {
    const up = await rawUpstream(() => undefined);
    const p = pool(up.port);
    let abort: (reason?: Error) => void = () => undefined;
    const [inner, heard] = recorder();
    p.dispatch(get(), { ...inner, onConnect: (a) => (abort = a) });
    await new Promise((r) => setTimeout(r, 50));
    const reason = Object.assign(new Error('client went away'), { code: 'GH_ERR_PROXY_CLIENT_CLOSED' });
    abort(reason);
    abort(reason);
    await heard.done;
    expect([heard.error, heard.outcomes, p.size]).toEqual([reason, 1, 0]);
  });

  it('pauses the upstream while the handler cannot take more, and goes on when resumed', async () => {
    const big = 'x'.repeat(256 * 1024);
    const up = await rawUpstream((socket) =>
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`),
    );
    const p = pool(up.port);
    let paused = 0;
    const [h, heard] = recorder({
      onData: (_chunk, resume) => {
        if (paused++ === 0) {
          setTimeout(resume, 100);
          return false;
        }
        return true;
      },
    });
    p.dispatch(get(), h);
    await heard.done;
    expect([heard.body.length, heard.error]).toEqual([big.length, null]);
  });

  it('leaves to undici what it does not send itself (a streamed body, an Expect header, HEAD)', async () => {
    const up = await rawUpstream((socket) => socket.write(OK));
    const sent: string[] = [];
    const undici = new Pool(`http://127.0.0.1:${up.port}`);
    closers.push(() => undici.destroy());
    const p = pool(up.port, {
      fallback: () => ({
        dispatch: (o, h) => {
          sent.push(`${o.method} ${String(o.path)}`);
          return undici.dispatch(o, h);
        },
        close: () => undici.close(),
        destroy: () => undici.destroy(),
      }),
    });
    const [h1, streamed] = recorder();
    p.dispatch({ ...get('/stream'), method: 'POST', body: Readable.from([Buffer.from('a')]) }, h1);
    await streamed.done;
    const [h2, expectHeard] = recorder();
    p.dispatch(get('/expect', ['expect', '100-continue']), h2);
    await expectHeard.done;
    expect(expectHeard.error?.code).toBe('UND_ERR_NOT_SUPPORTED');
    expect(sent).toEqual(['POST /stream', 'GET /expect']);
  });

  it('honours the upstream keep-alive hint (a timeout of 2 s or less: the connection is not reused)', async () => {
    const up = await rawUpstream((socket) =>
      socket.write('HTTP/1.1 200 OK\r\nkeep-alive: timeout=1\r\ncontent-length: 2\r\n\r\nok'),
    );
    const p = pool(up.port);
    const [h, heard] = recorder();
    p.dispatch(get(), h);
    await heard.done;
    await new Promise((r) => setTimeout(r, 20));
    expect(p.size).toBe(0);
  });

  it('queues requests beyond its connection limit and sends them as connections free up', async () => {
    const up = await rawUpstream((socket, head) =>
      setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${head[5]}`), 20),
    );
    const p = pool(up.port, { connections: 1 });
    const heard = ['/a', '/b', '/c'].map((path) => {
      const [h, r] = recorder();
      p.dispatch(get(path), h);
      return r;
    });
    await Promise.all(heard.map((r) => r.done));
    expect(heard.map((r) => r.body)).toEqual(['a', 'b', 'c']);
    expect(p.size).toBe(1);
  });

  it('close() lets the requests in flight and those waiting for a connection finish; destroy() fails them with UND_ERR_DESTROYED', async () => {
    const up = await rawUpstream((socket) => setTimeout(() => socket.write(OK), 50));
    const p = pool(up.port, { connections: 1 });
    const [h1, first] = recorder();
    const [h0, queued] = recorder();
    p.dispatch(get(), h1);
    p.dispatch(get(), h0);
    await new Promise((r) => setTimeout(r, 10));
    await p.close();
    await first.done;
    await queued.done;
    expect([first.body, first.error, queued.body, queued.error]).toEqual(['ok', null, 'ok', null]);
    const [h2, late] = recorder();
    p.dispatch(get(), h2);
    await late.done;
    expect(late.error?.code).toBe('UND_ERR_DESTROYED');

    const q = pool(up.port);
    const [h3, cut] = recorder();
    q.dispatch(get(), h3);
    await new Promise((r) => setTimeout(r, 10));
    await q.destroy();
    await cut.done;
    expect([cut.error?.code, cut.outcomes]).toEqual(['UND_ERR_DESTROYED', 1]);
  });

  it('any bytes from the upstream end the request exactly once, never with a throw', async () => {
    let reply: Buffer = Buffer.alloc(0);
    const up = await rawUpstream((socket) => socket.end(reply));
    const p = pool(up.port);
    const piece = fc.oneof(
      fc.constantFrom(
        'HTTP/1.1 200 OK\r\n',
        'HTTP/1.0 204 No Content\r\n',
        'HTTP/1.1 100 Continue\r\n\r\n',
        'content-length: 3\r\n',
        'content-length: -1\r\n',
        'transfer-encoding: chunked\r\n',
        'Transfer-Encoding: gzip, chunked\r\n',
        '\r\n',
        '5\r\nhello\r\n0\r\n\r\n',
        'abc',
        '\0\xff',
      ),
      fc.string({ maxLength: 16 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 8 }), async (pieces) => {
        reply = Buffer.from(pieces.join(''), 'latin1');
        const [h, heard] = recorder();
        p.dispatch({ ...get(), headersTimeout: 2_000, bodyTimeout: 2_000 }, h);
        await heard.done;
        await new Promise((r) => setImmediate(r));
        expect(heard.outcomes).toBe(1);
      }),
      { numRuns: 150 },
    );
  });
});

describe('choosing the upstream client', () => {
  it('reads GATEHOUSE_UPSTREAM_CLIENT (default llhttp) and refuses an unknown client by name', () => {
    expect(upstreamClientFromEnv({})).toBe('llhttp');
    expect(upstreamClientFromEnv({ GATEHOUSE_UPSTREAM_CLIENT: '' })).toBe('llhttp');
    expect(upstreamClientFromEnv({ GATEHOUSE_UPSTREAM_CLIENT: 'undici' })).toBe('undici');
    expect(() => upstreamClientFromEnv({ GATEHOUSE_UPSTREAM_CLIENT: 'curl' })).toThrow(
      "GATEHOUSE_UPSTREAM_CLIENT: unknown client 'curl' (known: undici, llhttp)",
    );
  });

  it('sends plain-HTTP origins through the llhttp client when chosen; https and gRPC origins stay on undici and HTTP/2', async () => {
    const spec = (origin: string, h2 = false): PoolSpec => ({
      key: origin + (h2 ? '|h2' : ''),
      origin,
      connectTimeout: 1_000,
      tls: origin.startsWith('https:')
        ? ({ key: 'k', rejectUnauthorized: false, verifyDepth: null } as unknown as PoolSpec['tls'])
        : null,
      h2,
    });
    const specs = [spec('http://127.0.0.1:9'), spec('https://127.0.0.1:9'), spec('http://127.0.0.1:9', true)];
    const kinds = async (client: 'undici' | 'llhttp'): Promise<string[]> => {
      const pools = new UpstreamPools(createLogger('h1-test', { level: 'silent' }), client);
      const targets = specs.map((s) => ({ poolKey: s.key, balanced: null, pool: null }));
      pools.bind(new Map(specs.map((s) => [s.key, s])), targets as unknown as ServiceTarget[]);
      const names = targets.map((t) => (t.pool as object | null)?.constructor.name ?? 'none');
      await pools.closeAll();
      return names;
    };
    expect(await kinds('llhttp')).toEqual(['H1Pool', 'Pool', 'H2Pool']);
    expect(await kinds('undici')).toEqual(['Pool', 'Pool', 'H2Pool']);
  });
});
