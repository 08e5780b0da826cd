import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, plugin, startTrafficGateway, type TrafficGateway } from './helpers.js';

describe('Plugin: request-termination (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const withConfig = (config: Record<string, unknown>) =>
    gw.apply({ plugins: [plugin('request-termination', config, { route: { id: 'r' } })] });

  it('returns 503 "Service unavailable" by default without calling the upstream', async () => {
    withConfig({});
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(503);
    expect(r.json()).toEqual({ message: 'Service unavailable' });
    expect(gw.upstreamHits()).toBe(before);
  });

  it('returns the configured status and message', async () => {
    withConfig({ status_code: 451, message: 'Unavailable for legal reasons' });
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(451);
    expect(r.json()).toEqual({ message: 'Unavailable for legal reasons' });
  });

  it('answers a raw body with the configured content_type, as Kong', async () => {
    withConfig({ status_code: 403, body: '<h1>Closed</h1>\n', content_type: 'text/html; charset=utf-8' });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-length']).toBe('16');
    expect(r.body.toString()).toBe('<h1>Closed</h1>\n');
    expect(gw.upstreamHits()).toBe(before);
  });

  it("sends a raw body without content_type as JSON (Kong's default)", async () => {
    withConfig({ status_code: 200, body: '{"maintenance":true}' });
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.json()).toEqual({ maintenance: true });
  });

  it('terminates only requests carrying the trigger, as a header or a query argument', async () => {
    withConfig({ status_code: 404, trigger: 'X-Kill' });
    expect((await call(gw.port, '/x')).status).toBe(200);
    const byHeader = await call(gw.port, '/x', { headers: { 'x-kill': '1' } });
    expect(byHeader.status).toBe(404);
    expect(byHeader.json()).toEqual({ message: 'Not found' });
    expect((await call(gw.port, '/x?X-Kill')).status).toBe(404);
  });

  it('echoes the request, body included, with echo', async () => {
    withConfig({ status_code: 200, echo: true });
    const r = await call(gw.port, '/x/y?a=1', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-probe': 'yes' },
      body: '{"hello":"world"}',
    });
    expect(r.status).toBe(200);
    const echoed = r.json<{ request: Record<string, unknown>; matched_route: { id: string } }>();
    expect(echoed.request).toMatchObject({
      method: 'POST',
      path: '/x/y',
      query: { a: '1' },
      body: { hello: 'world' },
      raw_body: '{"hello":"world"}',
    });
    expect((echoed.request.headers as Record<string, string>)['x-probe']).toBe('yes');
    expect(echoed.matched_route.id).toBe('r');
  });

  // kong/plugins/request-termination/handler.lua: `port = kong.request.get_port()`, the port of
  // the listener (nginx's server_port), whatever the Host header names.
  it('echoes the listening port as request.port', async () => {
    withConfig({ status_code: 200, echo: true });
    for (const host of ['api.test', 'api.test:8443']) {
      const r = await call(gw.port, '/x', { headers: { host } });
      expect(r.json<{ request: { port: number; host: string } }>().request).toMatchObject({
        port: gw.port,
        host: 'api.test',
      });
    }
  });

  it('triggers on a header named with - when the trigger has _ (nginx lookup)', async () => {
    withConfig({ status_code: 404, trigger: 'x_kill' });
    expect((await call(gw.port, '/x')).status).toBe(200);
    expect((await call(gw.port, '/x', { headers: { 'x-kill': '1' } })).status).toBe(404);
  });
});
