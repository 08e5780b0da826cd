/**
 * Per-target health as Kong's lua-resty-healthcheck counts it: one success counter and three
 * failure counters (http, tcp, timeout). A failure resets the success counter; a success resets
 * the three failure counters. When a failure counter reaches its limit the target turns
 * unhealthy; when the success counter reaches its limit it turns healthy again. A limit of 0
 * disables that counter. Successes are not counted while fully healthy, failures not while
 * fully unhealthy. Active and passive checks share the counters, each with its own limits.
 */
import type { ActiveHealthcheck, PassiveHealthcheck } from '@gatehouse/shared';

export type HealthEvent = 'success' | 'http_failure' | 'tcp_failure' | 'timeout';

export interface HealthLimits {
  readonly successes: number;
  readonly httpFailures: number;
  readonly tcpFailures: number;
  readonly timeouts: number;
  readonly healthyStatuses: ReadonlySet<number>;
  readonly unhealthyStatuses: ReadonlySet<number>;
}

export function passiveLimits(p: PassiveHealthcheck): HealthLimits {
  return {
    successes: p.healthy.successes,
    httpFailures: p.unhealthy.http_failures,
    tcpFailures: p.unhealthy.tcp_failures,
    timeouts: p.unhealthy.timeouts,
    healthyStatuses: new Set(p.healthy.http_statuses),
    unhealthyStatuses: new Set(p.unhealthy.http_statuses),
  };
}

export function activeLimits(a: ActiveHealthcheck): HealthLimits {
  return {
    successes: a.healthy.successes,
    httpFailures: a.unhealthy.http_failures,
    tcpFailures: a.unhealthy.tcp_failures,
    timeouts: a.unhealthy.timeouts,
    healthyStatuses: new Set(a.healthy.http_statuses),
    unhealthyStatuses: new Set(a.unhealthy.http_statuses),
  };
}

/** True when these limits can ever change a target's health. */
export function limitsActive(l: HealthLimits): boolean {
  return l.successes > 0 || l.httpFailures > 0 || l.tcpFailures > 0 || l.timeouts > 0;
}

/** What an HTTP status means to a check: a success, an http failure, or nothing. */
export function classifyStatus(status: number, limits: HealthLimits): HealthEvent | null {
  if (limits.unhealthyStatuses.has(status)) return 'http_failure';
  if (limits.healthyStatuses.has(status)) return 'success';
  return null;
}

export class TargetHealth {
  private successes = 0;
  private httpFailures = 0;
  private tcpFailures = 0;
  private timeouts = 0;
  /** True while some counter is non-zero (Kong's mostly_healthy / mostly_unhealthy). */
  private counting = false;

  constructor(public healthy = true) {}

  /** Counts one event; returns true when the target's health changed. */
  report(event: HealthEvent, limits: HealthLimits): boolean {
    if (event === 'success') {
      if (limits.successes === 0) return false;
      if (this.healthy && !this.counting) return false;
      this.httpFailures = this.tcpFailures = this.timeouts = 0;
      this.successes++;
      this.counting = true;
      if (this.successes >= limits.successes) return this.set(true);
      return false;
    }
    const limit =
      event === 'http_failure'
        ? limits.httpFailures
        : event === 'tcp_failure'
          ? limits.tcpFailures
          : limits.timeouts;
    if (limit === 0) return false;
    if (!this.healthy && !this.counting) return false;
    this.successes = 0;
    this.counting = true;
    let count: number;
    if (event === 'http_failure') count = ++this.httpFailures;
    else if (event === 'tcp_failure') count = ++this.tcpFailures;
    else count = ++this.timeouts;
    if (count >= limit) return this.set(false);
    return false;
  }

  /** Sets the health (a threshold reached, or a status set from outside); resets the counters. */
  set(healthy: boolean): boolean {
    const changed = this.healthy !== healthy;
    this.healthy = healthy;
    this.successes = this.httpFailures = this.tcpFailures = this.timeouts = 0;
    this.counting = false;
    return changed;
  }
}
