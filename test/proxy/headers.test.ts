import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import {
  call,
  config,
  rawExchange,
  route,
  service,
  startProxy,
  startUpstream,
  type SeenRequest,
  type Upstream,
} from './helpers.js';

describe('proxy headers (real sockets)', () => {
  let upstream: Upstream;
  let hopUpstream: Upstream;
  let proxy: ProxyServer;
  let port: number;

  beforeAll(async () => {
    upstream = await startUpstream();
    hopUpstream = await startUpstream((_req, res) => {
      res.writeHead(200, {
        connection: 'keep-alive, X-Upstream-Private',
        'x-upstream-private': 'secret',
        'keep-alive': 'timeout=5',
        'x-upstream-public': 'ok',
        'content-length': '2',
      });
      res.end('ok');
    });
    ({ proxy, port } = await startProxy(
      config(
        [service('s', upstream.port), service('hop', hopUpstream.port)],
        [
          route('plain', 's', { paths: ['/plain'], strip_path: false }),
          route('stripped', 's', { paths: ['/strip'], strip_path: true }),
          route('preserve', 's', { paths: ['/preserve'], preserve_host: true }),
          route('hop', 'hop', { paths: ['/hop'] }),
        ],
      ),
    ));
  });

  afterAll(async () => {
    await proxy.close();
    await upstream.close();
    await hopUpstream.close();
  });

  it('sends the service host (with its non-default port) unless preserve_host', async () => {
    const seen = (await call(port, '/plain', { headers: { host: 'client.example:1234' } })).json();
    expect(seen.headers.host).toBe(`127.0.0.1:${upstream.port}`);
  });

  it('sends the client Host with preserve_host', async () => {
    const seen = (await call(port, '/preserve', { headers: { host: 'client.example:1234' } })).json();
    expect(seen.headers.host).toBe('client.example:1234');
  });

  it('sets X-Forwarded-* and X-Real-IP like Kong, appending to X-Forwarded-For', async () => {
    const seen = (
      await call(port, '/plain/a?x=1', {
        headers: {
          host: 'client.example:1234',
          'x-forwarded-for': '10.0.0.1',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'spoofed',
          'x-real-ip': '6.6.6.6',
        },
      })
    ).json();
    expect(seen.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('client.example');
    expect(seen.headers['x-forwarded-port']).toBe(String(port));
    expect(seen.headers['x-forwarded-path']).toBe('/plain/a');
    expect(seen.headers['x-forwarded-prefix']).toBeUndefined();
  });

  it('sets X-Forwarded-Prefix to the stripped prefix', async () => {
    const seen = (await call(port, '/strip/rest')).json();
    expect(seen.url).toBe('/rest');
    expect(seen.headers['x-forwarded-prefix']).toBe('/strip');
    expect(seen.headers['x-forwarded-path']).toBe('/strip/rest');
  });

  it('appends 1.1 gatehouse to Via upstream and adds Via to the response', async () => {
    const reply = await call(port, '/plain', { headers: { via: '1.0 corporate-proxy' } });
    expect(reply.json().headers.via).toBe('1.0 corporate-proxy, 1.1 gatehouse');
    expect(reply.headers.via).toBe('1.1 gatehouse/0.1.0');
  });

  it('removes hop-by-hop request headers, including those named in Connection', async () => {
    const raw = await rawExchange(
      port,
      'GET /plain HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Foo, x-bar\r\nX-Foo: 1\r\nX-Bar: 2\r\n' +
        'Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: x-t\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n',
      /\r\n\r\n[\s\S]*\}$/,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    const seen = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as SeenRequest;
    for (const h of [
      'x-foo',
      'x-bar',
      'keep-alive',
      'te',
      'trailer',
      'proxy-connection',
      'upgrade',
      'expect',
    ]) {
      expect(seen.headers[h], h).toBeUndefined();
    }
    expect(seen.headers['x-kept']).toBe('yes');
    // undici speaks keep-alive to the upstream whatever the client said.
    expect(seen.headers.connection ?? 'keep-alive').toBe('keep-alive');
  });

  it('removes hop-by-hop response headers, including those named in Connection', async () => {
    const reply = await call(port, '/hop');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-upstream-private']).toBeUndefined();
    expect(reply.headers['keep-alive']).not.toBe('timeout=5');
    expect(reply.headers['x-upstream-public']).toBe('ok');
    expect(reply.body.toString()).toBe('ok');
  });

  it('keeps repeated end-to-end headers', async () => {
    const seen = (await call(port, '/plain', { headers: { 'x-multi': ['a', 'b'] } })).json();
    expect(seen.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-multi')).toHaveLength(2);
  });
});
