/**
 * Load shedding through a real ProxyServer and sockets (proxy/overload.ts): over the cap of
 * requests in flight, or while the event loop stays late, a request is answered at once with the
 * error table's 503 and Retry-After, and reaches no upstream; once the load drops, requests are
 * served again.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@gatehouse/shared';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DP_MAX_EVENT_LOOP_DELAY_MS,
  DP_MAX_QUEUE_TIME_MS,
  LISTEN_BACKLOG,
} from '../../data-plane/src/proxy/client-connections.js';
import { ACCEPTS_PER_TURN, isListenerCopy } from '../../data-plane/src/proxy/listener-copies.js';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { call, config, route, service, startUpstream, type Upstream } from './helpers.js';

/** Keeps this process's event loop busy in 150 ms turns (a saturated worker) until stopped. */
function saturate(): () => void {
  const timer = setInterval(() => {
    const end = performance.now() + 150;
    while (performance.now() < end);
  }, 1);
  return () => clearInterval(timer);
}

describe('load shedding (requests in flight per worker)', () => {
  let upstream: Upstream | null = null;
  let proxy: ProxyServer | null = null;
  afterEach(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it('answers the request over --max-concurrent-requests with 503 GH_ERR_PROXY_OVERLOADED and Retry-After, without calling the upstream, then serves again', async () => {
    const held: ServerResponse[] = [];
    let hits = 0;
    upstream = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      hits++;
      req.resume();
      if (req.url === '/slow') held.push(res);
      else res.end('fast');
    });
    proxy = new ProxyServer({
      logger: createLogger('test-proxy', { level: 'silent' }),
      clientLimits: { maxConcurrentRequests: 1, maxEventLoopDelayMs: 0 },
    });
    proxy.apply(config([service('s', upstream.port)], [route('r', 's', { paths: ['/'] })]));
    await proxy.listen(0, '127.0.0.1');
    const port = (proxy.server.address() as AddressInfo).port;

    const slow = call(port, '/slow');
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    const shed = await call(port, '/fast');
    expect(shed.status).toBe(503);
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_OVERLOADED');
    expect(JSON.parse(shed.body.toString())).toEqual({
      message: 'The gateway is overloaded, please retry later',
    });
    expect(hits).toBe(1);
    expect(proxy.overload?.shed).toBe(1);

    held[0]!.end('slow');
    expect((await slow).status).toBe(200);
    const again = await call(port, '/fast');
    expect(again.status).toBe(200);
    expect(again.body.toString()).toBe('fast');
    expect(proxy.overload?.concurrent).toBe(0);
  });

  it('with a small cap, a burst gets every request answered: the cap served, the excess shed with 503', async () => {
    const held: ServerResponse[] = [];
    let holding = true;
    upstream = await startUpstream((req, res) => {
      req.resume();
      if (holding) held.push(res);
      else res.end('ok');
    });
    proxy = new ProxyServer({
      logger: createLogger('test-proxy', { level: 'silent' }),
      clientLimits: { maxConcurrentRequests: 4, maxEventLoopDelayMs: 0 },
    });
    proxy.apply(config([service('s', upstream.port)], [route('r', 's', { paths: ['/'] })]));
    await proxy.listen(0, '127.0.0.1');
    const port = (proxy.server.address() as AddressInfo).port;
    let answered = 0;
    const pending = Array.from({ length: 20 }, () => call(port, '/x').finally(() => answered++));
    // The upstream holds what it gets: four in flight, the other sixteen answered at once.
    while (answered < 16 || held.length < 4) await new Promise((r) => setTimeout(r, 5));
    const hits = held.length;
    holding = false;
    for (const res of held) res.end('ok');
    const replies = await Promise.all(pending);
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBe(4);
    expect(statuses.filter((s) => s === 503).length).toBe(16);
    expect(hits).toBe(4);
    expect(proxy.overload?.shedBy).toEqual({ event_loop_delay: 0, concurrency: 16, queue_time: 0 });
    // The load is gone: served again.
    expect((await call(port, '/x')).status).toBe(200);
  });

  it('with --max-event-loop-delay 50, a worker whose event loop stays ~100 ms late while it has the CPU sheds with 503, and serves again within a second once the load drops', async () => {
    let hits = 0;
    upstream = await startUpstream((req, res) => {
      hits++;
      req.resume();
      res.end('ok');
    });
    // The DP worker's default until 7 Dec 2026 (off since: the queue-time signal is the default).
    proxy = new ProxyServer({
      logger: createLogger('test-proxy', { level: 'silent' }),
      clientLimits: { maxEventLoopDelayMs: 50 },
    });
    proxy.apply(config([service('s', upstream.port)], [route('r', 's', { paths: ['/'] })]));
    await proxy.listen(0, '127.0.0.1');
    const port = (proxy.server.address() as AddressInfo).port;
    expect((await call(port, '/x')).status).toBe(200);

    const stop = saturate();
    let shed: Awaited<ReturnType<typeof call>> | null = null;
    let served = 1;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      const until = t0 + 5_000;
      while (shed === null && performance.now() < until) {
        const r = await call(port, '/x');
        if (r.status === 503) shed = r;
        else served++;
      }
    } finally {
      stop();
    }
    const used = process.cpuUsage(cpu0);
    const share = (used.user + used.system) / 1000 / (performance.now() - t0);
    if (shed === null) {
      // The guard sheds for a worker that does the work, not for one a busy machine starves
      // (docs/data-plane.md, "Overload"): nothing shed is right only if this process was starved.
      expect(share).toBeLessThan(0.7);
      expect(proxy.overload!.shed).toBe(0);
      expect(hits).toBe(served);
      return;
    }
    expect(shed.status).toBe(503);
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_OVERLOADED');
    expect(proxy.overload!.shedBy.event_loop_delay).toBeGreaterThan(0);
    expect(hits).toBe(served);

    // Recovery: the hold is 250 ms once the loop is timely again.
    const t1 = performance.now();
    while ((await call(port, '/x')).status !== 200) {
      expect(performance.now() - t1).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('counts a request whose client went away as no longer in flight', async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      setTimeout(() => res.end('late'), 50);
    });
    proxy = new ProxyServer({
      logger: createLogger('test-proxy', { level: 'silent' }),
      clientLimits: { maxConcurrentRequests: 1, maxEventLoopDelayMs: 0 },
    });
    proxy.apply(config([service('s', upstream.port)], [route('r', 's', { paths: ['/'] })]));
    await proxy.listen(0, '127.0.0.1');
    const port = (proxy.server.address() as AddressInfo).port;
    for (let i = 0; i < 5; i++) expect((await call(port, '/x')).status).toBe(200);
    expect(proxy.overload?.concurrent).toBe(0);
  });

  it("listens with Kong's accept queue (backlog 16384, as far as net.core.somaxconn allows), not node's 511", async () => {
    proxy = new ProxyServer({ logger: createLogger('test-proxy', { level: 'silent' }) });
    await proxy.listen(0, '127.0.0.1');
    const port = (proxy.server.address() as AddressInfo).port;
    // For a listening socket, ss's Send-Q is its backlog.
    const line = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim();
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    expect(Number(line.split(/\s+/)[2])).toBe(Math.min(LISTEN_BACKLOG, somaxconn));
    expect(Math.min(LISTEN_BACKLOG, somaxconn)).toBeGreaterThan(511);
  });

  it('is on in a DP worker by default with the queue-time signal only (no cap, no delay signal); off in an in-process ProxyServer', () => {
    expect(DP_MAX_QUEUE_TIME_MS).toBe(50);
    expect(DP_MAX_EVENT_LOOP_DELAY_MS).toBe(0);
    const worker = new ProxyServer({
      logger: createLogger('test-proxy', { level: 'silent' }),
      clientLimits: { maxEventLoopDelayMs: DP_MAX_EVENT_LOOP_DELAY_MS, maxQueueTimeMs: DP_MAX_QUEUE_TIME_MS },
    });
    expect(worker.overload).not.toBeNull();
    expect(worker.connections.limits.maxConcurrentRequests).toBe(0);
    const inProcess = new ProxyServer({ logger: createLogger('test-proxy', { level: 'silent' }) });
    expect(inProcess.connections.limits.maxEventLoopDelayMs).toBe(0);
    expect(inProcess.connections.limits.maxQueueTimeMs).toBe(0);
    expect(inProcess.overload).toBeNull();
  });

  it('fetches copies of its listening sockets (plain and TLS, each its own) through the channel the worker entry gives (listenerCopies), and through nothing else', async () => {
    // The DP primary's side, as returnListenerCopy: each handle sent straight back.
    const echo = spawn(
      process.execPath,
      ['-e', `process.on('message', (m, h) => { if (h) process.send(m, h, () => h.close()); });`],
      { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
    );
    const returned: Record<string, number> = {};
    echo.on('message', (m) => {
      if (isListenerCopy(m)) returned[m.listener] = (returned[m.listener] ?? 0) + 1;
    });
    try {
      proxy = new ProxyServer({
        logger: createLogger('test-proxy', { level: 'silent' }),
        clientLimits: { maxQueueTimeMs: DP_MAX_QUEUE_TIME_MS },
        listenerCopies: echo,
      });
      await proxy.listen(0, '127.0.0.1');
      await proxy.listenTls(0, '127.0.0.1');
      const until = performance.now() + 10_000;
      while (
        (returned.http ?? 0) + (returned.https ?? 0) < 2 * (ACCEPTS_PER_TURN - 1) &&
        performance.now() < until
      )
        await new Promise((r) => setTimeout(r, 10));
      expect(returned).toEqual({ http: ACCEPTS_PER_TURN - 1, https: ACCEPTS_PER_TURN - 1 });
      // A saturated turn puts them in the poll.
      expect(proxy.overload?.onSaturated).not.toBeNull();
      await proxy.close();
      proxy = null;

      // No channel (an in-process ProxyServer): the process's own IPC is not looked at.
      for (const k of Object.keys(returned)) delete returned[k];
      proxy = new ProxyServer({
        logger: createLogger('test-proxy', { level: 'silent' }),
        clientLimits: { maxQueueTimeMs: DP_MAX_QUEUE_TIME_MS },
      });
      await proxy.listen(0, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
      expect(returned).toEqual({});
      expect(proxy.overload?.onSaturated ?? null).toBeNull();
    } finally {
      echo.kill();
    }
  });
});
