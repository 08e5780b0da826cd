/**
 * Active health checks for one upstream (Kong's `healthchecks.active`): every
 * `healthy.interval` seconds the healthy targets are probed, every `unhealthy.interval` seconds
 * the unhealthy ones (0 disables that side). A probe is `GET http_path` (type http/https) or a
 * TCP connect (type tcp) with `timeout` seconds; its outcome is counted with the active limits
 * (health.ts). At most `concurrency` probes run at once. `stop()` clears the timers and aborts
 * the probes in flight; timers are unref'd so they never keep a process alive.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Logger } from '@gatehouse/shared';
import { activeLimits, classifyStatus, limitsActive, type HealthEvent, type HealthLimits } from './health.js';
import type { BalancedTarget, UpstreamBalancer } from './upstream-balancer.js';
import { authority } from './target-address.js';

type ProbeResult = HealthEvent | null;

export class ActiveChecker {
  private readonly limits: HealthLimits;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inProbe = new Set<number>();
  private readonly aborts = new Set<AbortController>();
  private queue: number[] = [];
  private running = 0;
  private stopped = false;

  constructor(
    private readonly balancer: UpstreamBalancer,
    private readonly logger: Logger,
  ) {
    this.limits = activeLimits(balancer.upstream.healthchecks.active);
  }

  /** True when this upstream's configuration asks for active probes. */
  static wanted(balancer: UpstreamBalancer): boolean {
    const a = balancer.upstream.healthchecks.active;
    return (
      balancer.targets.length > 0 &&
      (a.healthy.interval > 0 || a.unhealthy.interval > 0) &&
      limitsActive(activeLimits(a)) &&
      (a.type === 'http' || a.type === 'https' || a.type === 'tcp')
    );
  }

  start(): void {
    const a = this.balancer.upstream.healthchecks.active;
    if (a.healthy.interval > 0) this.every(a.healthy.interval, true);
    if (a.unhealthy.interval > 0) this.every(a.unhealthy.interval, false);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.queue = [];
    for (const c of this.aborts) c.abort();
    this.aborts.clear();
  }

  private every(seconds: number, healthy: boolean): void {
    const timer = setInterval(() => this.tick(healthy), Math.max(10, seconds * 1000));
    timer.unref();
    this.timers.push(timer);
  }

  private tick(healthy: boolean): void {
    const targets = this.balancer.targets;
    for (let i = 0; i < targets.length; i++) {
      if (targets[i]!.health.healthy !== healthy || this.inProbe.has(i)) continue;
      this.inProbe.add(i);
      this.queue.push(i);
    }
    this.drain();
  }

  private drain(): void {
    const concurrency = Math.max(1, this.balancer.upstream.healthchecks.active.concurrency);
    while (!this.stopped && this.running < concurrency && this.queue.length > 0) {
      const i = this.queue.shift()!;
      this.running++;
      void this.probe(this.balancer.targets[i]!).then((result) => {
        this.running--;
        this.inProbe.delete(i);
        if (this.stopped) return;
        if (result !== null) this.balancer.report(i, result, this.limits);
        this.drain();
      });
    }
  }

  private probe(target: BalancedTarget): Promise<ProbeResult> {
    const a = this.balancer.upstream.healthchecks.active;
    const timeoutMs = Math.max(1, a.timeout * 1000);
    const controller = new AbortController();
    this.aborts.add(controller);
    const done = (r: ProbeResult): ProbeResult => {
      this.aborts.delete(controller);
      return controller.signal.aborted && this.stopped ? null : r;
    };
    return (
      a.type === 'tcp'
        ? this.tcpProbe(target, timeoutMs, controller)
        : this.httpProbe(target, timeoutMs, controller)
    ).then(done, () => done('tcp_failure'));
  }

  private tcpProbe(
    target: BalancedTarget,
    timeoutMs: number,
    controller: AbortController,
  ): Promise<ProbeResult> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: target.host, port: target.port, signal: controller.signal });
      socket.setTimeout(timeoutMs, () => {
        socket.destroy();
        resolve('timeout');
      });
      socket.once('connect', () => {
        socket.destroy();
        resolve('success');
      });
      socket.once('error', () => resolve('tcp_failure'));
    });
  }

  private httpProbe(
    target: BalancedTarget,
    timeoutMs: number,
    controller: AbortController,
  ): Promise<ProbeResult> {
    const a = this.balancer.upstream.healthchecks.active;
    const secure = a.type === 'https';
    const hostName = this.balancer.upstream.host_header ?? target.hostname;
    const defaultPort = secure ? 443 : 80;
    const headers: Record<string, string | string[]> = {
      host: authority(hostName, target.port === defaultPort ? null : target.port),
      'user-agent': 'gatehouse-healthcheck',
    };
    for (const [name, values] of Object.entries(a.headers ?? {})) headers[name] = values;
    const options: https.RequestOptions = {
      host: target.host,
      port: target.port,
      method: 'GET',
      path: a.http_path,
      headers,
      agent: false,
      signal: controller.signal,
    };
    if (secure) {
      options.rejectUnauthorized = a.https_verify_certificate;
      const sni = a.https_sni ?? (net.isIP(hostName) === 0 ? hostName : undefined);
      if (sni !== undefined) options.servername = sni;
    }
    return new Promise((resolve) => {
      const req = (secure ? https : http).request(options, (res) => {
        res.resume();
        res.once('end', () => resolve(classifyStatus(res.statusCode ?? 0, this.limits)));
        res.once('error', () => resolve('tcp_failure'));
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy();
        resolve('timeout');
      });
      req.once('error', (err) => {
        this.logger.debug(
          { err, upstream: this.balancer.name, target: target.authority },
          'health probe failed',
        );
        resolve('tcp_failure');
      });
      req.end();
    });
  }
}
