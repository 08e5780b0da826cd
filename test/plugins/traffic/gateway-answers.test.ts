/**
 * The gateway's own answers on a route with plugins go through the response phase, as Kong's
 * header_filter runs on every response (cors on a 502/504/503), and routes without a service are
 * matched and answered 503 "no Service found with those values" once their plugins ran
 * (kong/init.lua, Kong.access; spec/02-integration/05-proxy/02-router_spec.lua "no Service").
 */
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, route, service } from '../../proxy/helpers.js';
import { upstream } from '../../balancer/fixtures.js';
import { call, consumer, plugin, startTrafficGateway, type TrafficGateway } from './helpers.js';

const ORIGIN = { origin: 'https://app.example.com' };
const NO_SERVICE = { message: 'no Service found with those values' };
const now = Math.floor(Date.now() / 1000);

describe('gateway answers on routes with plugins, and routes without a service (real ProxyServer)', () => {
  let gw: TrafficGateway;
  let silent: net.Server;
  let silentPort: number;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    gw = await startTrafficGateway();
    // Accepts and never answers: the read timeout fires (504).
    silent = net.createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    silentPort = (silent.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await gw.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  const cors = () => plugin('cors', { origins: ['https://app.example.com'] }, { route: { id: 'r' } });

  it('adds the cors headers to a 502 when the upstream refuses the connection', async () => {
    gw.apply({ services: [service('svc', await closedPort())], plugins: [cors()] });
    const r = await call(gw.port, '/x', { headers: ORIGIN });
    expect(r.status).toBe(502);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_UPSTREAM_UNAVAILABLE');
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(r.headers.vary).toBe('Origin');
    expect(JSON.parse(r.body.toString())).toEqual({
      message: 'An invalid response was received from the upstream server',
    });
  });

  it('adds the cors headers to a 504 when the upstream times out', async () => {
    gw.apply({ services: [service('svc', silentPort, { read_timeout: 100 })], plugins: [cors()] });
    const r = await call(gw.port, '/x', { headers: ORIGIN });
    expect(r.status).toBe(504);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('adds the cors headers to a 503 when no target of the upstream is healthy', async () => {
    gw.apply({
      services: [service('svc', 80, { host: 'empty.upstream' })],
      upstreams: [upstream('u1', 'empty.upstream')],
      plugins: [cors()],
    });
    const r = await call(gw.port, '/x', { headers: ORIGIN });
    expect(r.status).toBe(503);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_PEER');
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('answers 503 "no Service found with those values" on a route without a service', async () => {
    gw.apply({ routes: [route('r', 'unused', { paths: ['/'], service: null })] });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString())).toEqual(NO_SERVICE);
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_SERVICE');
    expect(gw.upstreamHits()).toBe(before);
  });

  it('runs the plugins of a route without a service first: request-termination answers, cors decorates the 503', async () => {
    const serviceless = route('r', 'unused', { paths: ['/'], service: null });
    gw.apply({
      routes: [serviceless],
      plugins: [plugin('request-termination', { status_code: 200, message: 'ok' }, { route: { id: 'r' } })],
    });
    const terminated = await call(gw.port, '/x');
    expect(terminated.status).toBe(200);
    expect(JSON.parse(terminated.body.toString())).toEqual({ message: 'ok' });

    gw.apply({ routes: [serviceless], plugins: [cors()] });
    const r = await call(gw.port, '/x', { headers: ORIGIN });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString())).toEqual(NO_SERVICE);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('authenticates before the 503 of a route without a service', async () => {
    gw.apply({
      routes: [route('r', 'unused', { paths: ['/'], service: null })],
      consumers: [consumer('alice')],
      keyauth_credentials: [
        { id: 'k1', consumer: { id: 'alice' }, key: 'alice-key', ttl: null, tags: null, created_at: now },
      ],
      plugins: [plugin('key-auth', {}, { route: { id: 'r' } })],
    });
    expect((await call(gw.port, '/x')).status).toBe(401);
    const r = await call(gw.port, '/x', { headers: { apikey: 'alice-key' } });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString())).toEqual(NO_SERVICE);
  });

  it('still prefers a route with a service that matches better', async () => {
    gw.apply({
      routes: [
        route('r', 'svc', { paths: ['/api'] }),
        route('none', 'unused', { paths: ['/'], service: null }),
      ],
    });
    expect((await call(gw.port, '/api/x')).status).toBe(200);
    expect((await call(gw.port, '/other')).status).toBe(503);
  });
});
