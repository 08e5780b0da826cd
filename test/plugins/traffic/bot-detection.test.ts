import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, parseRaw, plugin, rawRequest, startTrafficGateway, type TrafficGateway } from './helpers.js';

describe('Plugin: bot-detection (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const withConfig = (config: Record<string, unknown>) =>
    gw.apply({ plugins: [plugin('bot-detection', config, { route: { id: 'r' } })] });

  it('returns 403 "Forbidden" for a known crawler without calling the upstream', async () => {
    withConfig({});
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x', {
      headers: { 'user-agent': 'Mozilla/5.0 (compatible; bingbot/2.0)' },
    });
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ message: 'Forbidden' });
    expect(gw.upstreamHits()).toBe(before);
  });

  it('proxies a browser, curl and a request without User-Agent', async () => {
    withConfig({});
    const chrome =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
    expect((await call(gw.port, '/x', { headers: { 'user-agent': chrome } })).status).toBe(200);
    expect((await call(gw.port, '/x', { headers: { 'user-agent': 'curl/8.5.0' } })).status).toBe(200);
    expect((await call(gw.port, '/x')).status).toBe(200);
  });

  it('applies the deny regexes and lets the allow regexes override the built-in list', async () => {
    withConfig({ deny: ['^curl/'], allow: ['bingbot'] });
    expect((await call(gw.port, '/x', { headers: { 'user-agent': 'curl/8.5.0' } })).status).toBe(403);
    expect(
      (await call(gw.port, '/x', { headers: { 'user-agent': 'Mozilla/5.0 (compatible; bingbot/2.0)' } }))
        .status,
    ).toBe(200);
  });

  it('returns 400 when the request carries two User-Agent headers', async () => {
    withConfig({});
    const { data } = await rawRequest(
      gw.port,
      'GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0\r\nUser-Agent: Googlebot/2.1\r\nConnection: close\r\n\r\n',
      () => {},
    );
    const r = parseRaw(data);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ message: 'Only one User-Agent header allowed' });
  });
});
