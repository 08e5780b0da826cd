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
import { compileRouter } from '../router/router.js';
import type { Chain } from '../plugins/runtime/compile.js';
import { originForm, ProxyRequest, type RequestSettings } from './request.js';
import type { ServiceTarget } from './service-targets.js';

const settings: RequestSettings = {
  logger: createLogger('request-test', { level: 'silent' }),
  clientIps: null,
  forwardedPort: '8000',
  tlsForwardedPort: '8443',
};

function incoming(url: string, rawHeaders: string[]): IncomingMessage {
  return {
    url,
    method: 'POST',
    rawHeaders,
    socket: { remoteAddress: '10.0.0.9' },
  } as unknown as IncomingMessage;
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
    const request = new ProxyRequest(
      incoming('/api/x?a=1', ['Host', 'gw.example:8000', 'Content-Length', '3']),
      {} as ServerResponse,
      '/api/x?a=1',
      settings,
    );
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

  it('originForm: an origin-form target stays as it is; any other gives a path or null', () => {
    const pieces = ['/', '://', '?', '#', '*', 'h', '%2F', '\\', ' ', '\u0000', ':', '@', 'é'];
    const hostile = fc.oneof(
      fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((parts) => parts.join('')),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    fc.assert(
      fc.property(hostile, (s) => {
        const out = originForm(s);
        if (s.startsWith('/')) expect(out).toBe(s);
        else if (out !== null) expect(out.startsWith('/')).toBe(true);
        else expect(s.includes('://')).toBe(false);
      }),
      { numRuns: 500 },
    );
    // Absolute form: the path (and query) after the authority, or "/" when there is none.
    const absolute = fc.record({
      scheme: fc.stringMatching(/^[a-z][a-z0-9+.-]{0,8}$/),
      authority: fc.string({ unit: 'binary', maxLength: 20 }).filter((a) => !a.includes('/')),
      path: fc.option(
        fc.string({ unit: 'binary', maxLength: 30 }).map((p) => `/${p}`),
        { nil: '' },
      ),
    });
    fc.assert(
      fc.property(absolute, ({ scheme, authority, path }) => {
        expect(originForm(`${scheme}://${authority}${path}`)).toBe(path === '' ? '/' : path);
      }),
      { numRuns: 300 },
    );
    expect(originForm('http://h.example/a?b')).toBe('/a?b');
    expect(originForm('http://h.example')).toBe('/');
    expect(originForm('*')).toBeNull();
  });
});
