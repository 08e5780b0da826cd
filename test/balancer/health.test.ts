import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, type GatehouseConfig, type Target, type Upstream } from '@gatehouse/shared';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { call, closedPort, route, service, startProxy } from '../proxy/helpers.js';
import { eventually, namedServer, target, upstream, type Answer, type NamedServer } from './fixtures.js';

function balanced(up: Upstream, targets: Target[], retries = 5): GatehouseConfig {
  return completeConfig({
    services: [service('svc', 80, { host: up.name, retries, connect_timeout: 2_000 })],
    routes: [route('r', 'svc', { paths: ['/'] })],
    upstreams: [up],
    targets,
  });
}

function passive(fields: Partial<Upstream['healthchecks']['passive']['unhealthy']>, successes = 0) {
  const base = upstream('x', 'x').healthchecks;
  return {
    ...base,
    passive: {
      ...base.passive,
      healthy: { ...base.passive.healthy, successes },
      unhealthy: { ...base.passive.unhealthy, ...fields },
    },
  };
}

describe('retries and health checks over real sockets', () => {
  let good: NamedServer;
  let flaky: NamedServer;
  let flakyStatus = 500;
  let proxy: ProxyServer | null = null;
  let port = 0;

  beforeAll(async () => {
    good = await namedServer('good');
    flaky = await namedServer('flaky', (req, res) => {
      if (flakyStatus === 200) return false;
      res.writeHead(flakyStatus, { 'content-type': 'text/plain' });
      res.end('broken');
      return true;
    });
  });
  afterAll(async () => {
    await Promise.all([good.close(), flaky.close()]);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    flakyStatus = 500;
  });

  async function start(config: GatehouseConfig): Promise<void> {
    const started = await startProxy(config);
    proxy = started.proxy;
    port = started.port;
  }

  it('retries a refused connection on the next target: every request succeeds', async () => {
    const dead = await closedPort();
    await start(
      balanced(upstream('u1', 'pool.retry'), [
        target('t1', 'u1', `127.0.0.1:${dead}`),
        target('t2', 'u1', `127.0.0.1:${good.port}`),
      ]),
    );
    for (let i = 0; i < 6; i++) {
      const reply = await call(port, '/x');
      expect(reply.status).toBe(200);
      expect(reply.json<Answer>().server).toBe('good');
    }
  });

  it('re-sends a POST body to the next target when the first connection was refused', async () => {
    const dead = await closedPort();
    await start(
      balanced(upstream('u1', 'pool.retry'), [
        target('t1', 'u1', `127.0.0.1:${dead}`),
        target('t2', 'u1', `127.0.0.1:${good.port}`),
      ]),
    );
    for (let i = 0; i < 4; i++) {
      const reply = await call(port, '/x', { method: 'POST', body: `payload-${i}` });
      expect(reply.status).toBe(200);
      expect(reply.json<Answer>().body).toBe(`payload-${i}`);
    }
  });

  it('with retries = 0 a refused target answers 502', async () => {
    const dead = await closedPort();
    await start(
      balanced(
        upstream('u1', 'pool.noretry'),
        [target('t1', 'u1', `127.0.0.1:${dead}`), target('t2', 'u1', `127.0.0.1:${good.port}`)],
        0,
      ),
    );
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(port, '/x')).status);
    expect(statuses.sort()).toEqual([200, 200, 502, 502]);
  });

  it('passive checks mark a target answering 500 unhealthy; traffic then avoids it', async () => {
    await start(
      balanced(upstream('u1', 'pool.passive', { healthchecks: passive({ http_failures: 2 }) }), [
        target('t1', 'u1', `127.0.0.1:${flaky.port}`),
        target('t2', 'u1', `127.0.0.1:${good.port}`),
      ]),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(port, '/x')).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(2);
    expect(proxy!.balancers.health()['pool.passive']).toEqual({
      [`127.0.0.1:${flaky.port}`]: false,
      [`127.0.0.1:${good.port}`]: true,
    });
    for (let i = 0; i < 10; i++) {
      const reply = await call(port, '/x');
      expect(reply.status).toBe(200);
      expect(reply.json<Answer>().server).toBe('good');
    }
  });

  it('passive tcp_failures mark a refused target down, so it is no longer tried at all', async () => {
    const dead = await closedPort();
    await start(
      balanced(upstream('u1', 'pool.tcp', { healthchecks: passive({ tcp_failures: 1 }) }), [
        target('t1', 'u1', `127.0.0.1:${dead}`),
        target('t2', 'u1', `127.0.0.1:${good.port}`),
      ]),
    );
    for (let i = 0; i < 5; i++) expect((await call(port, '/x')).status).toBe(200);
    expect(proxy!.balancers.health()['pool.tcp']![`127.0.0.1:${dead}`]).toBe(false);
  });

  it('answers 503 with Kong’s message when every target is unhealthy', async () => {
    await start(
      balanced(upstream('u1', 'pool.down', { healthchecks: passive({ http_failures: 1 }) }), [
        target('t1', 'u1', `127.0.0.1:${flaky.port}`),
      ]),
    );
    expect((await call(port, '/x')).status).toBe(500);
    const reply = await call(port, '/x');
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body.toString())).toEqual({
      message: 'failure to get a peer from the ring-balancer',
    });
    expect(reply.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_NO_PEER');
  });

  it('a read timeout counts as a passive timeout; an idempotent request is retried on the next target', async () => {
    const stalled = await namedServer('stalled', () => true); // never answers
    try {
      const config = balanced(upstream('u1', 'pool.timeout', { healthchecks: passive({ timeouts: 1 }) }), [
        target('t1', 'u1', `127.0.0.1:${stalled.port}`),
        target('t2', 'u1', `127.0.0.1:${good.port}`),
      ]);
      config.services[0]!.read_timeout = 150;
      await start(config);
      for (let i = 0; i < 4; i++) {
        const reply = await call(port, '/x');
        expect(reply.status).toBe(200);
        expect(reply.json<Answer>().server).toBe('good');
      }
      expect(proxy!.balancers.health()['pool.timeout']![`127.0.0.1:${stalled.port}`]).toBe(false);
      expect(stalled.seen.length).toBe(1);
      // a POST is never re-sent once it reached a target: the timeout answers 504
      proxy!.balancers.setTargetHealth('pool.timeout', `127.0.0.1:${stalled.port}`, true);
      const statuses = new Set<number>();
      for (let i = 0; i < 2; i++)
        statuses.add((await call(port, '/x', { method: 'POST', body: 'once' })).status);
      expect(statuses).toEqual(new Set([200, 504]));
    } finally {
      await stalled.close();
    }
  });

  it('healthchecks.threshold: the upstream is down when the healthy weight share is below it', async () => {
    const base = upstream('x', 'x').healthchecks;
    await start(
      balanced(upstream('u1', 'pool.threshold', { healthchecks: { ...base, threshold: 50 } }), [
        target('t1', 'u1', `127.0.0.1:${good.port}`),
        target('t2', 'u1', '127.0.0.1:1'),
        target('t3', 'u1', '127.0.0.1:2'),
      ]),
    );
    proxy!.balancers.setTargetHealth('pool.threshold', '127.0.0.1:1', false);
    expect((await call(port, '/x')).status).toBe(200); // 66 % healthy
    proxy!.balancers.setTargetHealth('pool.threshold', '127.0.0.1:2', false);
    expect((await call(port, '/x')).status).toBe(503); // 33 % < 50 %
    proxy!.balancers.setTargetHealth('pool.threshold', '127.0.0.1:2', true);
    expect((await call(port, '/x')).status).not.toBe(503);
  });

  it('answers 503 when the upstream has no targets', async () => {
    await start(balanced(upstream('u1', 'pool.empty'), []));
    expect((await call(port, '/x')).status).toBe(503);
  });

  it('active checks mark a failing target down, and bring it back once it recovers', async () => {
    const base = upstream('x', 'x').healthchecks;
    const healthchecks = {
      ...base,
      active: {
        ...base.active,
        http_path: '/health',
        timeout: 1,
        healthy: { ...base.active.healthy, interval: 0.05, successes: 2 },
        unhealthy: { ...base.active.unhealthy, interval: 0.05, http_failures: 2 },
      },
    };
    await start(
      balanced(upstream('u1', 'pool.active', { healthchecks }), [
        target('t1', 'u1', `127.0.0.1:${flaky.port}`),
        target('t2', 'u1', `127.0.0.1:${good.port}`),
      ]),
    );
    const key = `127.0.0.1:${flaky.port}`;
    await eventually(() => proxy!.balancers.health()['pool.active']![key] === false);
    expect(flaky.seen).toContain('GET /health');
    for (let i = 0; i < 6; i++) expect((await call(port, '/x')).json<Answer>().server).toBe('good');
    flakyStatus = 200;
    await eventually(() => proxy!.balancers.health()['pool.active']![key] === true);
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) names.add((await call(port, '/x')).json<Answer>().server);
    expect(names).toEqual(new Set(['good', 'flaky']));
  });

  it('active checks stop when their upstream leaves the configuration and on close', async () => {
    const base = upstream('x', 'x').healthchecks;
    const healthchecks = {
      ...base,
      active: {
        ...base.active,
        http_path: '/probe',
        healthy: { ...base.active.healthy, interval: 0.02, successes: 1 },
        unhealthy: { ...base.active.unhealthy, interval: 0.02, http_failures: 1 },
      },
    };
    const probes = (): number => good.seen.filter((s) => s === 'GET /probe').length;
    await start(
      balanced(upstream('u1', 'pool.stop', { healthchecks }), [target('t1', 'u1', `127.0.0.1:${good.port}`)]),
    );
    await eventually(() => probes() >= 2);
    proxy!.apply(balanced(upstream('u1', 'pool.stop'), [target('t1', 'u1', `127.0.0.1:${good.port}`)]));
    await new Promise((r) => setTimeout(r, 60));
    const afterSwap = probes();
    await new Promise((r) => setTimeout(r, 150));
    expect(probes()).toBe(afterSwap);

    proxy!.apply(
      balanced(upstream('u1', 'pool.stop', { healthchecks }), [target('t1', 'u1', `127.0.0.1:${good.port}`)]),
    );
    await eventually(() => probes() >= afterSwap + 2);
    await proxy!.close();
    proxy = null;
    const afterClose = probes();
    await new Promise((r) => setTimeout(r, 150));
    expect(probes()).toBe(afterClose);
  });
});
