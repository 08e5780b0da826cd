import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  type Route,
  type Service,
} from '@gatehouse/shared';
import { ClientIpResolver } from '../net/client-ip.js';
import { compileRouter } from '../router/router.js';
import type { Chain } from '../plugins/runtime/compile.js';
import { ProxyRequest, type RequestSettings } from './request.js';
import { DEFAULT_REQUEST_POLICY, readRequestHead, type RequestHead } from './request-head.js';
import type { ServiceTarget } from './service-targets.js';

const settings: RequestSettings = {
  logger: createLogger('request-test', { level: 'silent' }),
  clientIps: null,
  forwardedPort: '8000',
  tlsForwardedPort: '8443',
  policy: DEFAULT_REQUEST_POLICY,
};

function incoming(url: string, rawHeaders: string[]): IncomingMessage {
  return {
    url,
    method: 'POST',
    rawHeaders,
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    socket: { remoteAddress: '10.0.0.9' },
  } as unknown as IncomingMessage;
}

function head(req: IncomingMessage): RequestHead {
  const h = readRequestHead(req, DEFAULT_REQUEST_POLICY);
  if (typeof h === 'string') throw new Error(h);
  return h;
}

const service: Service = {
  ...SERVICE_DEFAULTS,
  id: 'svc',
  name: 'svc',
  host: 'backend',
  path: '/base',
  created_at: 1,
  updated_at: 1,
};
const route: Route = {
  ...ROUTE_DEFAULTS,
  id: 'r',
  name: 'r',
  paths: ['/api'],
  service: { id: 'svc' },
  created_at: 1,
  updated_at: 1,
};
const target: ServiceTarget = {
  poolKey: null,
  pool: null,
  balanced: null,
  hostHeader: 'backend:8080',
  servicePath: '/base',
  readTimeout: 1000,
};

describe('ProxyRequest', () => {
  it('has all its fields from the constructor on: routing and plugins add none (one shape)', () => {
    const router = compileRouter<ServiceTarget, Chain>(
      completeConfig({ services: [service], routes: [route] }),
      () => target,
    );
    const req = incoming('/api/x?a=1', ['Host', 'gw.example:8000', 'Content-Length', '3']);
    const request = new ProxyRequest(req, {} as ServerResponse, head(req), settings);
    const keys = Object.keys(request);
    const match = router.match(request);
    expect(match).not.toBeNull();
    request.routeTo(match!);
    request.consumerId = 'c';
    request.query = '';
    expect(Object.keys(request)).toEqual(keys);
    expect(request).toMatchObject({
      method: 'POST',
      path: '/api/x',
      rawQuery: 'a=1',
      upstreamPath: '/base/x',
      upstreamUri: '/base/x?a=1',
      hasBody: true,
      scheme: 'http',
      clientIp: '10.0.0.9',
    });
    const headers = request.headers;
    expect(headers.slice(0, 2)).toEqual(['host', 'backend:8080']);
    expect(headers).toEqual(
      expect.arrayContaining(['x-forwarded-prefix', '/api', 'x-forwarded-port', '8000']),
    );
  });

  it("passes a trusted peer's X-Forwarded-Proto/-Host/-Port/-Path/-Prefix upstream, as Kong does, and replaces anyone else's", () => {
    const router = compileRouter<ServiceTarget, Chain>(
      completeConfig({ services: [service], routes: [{ ...route, strip_path: true }] }),
      () => target,
    );
    const sent = [
      'Host',
      'gw.example:8000',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Proto',
      'http',
      'X-Forwarded-Host',
      'public.example',
      'X-Forwarded-Port',
      '443',
      'X-Forwarded-Path',
      '/edge/api/x',
      'X-Forwarded-Prefix',
      '/edge',
    ];
    const upstreamOf = (trustedIps: string[]) => {
      const req = incoming('/api/x', sent);
      const request = new ProxyRequest(req, {} as ServerResponse, head(req), {
        ...settings,
        clientIps: new ClientIpResolver(trustedIps),
      });
      request.routeTo(router.match(request)!);
      const h = request.headers;
      const of = (name: string) => h.filter((_, i) => i % 2 === 1 && h[i - 1] === name);
      return {
        proto: of('x-forwarded-proto'),
        host: of('x-forwarded-host'),
        port: of('x-forwarded-port'),
        path: of('x-forwarded-path'),
        prefix: of('x-forwarded-prefix'),
        forwardedProto: request.forwardedProto,
      };
    };
    expect(upstreamOf(['10.0.0.0/8'])).toEqual({
      proto: ['https'],
      host: ['public.example'],
      port: ['443'],
      path: ['/edge/api/x'],
      prefix: ['/edge'],
      forwardedProto: 'https',
    });
    expect(upstreamOf(['192.0.2.1'])).toEqual({
      proto: ['http'],
      host: ['gw.example'],
      port: ['8000'],
      path: ['/api/x'],
      prefix: ['/api'],
      forwardedProto: 'http',
    });
  });

  it('readRequestHead: an origin-form target stays as it is; an absolute-form one gives its path and host', () => {
    const pieces = ['/', '://', '?', '#', '*', 'h', '%2F', '\\', ' ', '\u0000', ':', '@', 'é', 'http'];
    const hostile = fc.oneof(
      fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((parts) => parts.join('')),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    fc.assert(
      fc.property(hostile, (s) => {
        const out = readRequestHead(incoming(s, ['Host', 'h.example']), {
          ...DEFAULT_REQUEST_POLICY,
          pathEscapedSlashes: 'keep',
        });
        if (typeof out === 'string') return;
        expect(out.url.startsWith('/')).toBe(true);
        if (s.startsWith('/')) expect(out.url).toBe(s);
        else expect(s.toLowerCase().startsWith('http')).toBe(true);
      }),
      { numRuns: 500 },
    );
    // Absolute form: the path (and query) after the authority, or "/" when there is none.
    const absolute = fc.record({
      scheme: fc.constantFrom('http', 'https', 'HTTP'),
      authority: fc.stringMatching(/^[a-z0-9.-]{1,20}(:[0-9]{1,5})?$/),
      path: fc.option(
        fc.stringMatching(/^[a-z0-9/._~-]{0,30}$/).map((p) => `/${p}`),
        { nil: '' },
      ),
    });
    fc.assert(
      fc.property(absolute, ({ scheme, authority, path }) => {
        const out = head(incoming(`${scheme}://${authority}${path}`, ['Host', 'other.example']));
        expect(out.url).toBe(path === '' ? '/' : path);
        expect(out.host).toBe(authority);
      }),
      { numRuns: 300 },
    );
    expect(head(incoming('http://h.example/a?b', [])).url).toBe('/a?b');
    expect(head(incoming('http://h.example?b', [])).url).toBe('/?b');
    expect(head(incoming('http://h.example', [])).url).toBe('/');
    expect(readRequestHead(incoming('*', ['Host', 'h']), DEFAULT_REQUEST_POLICY)).toBe(
      'GH_ERR_PROXY_BAD_REQUEST',
    );
    expect(readRequestHead(incoming('ftp://h/x', ['Host', 'h']), DEFAULT_REQUEST_POLICY)).toBe(
      'GH_ERR_PROXY_BAD_REQUEST',
    );
    expect(readRequestHead(incoming('http://u:p@h/x', []), DEFAULT_REQUEST_POLICY)).toBe(
      'GH_ERR_PROXY_BAD_HOST',
    );
  });
});
