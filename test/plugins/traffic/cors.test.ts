import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, echo, service } from '../../proxy/helpers.js';
import { target, upstream } from '../../balancer/fixtures.js';
import { plugin, startTrafficGateway, type TrafficGateway } from './helpers.js';

const PREFLIGHT = {
  method: 'OPTIONS',
  headers: {
    origin: 'https://app.example.com',
    'access-control-request-method': 'PUT',
    'access-control-request-headers': 'X-Token, Content-Type',
  },
};

describe('Plugin: cors (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const withConfig = (config: Record<string, unknown>, extra: Parameters<TrafficGateway['apply']>[0] = {}) =>
    gw.apply({ plugins: [plugin('cors', config, { route: { id: 'r' } })], ...extra });

  it('answers a CORS preflight without calling the upstream', async () => {
    withConfig({
      origins: ['https://app.example.com', 'https://admin.example.com'],
      max_age: 3600,
      credentials: true,
    });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x', PREFLIGHT);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(r.headers['access-control-allow-methods']).toBe(
      'GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT',
    );
    expect(r.headers['access-control-allow-headers']).toBe('X-Token, Content-Type');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-max-age']).toBe('3600');
    expect(r.headers.vary).toBe('Origin');
    expect(gw.upstreamHits()).toBe(before);
  });

  it('answers the private-network preflight header only when enabled and asked for', async () => {
    withConfig({ private_network: true });
    const r = await call(gw.port, '/x', {
      ...PREFLIGHT,
      headers: { ...PREFLIGHT.headers, 'access-control-request-private-network': 'true' },
    });
    expect(r.headers['access-control-allow-private-network']).toBe('true');
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });

  it('proxies the preflight to the upstream with preflight_continue, adding no CORS header', async () => {
    withConfig({ preflight_continue: true });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x', PREFLIGHT);
    expect(r.status).toBe(200);
    expect(gw.upstreamHits()).toBe(before + 1);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds CORS headers to a proxied response, appending Origin to the upstream Vary', async () => {
    gw.setUpstream((req, res) => {
      res.setHeader('vary', 'Accept-Encoding');
      res.setHeader('access-control-allow-origin', 'https://upstream.example');
      echo(req, res);
    });
    try {
      withConfig({ origins: ['https://.*\\.example\\.com'], exposed_headers: ['X-Total-Count'] });
      const r = await call(gw.port, '/x', { headers: { origin: 'https://app.example.com' } });
      expect(r.status).toBe(200);
      expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(r.headers['access-control-expose-headers']).toBe('X-Total-Count');
      expect(r.headers.vary).toBe('Accept-Encoding, Origin');

      const foreign = await call(gw.port, '/x', { headers: { origin: 'https://evil.test' } });
      expect(foreign.status).toBe(200);
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      gw.setUpstream(echo);
    }
  });

  it('adds CORS headers to a 401 from an authentication plugin and answers preflights before it', async () => {
    gw.apply({
      plugins: [plugin('cors', {}, { route: { id: 'r' } }), plugin('key-auth', {}, { route: { id: 'r' } })],
    });
    const r = await call(gw.port, '/x', { headers: { origin: 'https://app.example.com' } });
    expect(r.status).toBe(401);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const pre = await call(gw.port, '/x', PREFLIGHT);
    expect(pre.status).toBe(200);
  });

  it('adds CORS headers to responses of a service balanced over an upstream', async () => {
    gw.setUpstream((req, res) => {
      res.setHeader('vary', 'Accept-Encoding');
      echo(req, res);
    });
    try {
      gw.apply({
        services: [service('svc', 80, { host: 'cors.pool' })],
        upstreams: [upstream('u-cors', 'cors.pool')],
        targets: [target('t-cors', 'u-cors', `127.0.0.1:${gw.upstreamPort}`)],
        plugins: [
          plugin(
            'cors',
            {
              origins: ['https://app.example.com', 'https://admin.example.com'],
              exposed_headers: ['X-Total-Count'],
            },
            { route: { id: 'r' } },
          ),
        ],
      });
      const before = gw.upstreamHits();
      const r = await call(gw.port, '/x', { headers: { origin: 'https://app.example.com' } });
      expect(r.status).toBe(200);
      expect(gw.upstreamHits()).toBe(before + 1);
      expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(r.headers['access-control-expose-headers']).toBe('X-Total-Count');
      expect(r.headers.vary).toBe('Accept-Encoding, Origin');
    } finally {
      gw.setUpstream(echo);
    }
  });
});
