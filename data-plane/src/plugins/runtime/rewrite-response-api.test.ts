/**
 * The plugin API for request rewriting and response bodies (setUpstreamMethod/Path/Query,
 * uriCaptures, removeResponseHeader, setResponseBody, bufferResponse as a per-response decision,
 * ResponseView.headerValues) through a real proxy in front of a real upstream.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  schema,
  type Plugin,
} from '@gatehouse/shared';
import { definePlugin, RESPONSE_BUFFER_LIMIT } from '../api.js';
import { PluginRegistry } from '../registry.js';
import { ProxyServer } from '../../proxy/proxy-server.js';
import { encodeTarget } from './context.js';
import { outcome, pluginRequest } from './test-support.js';

const seen: { captures: Record<string, string> | null; bodies: (number | null)[]; values: string[][] } = {
  captures: null,
  bodies: [],
  values: [],
};

const rewriter = definePlugin({
  name: 'rewriter',
  version: '1.0.0',
  priority: 10,
  schema: schema.t.record({}, { required: true }),
  access(ctx) {
    const r = ctx.request;
    seen.captures = { ...r.uriCaptures };
    const method = r.header('x-method');
    if (method !== undefined) ctx.setUpstreamMethod(method);
    const path = r.header('x-path');
    if (path !== undefined) ctx.setUpstreamPath(path);
    const query = r.header('x-query');
    if (query !== undefined) ctx.setUpstreamQuery(query);
    if (r.header('x-drop-arg') !== undefined) ctx.removeUpstreamQueryArg('drop');
    const host = r.header('x-host');
    if (host !== undefined) ctx.setUpstreamHeader('Host', host);
  },
});

/** Upper-cases JSON bodies when buffered (only for JSON responses), removes X-Secret. */
const shouter = definePlugin({
  name: 'shouter',
  version: '1.0.0',
  priority: 5,
  schema: schema.t.record({}, { required: true }),
  bufferResponse: (_state, head) => (head.header('content-type') ?? '').startsWith('application/json'),
  response(ctx) {
    const res = ctx.response!;
    seen.bodies.push(res.body === null ? null : res.body.length);
    seen.values.push(res.headerValues('x-multi'));
    ctx.removeResponseHeader('x-secret');
    if (res.body !== null) ctx.setResponseBody(Buffer.from(res.body.toString().toUpperCase()));
  },
});

/** Runs after shouter: sees its changes (body and removed header). */
const observer = definePlugin({
  name: 'observer',
  version: '1.0.0',
  priority: 1,
  schema: schema.t.record({}, { required: true }),
  response(ctx) {
    const res = ctx.response!;
    const observe = () =>
      ctx.setResponseHeader(
        'x-observed',
        `${res.header('x-secret') ?? 'gone'};${res.body?.toString() ?? '-'}`,
      );
    // With X-Async the phase waits on a promise (the runtime holds the body meanwhile).
    if (ctx.request.header('x-async') === undefined) observe();
    else return new Promise<void>((resolve) => setImmediate(resolve)).then(observe);
  },
});

const plugin = (name: string): Plugin => ({
  id: name,
  name,
  instance_name: null,
  config: {},
  protocols: ['http', 'https'],
  enabled: true,
  service: null,
  route: null,
  consumer: null,
  consumer_group: null,
  tags: null,
  created_at: 0,
  updated_at: 0,
});

describe('plugin API: upstream rewriting and response bodies', () => {
  let upstream: http.Server;
  let proxy: ProxyServer;
  let base: string;
  const big = Buffer.alloc(RESPONSE_BUFFER_LIMIT + 1024, 'a');

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url!, 'http://x');
        if (url.pathname === '/text') {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-secret': 's' }).end('plain text');
          return;
        }
        if (url.pathname === '/big') {
          // Chunked (no Content-Length): the buffer limit is found while the body arrives.
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(big);
          return;
        }
        res.setHeader('x-multi', ['1', '2']);
        res.setHeader('x-secret', 's');
        res.writeHead(200, { 'content-type': 'application/json' });
        const seen = { method: req.method, url: req.url, body: Buffer.concat(chunks).toString() };
        res.end(JSON.stringify(req.headers['x-host'] === undefined ? seen : { host: req.headers.host }));
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    proxy = new ProxyServer({
      logger: createLogger('api-test', { level: 'silent' }),
      plugins: new PluginRegistry([rewriter, shouter, observer]),
    });
    await proxy.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    proxy.apply(
      completeConfig({
        services: [
          {
            ...SERVICE_DEFAULTS,
            id: 's',
            name: 's',
            host: '127.0.0.1',
            port: (upstream.address() as AddressInfo).port,
            created_at: 0,
            updated_at: 0,
          },
        ],
        routes: [
          {
            ...ROUTE_DEFAULTS,
            id: 'r',
            name: 'r',
            paths: ['~/users/(?<user>[a-z]+)/(\\d+)'],
            strip_path: false,
            service: { id: 's' },
            created_at: 0,
            updated_at: 0,
          },
          {
            ...ROUTE_DEFAULTS,
            id: 'plain',
            name: 'plain',
            paths: ['/'],
            strip_path: false,
            service: { id: 's' },
            created_at: 0,
            updated_at: 0,
          },
        ],
        plugins: [plugin('rewriter'), plugin('shouter'), plugin('observer')],
      }),
    );
  });

  afterAll(async () => {
    await proxy?.close();
    upstream?.closeAllConnections();
    upstream?.close();
  });

  const call = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { headers, ...init, signal: AbortSignal.timeout(10_000) });

  it('exposes the route regex captures by position and by name', async () => {
    await call('/users/ann/42');
    expect(seen.captures).toEqual({ '0': '/users/ann/42', '1': 'ann', '2': '42', user: 'ann' });
    await call('/other');
    expect(seen.captures).toEqual({});
  });

  it('sends the method, path and query a plugin set upstream', async () => {
    const res = await call('/users/ann/42?a=1&drop=x', {
      'x-method': 'PATCH',
      'x-path': '/v2/ann profile',
      'x-query': 'b=2&drop=y',
      'x-drop-arg': '1',
    });
    const body = JSON.parse((await res.text()).toLowerCase()) as { method: string; url: string };
    expect(body.method).toBe('patch');
    expect(body.url).toBe('/v2/ann%20profile?b=2');
  });

  it('sends the Host header a plugin set in place of the service host', async () => {
    const res = await call('/x', { 'x-host': 'changed.test' });
    expect(JSON.parse((await res.text()).toLowerCase())).toEqual({ host: 'changed.test' });
  });

  it('keeps the query when only the path changes, and drops it when set empty', async () => {
    const kept = JSON.parse((await (await call('/x?a=1', { 'x-path': '/y' })).text()).toLowerCase()) as {
      url: string;
    };
    expect(kept.url).toBe('/y?a=1');
    const none = JSON.parse((await (await call('/x?a=1', { 'x-query': '' })).text()).toLowerCase()) as {
      url: string;
    };
    expect(none.url).toBe('/x');
  });

  it('buffers a JSON response, replaces its body with a right Content-Length and removes a header', async () => {
    seen.bodies = [];
    seen.values = [];
    const res = await call('/x', {}, { method: 'POST', body: 'hi' });
    const text = await res.text();
    expect(text).toBe(JSON.stringify({ method: 'POST', url: '/x', body: 'hi' }).toUpperCase());
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(res.headers.get('x-secret')).toBeNull();
    expect(res.headers.get('x-observed')).toBe(`gone;${text}`);
    expect(seen.values).toEqual([['1', '2']]);
    expect(seen.bodies[0]).toBeGreaterThan(0);
  });

  it('streams a response the plugin does not want buffered (body null), headers still changed', async () => {
    seen.bodies = [];
    const res = await call('/text');
    expect(await res.text()).toBe('plain text');
    expect(seen.bodies).toEqual([null]);
    expect(res.headers.get('x-secret')).toBeNull();
    expect(res.headers.get('x-observed')).toBe('gone;-');
  });

  it('streams a body over the buffer limit unchanged, the response phase seeing no body', async () => {
    seen.bodies = [];
    const res = await call('/big');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(big.length);
    expect(body.equals(big)).toBe(true);
    expect(seen.bodies).toEqual([null]);
  });

  it('gives the same answers when a response handler is asynchronous', async () => {
    const json = await call('/x', { 'x-async': '1' }, { method: 'POST', body: 'hi' });
    const text = await json.text();
    expect(text).toBe(JSON.stringify({ method: 'POST', url: '/x', body: 'hi' }).toUpperCase());
    expect(json.headers.get('x-observed')).toBe(`gone;${text}`);
    const plain = await call('/text', { 'x-async': '1' });
    expect(await plain.text()).toBe('plain text');
    expect(plain.headers.get('x-observed')).toBe('gone;-');
    const big = Buffer.from(await (await call('/big', { 'x-async': '1' })).arrayBuffer());
    expect(big.equals(Buffer.alloc(RESPONSE_BUFFER_LIMIT + 1024, 'a'))).toBe(true);
  });

  it('never buffers the answer to a HEAD request', async () => {
    seen.bodies = [];
    const res = await call('/x', {}, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(seen.bodies).toEqual([null]);
  });
});

describe('plugin API: argument checks', () => {
  it('refuses a method that is not an HTTP token and a path without a leading slash', () => {
    const ctx = pluginRequest();
    expect(() => ctx.setUpstreamMethod('GET /x')).toThrow(TypeError);
    expect(() => ctx.setUpstreamPath('x')).toThrow(TypeError);
    ctx.setUpstreamMethod('PURGE');
    ctx.setUpstreamPath('/a b/ü?q');
    ctx.setUpstreamQuery('x=1 2&y=#');
    expect(outcome(ctx)).toMatchObject({
      upstreamMethod: 'PURGE',
      upstreamPath: '/a%20b/%C3%BC%3Fq',
      upstreamQuery: 'x=1%202&y=%23',
    });
  });

  it('refuses setResponseBody when the response is not buffered', () => {
    const ctx = pluginRequest();
    expect(() => ctx.setResponseBody(Buffer.from('x'))).toThrow(TypeError);
    ctx.setResponse(200, [], null);
    expect(() => ctx.setResponseBody(Buffer.from('x'))).toThrow(TypeError);
  });

  it('encodes any string into a valid request target (never a space, CR, LF, # or a bad escape)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = encodeTarget(s);
        expect(out).toMatch(/^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/);
        expect(out).not.toMatch(/%(?![0-9A-Fa-f]{2})/);
      }),
    );
  });

  it('gives uri captures as a null-prototype object a __proto__ group cannot pollute', () => {
    const captures = JSON.parse('{"0":"/x","__proto__":"p","1":null}') as Record<string, string | undefined>;
    captures['1'] = undefined;
    const ctx = pluginRequest(undefined, { captures });
    const caps = ctx.uriCaptures;
    expect(Object.getPrototypeOf(caps)).toBeNull();
    expect(Object.keys(caps)).toEqual(['0', '__proto__']);
    expect(Object.isFrozen(caps)).toBe(true);
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });
});
