import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@gatehouse/shared';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { call, config, route, service, startProxy, startUpstream, type Upstream } from './helpers.js';

// Each route points at its own service whose path names the route, so the upstream URL tells
// which route the proxy picked: /<route id>/<rest>.
describe('proxy routing end to end (real sockets)', () => {
  let upstream: Upstream;
  let proxy: ProxyServer;
  let port: number;

  const routes: Route[] = [];
  const add = (id: string, fields: Partial<Route>): void => {
    routes.push(route(id, `svc-${id}`, { strip_path: false, ...fields }));
  };

  beforeAll(async () => {
    upstream = await startUpstream();
    add('catchall', { paths: ['/'] });
    add('api', { paths: ['/api'] });
    add('api-v2', { paths: ['/api/v2'] });
    add('host', { hosts: ['example.com'] });
    add('host-api', { hosts: ['example.com'], paths: ['/api'] });
    add('wild', { hosts: ['*.wild.test'] });
    add('post', { paths: ['/api'], methods: ['POST'] });
    add('versioned', { paths: ['/api'], headers: { 'x-version': ['v9'] } });
    add('regex', { paths: ['~/users/(?<id>\\d+)$'], regex_priority: 5 });
    add('disabled', { paths: ['/disabled'] });
    const services = routes.map((r) =>
      service(r.service!.id, upstream.port, { path: `/${r.id}`, enabled: r.id !== 'disabled' }),
    );
    ({ proxy, port } = await startProxy(config(services, routes)));
  });

  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  const cases: {
    name: string;
    path: string;
    method?: string;
    headers?: Record<string, string>;
    to: string;
  }[] = [
    { name: 'catch-all prefix /', path: '/anything', to: '/catchall/anything' },
    { name: 'prefix /api', path: '/api/x', to: '/api/api/x' },
    { name: 'longest prefix wins', path: '/api/v2/x', to: '/api-v2/api/v2/x' },
    { name: 'host beats path', path: '/other', headers: { host: 'example.com' }, to: '/host/other' },
    {
      name: 'host + path beats host',
      path: '/api/y',
      headers: { host: 'example.com:8000' },
      to: '/host-api/api/y',
    },
    { name: 'wildcard host', path: '/w', headers: { host: 'a.b.wild.test' }, to: '/wild/w' },
    { name: 'method + path beats path', path: '/api/z', method: 'POST', to: '/post/api/z' },
    {
      name: 'header + path beats path',
      path: '/api/z',
      headers: { 'X-Version': 'V9' },
      to: '/versioned/api/z',
    },
    { name: 'regex path', path: '/users/42', to: '/regex/users/42' },
    { name: 'regex anchored with $ falls back to prefix', path: '/users/42/x', to: '/catchall/users/42/x' },
    { name: 'query string kept', path: '/api/q?a=1&b=%20', to: '/api/api/q?a=1&b=%20' },
    { name: 'dot segments normalised before matching', path: '/x/../api/./n', to: '/api/api/n' },
    {
      name: 'disabled service is no route (falls to the catch-all)',
      path: '/disabled/x',
      to: '/catchall/disabled/x',
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.method ?? 'GET'} ${c.path} -> ${c.to}`, async () => {
      const reply = await call(port, c.path, { method: c.method, headers: c.headers });
      expect(reply.status).toBe(200);
      expect(reply.json().url).toBe(c.to);
    });
  }

  it('answers 404 with Kong’s JSON body when no route matches', async () => {
    const { proxy: empty, port: emptyPort } = await startProxy(
      config([service('s', upstream.port)], [route('only', 's', { hosts: ['only.test'] })]),
    );
    try {
      const reply = await call(emptyPort, '/nothing');
      expect(reply.status).toBe(404);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(reply.body.toString())).toEqual({ message: 'no Route matched with those values' });
      expect(reply.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_ROUTE');
    } finally {
      await empty.close();
    }
  });

  it('answers 503 JSON before any configuration was applied (issue 8 item 13)', async () => {
    const { proxy: bare, port: barePort } = await startProxy();
    try {
      const r = await call(barePort, '/');
      expect(r.status).toBe(503);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_CONFIG');
      expect(r.json()).toEqual({ message: 'no configuration yet' });
    } finally {
      await bare.close();
    }
  });

  it('answers 426 on plain HTTP for an https-only route', async () => {
    const { proxy: tls, port: tlsPort } = await startProxy(
      config([service('s', upstream.port)], [route('secure', 's', { paths: ['/'], protocols: ['https'] })]),
    );
    try {
      const reply = await call(tlsPort, '/x');
      expect(reply.status).toBe(426);
      expect(JSON.parse(reply.body.toString())).toEqual({ message: 'Please use HTTPS protocol' });
    } finally {
      await tls.close();
    }
  });
});

describe('strip_path / path_handling end to end (Kong spec/fixtures/router_path_handling_tests.lua)', () => {
  let upstream: Upstream;
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(async () => {
    await upstream.close();
  });

  const rows: [string | null, string, boolean, 'v0' | 'v1', string, string][] = [
    [null, '/route', false, 'v0', '/route/x', '/route/x'],
    [null, '/route', true, 'v0', '/route/x', '/x'],
    [null, '/route', true, 'v1', '/routereq', '/req'],
    ['/srv', '/rou', false, 'v0', '/roureq', '/srv/roureq'],
    ['/srv', '/rou', false, 'v1', '/roureq', '/srvroureq'],
    ['/srv', '/rou', true, 'v0', '/roureq', '/srv/req'],
    ['/srv', '/rou', true, 'v1', '/roureq', '/srvreq'],
    ['/srv/', '/rou', true, 'v0', '/rou', '/srv'],
    ['/srv/', '/rou', true, 'v1', '/rou', '/srv/'],
    ['/service', '/route/', true, 'v0', '/route/req?q=1', '/service/req?q=1'],
    ['/service', '/route', true, 'v0', '/route%2E/req', '/service/req'],
  ];

  for (const [servicePath, routePath, strip, handling, request, expected] of rows) {
    it(`service ${servicePath ?? '(none)'} route ${routePath} strip=${strip} ${handling}: ${request} -> ${expected}`, async () => {
      const { proxy, port } = await startProxy(
        config(
          [service('s', upstream.port, { path: servicePath })],
          [route('r', 's', { paths: [routePath], strip_path: strip, path_handling: handling })],
        ),
      );
      try {
        const reply = await call(port, request);
        expect(reply.status).toBe(200);
        expect(reply.json().url).toBe(expected);
      } finally {
        await proxy.close();
      }
    });
  }
});
