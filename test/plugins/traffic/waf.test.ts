import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, plugin, startTrafficGateway, type TrafficGateway } from './helpers.js';

describe('Plugin: waf (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const withConfig = (config: Record<string, unknown>) =>
    gw.apply({ plugins: [plugin('waf', config, { route: { id: 'r' } })] });

  it('block mode: returns 403 "Forbidden" for an attack without calling the upstream, proxies benign traffic', async () => {
    withConfig({});
    const before = gw.upstreamHits();
    const r = await call(gw.port, `/search?q=${encodeURIComponent("' union select password from users--")}`);
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ message: 'Forbidden' });
    expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PLUGIN_WAF_BLOCKED');
    expect(gw.upstreamHits()).toBe(before);
    const ok = await call(gw.port, `/search?q=${encodeURIComponent("O'Brien & sons")}&email=a%40b.example`);
    expect(ok.status).toBe(200);
    expect(gw.upstreamHits()).toBe(before + 1);
  });

  it('detect mode: proxies the same attack', async () => {
    withConfig({ mode: 'detect' });
    const r = await call(gw.port, `/search?q=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(r.status).toBe(200);
  });

  it('inspects JSON bodies and sends a passing body upstream unchanged', async () => {
    withConfig({});
    const attack = JSON.stringify({ comment: '<img src=x onerror=alert(1)>' });
    const blocked = await call(gw.port, '/comments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: attack,
    });
    expect(blocked.status).toBe(403);
    const benign = JSON.stringify({ comment: "It's great; 5/5 <3", author: 'Zoë' });
    const ok = await call(gw.port, '/comments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: benign,
    });
    expect(ok.status).toBe(200);
    expect(ok.json<{ bodyLength: number }>().bodyLength).toBe(Buffer.byteLength(benign));
  });

  it('excludes a rule category for one argument only', async () => {
    withConfig({ exclusions: [{ target: 'args:html', categories: ['xss'] }] });
    const q = encodeURIComponent('<b onclick=go()>hi</b>');
    expect((await call(gw.port, `/pages?html=${q}`)).status).toBe(200);
    expect((await call(gw.port, `/pages?text=${q}`)).status).toBe(403);
  });

  it('answers 413 for a body over max_body_size in block mode', async () => {
    withConfig({ max_body_size: 16 });
    const r = await call(gw.port, '/upload', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(64),
    });
    expect(r.status).toBe(413);
  });
});
