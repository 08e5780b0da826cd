import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, plugin, startTrafficGateway, type TrafficGateway } from './helpers.js';

describe('Plugin: ip-restriction (access, real ProxyServer)', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const withConfig = (config: Record<string, unknown>) =>
    gw.apply({ plugins: [plugin('ip-restriction', config, { route: { id: 'r' } })] });

  it('returns 403 "Your IP address is not allowed" when the client IP is in deny, without calling the upstream', async () => {
    withConfig({ deny: ['127.0.0.0/8'] });
    const before = gw.upstreamHits();
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ message: 'Your IP address is not allowed' });
    expect(gw.upstreamHits()).toBe(before);
  });

  it('proxies a client outside deny', async () => {
    withConfig({ deny: ['10.0.0.0/8', '2001:db8::/32'] });
    expect((await call(gw.port, '/x')).status).toBe(200);
  });

  it('returns 403 when the client IP is outside allow, and proxies when inside', async () => {
    withConfig({ allow: ['10.0.0.0/8'] });
    expect((await call(gw.port, '/x')).status).toBe(403);
    withConfig({ allow: ['10.0.0.0/8', '127.0.0.1'] });
    expect((await call(gw.port, '/x')).status).toBe(200);
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', async () => {
    withConfig({ allow: ['10.0.0.0/8'] });
    const spoofed = await call(gw.port, '/x', {
      headers: { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3' },
    });
    expect(spoofed.status).toBe(403);
    withConfig({ deny: ['127.0.0.1'] });
    const hidden = await call(gw.port, '/x', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(hidden.status).toBe(403);
  });

  it('answers with the configured status and message', async () => {
    withConfig({ deny: ['127.0.0.1'], status: 401, message: 'Nope' });
    const r = await call(gw.port, '/x');
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ message: 'Nope' });
  });
});

describe('Plugin: ip-restriction on a dual-stack listener', () => {
  let gw: TrafficGateway;
  beforeAll(async () => {
    gw = await startTrafficGateway('::');
  });
  afterAll(async () => {
    await gw.close();
  });

  it('matches an IPv4 client seen as an IPv4-mapped IPv6 peer against IPv4 blocks', async () => {
    gw.apply({ plugins: [plugin('ip-restriction', { deny: ['127.0.0.1/32'] })] });
    expect((await call(gw.port, '/x')).status).toBe(403);
    gw.apply({ plugins: [plugin('ip-restriction', { allow: ['127.0.0.1'] })] });
    expect((await call(gw.port, '/x')).status).toBe(200);
  });
});
