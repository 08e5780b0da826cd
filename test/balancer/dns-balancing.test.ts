/**
 * DNS balancing over real sockets (issue 12): a ProxyServer whose resolver asks a real local DNS
 * server (test/helpers/dns-server.ts) balances a service host or an upstream target name over the
 * addresses it resolves to (A, AAAA when `dns_order` names it, SRV); answers are refreshed in the
 * background (a changed answer is used with no request waiting), kept while the DNS server is down
 * (dns_stale_ttl), and a name that does not resolve is Kong's 503 "name resolution failed".
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, createLogger, type GatehouseConfig } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { DnsResolver } from '../../data-plane/src/dns/resolver.js';
import { dnsSettings, type DnsSettings } from '../../data-plane/src/dns/settings.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { call, route, service } from '../proxy/helpers.js';
import { eventually, target, upstream } from './fixtures.js';

const logger = createLogger('dns-balancing-test', {
  level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent',
});

interface Backend {
  address: string;
  port: number;
  seen: string[];
  /** Host headers received. */
  hosts: string[];
  /** Status to answer with (default 200). */
  status: number;
  /** Delay before answering (ms). */
  delayMs: number;
  server: http.Server;
}

/** An HTTP server on `address` (any 127.0.0.0/8 address, or ::1) answering its own name. */
async function backend(address: string, port = 0): Promise<Backend> {
  const b: Backend = { address, port, seen: [], hosts: [], status: 200, delayMs: 0, server: null! };
  b.server = http.createServer((req, res) => {
    b.seen.push(req.url!);
    b.hosts.push(req.headers.host ?? '');
    const name = `${address.includes(':') ? `[${address}]` : address}:${b.port}`;
    setTimeout(() => {
      res.writeHead(b.status, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(name);
    }, b.delayMs);
  });
  b.server.listen(port, address);
  await once(b.server, 'listening');
  b.port = (b.server.address() as AddressInfo).port;
  return b;
}

async function closeAll(backends: Backend[]): Promise<void> {
  for (const b of backends) {
    b.server.closeAllConnections();
    await new Promise<void>((r) => b.server.close(() => r()));
  }
}

async function startProxy(
  dns: TestDnsServer,
  settings: Partial<DnsSettings> = {},
): Promise<{ proxy: ProxyServer; port: number; resolver: DnsResolver }> {
  const resolver = new DnsResolver(
    { ...dnsSettings({ resolver: dns.address }), hostsFile: null, timeoutMs: 200, attempts: 1, ...settings },
    { logger },
  );
  const proxy = new ProxyServer({ logger, dns: resolver });
  await proxy.listen(0, '127.0.0.1');
  return { proxy, port: (proxy.server.address() as AddressInfo).port, resolver };
}

/** Applies `config` as a data plane worker does: its names resolved first, then compiled. */
async function apply(proxy: ProxyServer, config: GatehouseConfig): Promise<void> {
  await proxy.prime(config);
  proxy.apply(config);
}

function direct(host: string, port: number, fields: Parameters<typeof service>[2] = {}): GatehouseConfig {
  return completeConfig({
    services: [service('svc', port, { host, ...fields })],
    routes: [route('r', 'svc', { paths: ['/'] })],
  });
}

async function backendsOf(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const reply = await call(port, '/x');
    expect(reply.status).toBe(200);
    out.push(reply.headers['x-backend'] as string);
  }
  return out;
}

const count = (names: string[]): Record<string, number> =>
  names.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n]: (acc[n] ?? 0) + 1 }), {});

describe('DNS balancing', () => {
  let dns: TestDnsServer;
  let running: { proxy: ProxyServer }[] = [];
  let backends: Backend[] = [];

  beforeAll(async () => {
    dns = await startDnsServer();
  });
  afterAll(async () => {
    await dns.close();
  });
  afterEach(async () => {
    for (const r of running) await r.proxy.close();
    running = [];
    await closeAll(backends);
    backends = [];
  });

  async function proxyFor(settings: Partial<DnsSettings> = {}) {
    const p = await startProxy(dns, settings);
    running.push(p);
    return p;
  }

  /** Three backends on 127.0.0.1-3, one port. */
  async function three(): Promise<Backend[]> {
    const first = await backend('127.0.0.1');
    const rest = [await backend('127.0.0.2', first.port), await backend('127.0.0.3', first.port)];
    backends.push(first, ...rest);
    return [first, ...rest];
  }

  it('balances a service host with 3 A records over all 3 servers, Host naming the service host', async () => {
    const [a, b, c] = await three();
    dns.set('three.test', { A: ['127.0.0.1', '127.0.0.2', '127.0.0.3'], ttl: 60 });
    const { proxy, port } = await proxyFor();
    await apply(proxy, direct('three.test', a!.port));
    const seen = count(await backendsOf(port, 30));
    expect(seen).toEqual({
      [`127.0.0.1:${a!.port}`]: 10,
      [`127.0.0.2:${b!.port}`]: 10,
      [`127.0.0.3:${c!.port}`]: 10,
    });
    expect(new Set([...a!.hosts, ...b!.hosts, ...c!.hosts])).toEqual(new Set([`three.test:${a!.port}`]));
  });

  /** Kong's `dns_order` with AAAA tried after A (Kong's default has no AAAA). */
  const WITH_AAAA: DnsSettings['order'] = ['LAST', 'SRV', 'A', 'AAAA', 'CNAME'];

  it('proxies a service host that has only an AAAA record to its IPv6 address, cached for the TTL', async () => {
    const v6 = await backend('::1');
    backends.push(v6);
    dns.set('six.test', { AAAA: ['::1'], ttl: 60 });
    const { proxy, port, resolver } = await proxyFor({ order: WITH_AAAA });
    await apply(proxy, direct('six.test', v6.port));
    expect(count(await backendsOf(port, 3))).toEqual({ [`[::1]:${v6.port}`]: 3 });
    expect(v6.hosts).toEqual(Array(3).fill(`six.test:${v6.port}`));
    expect(resolver.peek('six.test')).toMatchObject({
      records: [{ address: '::1', port: null }],
      error: null,
    });
    // A then AAAA asked once each; the requests and a second resolve within the TTL ask nothing.
    const asked = (): string[] => dns.questions.filter((q) => q.endsWith('six.test'));
    expect(asked()).toEqual(['SRV six.test', 'A six.test', 'AAAA six.test']);
    await resolver.resolve('six.test');
    expect(asked()).toHaveLength(3);
    // Kong's default dns_order (LAST,SRV,A,CNAME) never asks for AAAA: the same name is a 503.
    const kong = await proxyFor();
    await apply(kong.proxy, direct('six.test', v6.port));
    expect((await call(kong.port, '/x')).status).toBe(503);
  });

  it('refreshes an AAAA answer when its TTL ends, off the request path, as an A answer', async () => {
    const v6 = await backend('::1');
    const v4 = await backend('127.0.0.1', v6.port);
    backends.push(v6, v4);
    dns.set('flip6.test', { AAAA: ['::1'], ttl: 1 });
    const { proxy, port, resolver } = await proxyFor({ order: ['AAAA', 'A'] });
    await apply(proxy, direct('flip6.test', v6.port));
    expect(count(await backendsOf(port, 2))).toEqual({ [`[::1]:${v6.port}`]: 2 });
    // The name moves to IPv4: the AAAA answer expires and the refresh finds the A record.
    dns.set('flip6.test', { A: ['127.0.0.1'], ttl: 1 });
    await eventually(() => resolver.peek('flip6.test')?.records[0]?.address === '127.0.0.1', 10_000);
    await new Promise((r) => setImmediate(r));
    expect(count(await backendsOf(port, 2))).toEqual({ [`127.0.0.1:${v4.port}`]: 2 });
  });

  it('uses the first dns_order type that answers for a name with both A and AAAA records (Kong)', async () => {
    const v6 = await backend('::1');
    const v4 = await backend('127.0.0.1', v6.port);
    backends.push(v6, v4);
    dns.set('dual.test', { A: ['127.0.0.1'], AAAA: ['::1'], ttl: 60 });
    const a = await proxyFor({ order: WITH_AAAA });
    await apply(a.proxy, direct('dual.test', v6.port));
    expect(count(await backendsOf(a.port, 2))).toEqual({ [`127.0.0.1:${v4.port}`]: 2 });
    const six = await proxyFor({ order: ['AAAA', 'A'] });
    await apply(six.proxy, direct('dual.test', v6.port));
    expect(count(await backendsOf(six.port, 2))).toEqual({ [`[::1]:${v6.port}`]: 2 });
  });

  it('balances an upstream target over the addresses of its AAAA records', async () => {
    const v6 = await backend('::1');
    backends.push(v6);
    dns.set('pool6.test', { AAAA: ['::1'], ttl: 60 });
    const up = upstream('u-six', 'six.pool');
    const config = completeConfig({
      services: [service('svc', 80, { host: up.name })],
      routes: [route('r', 'svc', { paths: ['/'] })],
      upstreams: [up],
      targets: [target('t-six', up.id, `pool6.test:${v6.port}`)],
    });
    const { proxy, port } = await proxyFor({ order: WITH_AAAA });
    await apply(proxy, config);
    expect(count(await backendsOf(port, 3))).toEqual({ [`[::1]:${v6.port}`]: 3 });
    expect(proxy.balancers.health()['six.pool']).toEqual({ [`[::1]:${v6.port}`]: true });
  });

  it('splits an upstream target named by SRV records of weights 1:3 one to three', async () => {
    const light = await backend('127.0.0.1');
    const heavy = await backend('127.0.0.1');
    backends.push(light, heavy);
    dns.set('_http._tcp.srv.test', {
      SRV: [
        { target: 'node.srv.test', port: light.port, weight: 1 },
        { target: 'node.srv.test', port: heavy.port, weight: 3 },
        // a lower priority (higher value): never used while the others are there
        { target: 'node.srv.test', port: 1, weight: 100, priority: 20 },
      ],
    });
    dns.set('node.srv.test', { A: ['127.0.0.1'] });
    const up = upstream('u-srv', 'srv.pool');
    const config = completeConfig({
      services: [service('svc', 80, { host: up.name })],
      routes: [route('r', 'svc', { paths: ['/'] })],
      upstreams: [up],
      targets: [target('t-srv', up.id, '_http._tcp.srv.test:9999')],
    });
    const { proxy, port } = await proxyFor();
    await apply(proxy, config);
    const seen = count(await backendsOf(port, 40));
    // Smooth weighted round-robin is exact over whole cycles; the tolerance allows one cycle off.
    expect(Math.abs(seen[`127.0.0.1:${light.port}`]! - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs(seen[`127.0.0.1:${heavy.port}`]! - 30)).toBeLessThanOrEqual(1);
  });

  it('refreshes an expired answer in the background: the new set serves with no request waiting', async () => {
    const [a, b] = await three();
    dns.set('moving.test', { A: ['127.0.0.1'], ttl: 1 });
    const { proxy, port, resolver } = await proxyFor();
    await apply(proxy, direct('moving.test', a!.port));
    expect(count(await backendsOf(port, 3))).toEqual({ [`127.0.0.1:${a!.port}`]: 3 });
    dns.set('moving.test', { A: ['127.0.0.2'], ttl: 1 });
    const asked = dns.questions.filter((q) => q.endsWith('moving.test')).length;
    // No request is sent while the TTL runs out: the resolver asks again by itself...
    await eventually(() => dns.questions.filter((q) => q.endsWith('moving.test')).length > asked, 10_000);
    await eventually(() => resolver.peek('moving.test')?.records[0]?.address === '127.0.0.2', 10_000);
    // ...and the proxy recompiled: the very next request goes to the new address.
    await new Promise((r) => setImmediate(r));
    expect(count(await backendsOf(port, 3))).toEqual({ [`127.0.0.2:${b!.port}`]: 3 });
  });

  it('keeps in-flight requests when the answer changes under them', async () => {
    const [a, b] = await three();
    a!.delayMs = 1_500;
    dns.set('busy.test', { A: ['127.0.0.1'], ttl: 1 });
    const { proxy, port, resolver } = await proxyFor();
    await apply(proxy, direct('busy.test', a!.port));
    const slow = call(port, '/slow');
    await eventually(() => a!.seen.includes('/slow'));
    dns.set('busy.test', { A: ['127.0.0.2'], ttl: 1 });
    await eventually(() => resolver.peek('busy.test')?.records[0]?.address === '127.0.0.2', 10_000);
    await new Promise((r) => setImmediate(r));
    expect(count(await backendsOf(port, 2))).toEqual({ [`127.0.0.2:${b!.port}`]: 2 });
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(reply.headers['x-backend']).toBe(`127.0.0.1:${a!.port}`);
  });

  it('serves the stale answer while the DNS server is down (dns_stale_ttl), counting the errors', async () => {
    const [a] = await three();
    dns.set('stale.test', { A: ['127.0.0.1'], ttl: 1 });
    const { proxy, port, resolver } = await proxyFor({ errorTtl: 1 });
    await apply(proxy, direct('stale.test', a!.port));
    dns.down = true;
    try {
      await eventually(() => resolver.stats.staleServed >= 2, 10_000);
      expect(resolver.stats.errors).toBeGreaterThanOrEqual(2);
      expect(resolver.peek('stale.test')?.stale).toBe(true);
      expect(count(await backendsOf(port, 3))).toEqual({ [`127.0.0.1:${a!.port}`]: 3 });
    } finally {
      dns.down = false;
    }
  });

  it('drops an answer past dns_stale_ttl: the service answers 503 name resolution failed', async () => {
    const [a] = await three();
    dns.set('gone.test', { A: ['127.0.0.1'], ttl: 1 });
    const { proxy, port, resolver } = await proxyFor({ staleTtl: 0, errorTtl: 1 });
    await apply(proxy, direct('gone.test', a!.port));
    expect((await call(port, '/x')).status).toBe(200);
    dns.down = true;
    try {
      await eventually(() => resolver.peek('gone.test')?.records.length === 0, 10_000);
      await new Promise((r) => setImmediate(r));
      const reply = await call(port, '/x');
      expect(reply.status).toBe(503);
      expect(reply.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NAME_RESOLUTION');
    } finally {
      dns.down = false;
    }
  });

  it("answers Kong's 503 name resolution failed for a service host that does not exist", async () => {
    dns.set('missing.test', undefined);
    const { proxy, port } = await proxyFor();
    await apply(proxy, direct('missing.test', 80));
    const reply = await call(port, '/x');
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body.toString())).toEqual({ message: 'name resolution failed' });
    expect(reply.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NAME_RESOLUTION');
  });

  it('applies passive health checks per resolved address of a target name', async () => {
    const [a, b] = await three();
    b!.status = 500;
    dns.set('pair.test', { A: ['127.0.0.1', '127.0.0.2'] });
    const base = upstream('x', 'x').healthchecks;
    const up = upstream('u-pair', 'pair.pool', {
      healthchecks: {
        ...base,
        passive: { ...base.passive, unhealthy: { ...base.passive.unhealthy, http_failures: 1 } },
      },
      tags: ['gatehouse:half-open=0'],
    });
    const config = completeConfig({
      services: [service('svc', 80, { host: up.name, retries: 0 })],
      routes: [route('r', 'svc', { paths: ['/'] })],
      upstreams: [up],
      targets: [target('t-pair', up.id, `pair.test:${a!.port}`)],
    });
    const { proxy, port } = await proxyFor();
    await apply(proxy, config);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(port, '/x')).status);
    // One 500 ejects 127.0.0.2 (its address alone); every later request goes to 127.0.0.1.
    expect(statuses.filter((s) => s === 500)).toHaveLength(1);
    expect(proxy.balancers.health()['pair.pool']).toEqual({
      [`127.0.0.1:${a!.port}`]: true,
      [`127.0.0.2:${a!.port}`]: false,
    });
    // An operator's order for the target name reaches every address it resolved to.
    expect(proxy.balancers.setTargetHealth('pair.pool', `pair.test:${a!.port}`, true)).toBe(true);
    expect(proxy.balancers.health()['pair.pool']![`127.0.0.2:${a!.port}`]).toBe(true);
  });
});
