import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, type GatehouseConfig, type Target, type Upstream } from '@gatehouse/shared';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { call, route, service, startProxy } from '../proxy/helpers.js';
import { namedServer, target, upstream, type Answer, type NamedServer } from './fixtures.js';

function balanced(
  up: Upstream,
  targets: Target[],
  routeFields: Parameters<typeof route>[2] = { paths: ['/'] },
  serviceFields: Parameters<typeof service>[2] = {},
): GatehouseConfig {
  return completeConfig({
    services: [service('svc', 80, { host: up.name, ...serviceFields })],
    routes: [route('r', 'svc', routeFields)],
    upstreams: [up],
    targets,
  });
}

async function servedBy(
  port: number,
  n: number,
  path = '/x',
  headers?: Record<string, string>,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const reply = await call(port, path, { headers });
    expect(reply.status).toBe(200);
    out.push(reply.json<Answer>().server);
  }
  return out;
}

const count = (names: string[]): Record<string, number> =>
  names.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n]: (acc[n] ?? 0) + 1 }), {});

describe('upstream balancing over real sockets', () => {
  let a: NamedServer;
  let b: NamedServer;
  let c: NamedServer;
  let proxy: ProxyServer | null = null;

  beforeAll(async () => {
    a = await namedServer('a');
    b = await namedServer('b');
    c = await namedServer('c');
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close(), c.close()]);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
  });

  const at = (s: NamedServer): string => `127.0.0.1:${s.port}`;

  it('round-robin spreads requests by weight, smoothly and deterministically', async () => {
    const up = upstream('u1', 'pool.rr');
    const started = await startProxy(
      balanced(up, [
        target('t1', 'u1', at(a), 200),
        target('t2', 'u1', at(b), 100),
        target('t3', 'u1', at(c), 100),
      ]),
    );
    proxy = started.proxy;
    const names = await servedBy(started.port, 40);
    expect(count(names)).toEqual({ a: 20, b: 10, c: 10 });
    // smooth: the heavy target never serves three in a row
    expect(names.join('')).not.toMatch(/aaa/);
  });

  it('a weight-0 target gets no traffic', async () => {
    const up = upstream('u1', 'pool.zero');
    const started = await startProxy(
      balanced(up, [target('t1', 'u1', at(a), 100), target('t2', 'u1', at(b), 0)]),
    );
    proxy = started.proxy;
    expect(count(await servedBy(started.port, 10))).toEqual({ a: 10 });
  });

  it('a service host that is not an upstream name is proxied directly', async () => {
    const up = upstream('u1', 'pool.other');
    const cfg = balanced(
      up,
      [target('t1', 'u1', at(a))],
      { paths: ['/'] },
      { host: '127.0.0.1', port: c.port },
    );
    const started = await startProxy(cfg);
    proxy = started.proxy;
    expect(count(await servedBy(started.port, 3))).toEqual({ c: 3 });
  });

  it('least-connections sends new requests away from a target with a request in flight', async () => {
    let release: (() => void) | null = null;
    const holder = (s: NamedServer): void => {
      s.server.prependListener('request', (req, res) => {
        if (req.url === '/hold') release = () => res.end(JSON.stringify({ server: s.name }));
      });
    };
    const slowA = await namedServer('a', (req) => req.url === '/hold');
    const slowB = await namedServer('b', (req) => req.url === '/hold');
    holder(slowA);
    holder(slowB);
    try {
      const up = upstream('u1', 'pool.lc', { algorithm: 'least-connections' });
      const started = await startProxy(
        balanced(up, [target('t1', 'u1', at(slowA)), target('t2', 'u1', at(slowB))]),
      );
      proxy = started.proxy;
      const held = call(started.port, '/hold');
      const deadline = Date.now() + 5_000;
      while (release === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const busy = slowA.seen.includes('GET /hold') ? 'a' : 'b';
      const names = await servedBy(started.port, 6);
      expect(count(names)).toEqual({ [busy === 'a' ? 'b' : 'a']: 6 });
      release!();
      expect((await held).status).toBe(200);
      // with nothing in flight the two alternate again
      expect(new Set(await servedBy(started.port, 4))).toEqual(new Set(['a', 'b']));
    } finally {
      await Promise.all([slowA.close(), slowB.close()]);
    }
  });

  it('latency sends the traffic to the target that answers faster', async () => {
    const slow = await namedServer('slow', (req, res) => {
      setTimeout(() => res.end(JSON.stringify({ server: 'slow' })), 60);
      return true;
    });
    try {
      const up = upstream('u1', 'pool.latency', { algorithm: 'latency' });
      const started = await startProxy(
        balanced(up, [target('t1', 'u1', at(slow)), target('t2', 'u1', at(a))]),
      );
      proxy = started.proxy;
      const names = await servedBy(started.port, 20);
      // each target is measured once, then the fast one takes everything
      expect(count(names).slow ?? 0).toBeLessThanOrEqual(1);
      expect(names.slice(2)).toEqual(Array<string>(18).fill('a'));
    } finally {
      await slow.close();
    }
  });

  it('host_header sets the Host sent to every target; without it the target address is sent', async () => {
    const up = upstream('u1', 'pool.hh', { host_header: 'api.internal' });
    const started = await startProxy(balanced(up, [target('t1', 'u1', at(a))]));
    proxy = started.proxy;
    expect((await call(started.port, '/x')).json<Answer>().host).toBe(`api.internal:${a.port}`);
    proxy.apply(balanced(upstream('u1', 'pool.hh'), [target('t1', 'u1', at(a))]));
    expect((await call(started.port, '/x')).json<Answer>().host).toBe(at(a));
    proxy.apply(balanced(up, [target('t1', 'u1', at(a))], { paths: ['/'], preserve_host: true }));
    const reply = await call(started.port, '/x', { headers: { host: 'client.example' } });
    expect(reply.json<Answer>().host).toBe('client.example');
  });

  it('keeps a target’s pool (and its keep-alive connection) across a swap that leaves it unchanged', async () => {
    const fresh = await namedServer('k');
    try {
      const up = upstream('u1', 'pool.keep');
      const started = await startProxy(balanced(up, [target('t1', 'u1', at(fresh))]));
      proxy = started.proxy;
      await servedBy(started.port, 3);
      proxy.apply(balanced(up, [target('t1', 'u1', at(fresh))], { paths: ['/', '/other'] }));
      await servedBy(started.port, 3);
      expect(fresh.connections).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});
