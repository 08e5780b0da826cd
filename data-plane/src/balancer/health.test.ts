import { describe, expect, it } from 'vitest';
import { classifyStatus, TargetHealth, type HealthLimits } from './health.js';

const limits = (l: Partial<HealthLimits>): HealthLimits => ({
  successes: 0,
  httpFailures: 0,
  tcpFailures: 0,
  timeouts: 0,
  healthyStatuses: new Set([200]),
  unhealthyStatuses: new Set([500]),
  ...l,
});

describe('target health counters (lua-resty-healthcheck semantics)', () => {
  it('turns unhealthy when a failure counter reaches its limit', () => {
    const h = new TargetHealth();
    const l = limits({ tcpFailures: 3 });
    expect(h.report('tcp_failure', l)).toBe(false);
    expect(h.report('tcp_failure', l)).toBe(false);
    expect(h.report('tcp_failure', l)).toBe(true);
    expect(h.healthy).toBe(false);
  });

  it('a success resets the failure counters', () => {
    const h = new TargetHealth();
    const l = limits({ httpFailures: 2, successes: 5 });
    h.report('http_failure', l);
    h.report('success', l);
    h.report('http_failure', l);
    expect(h.healthy).toBe(true);
    h.report('http_failure', l);
    expect(h.healthy).toBe(false);
  });

  it('comes back after `successes` successes; a failure resets the success counter', () => {
    const h = new TargetHealth(false);
    const l = limits({ successes: 2, timeouts: 5 });
    h.report('success', l);
    h.report('timeout', l);
    h.report('success', l);
    expect(h.healthy).toBe(false);
    expect(h.report('success', l)).toBe(true);
    expect(h.healthy).toBe(true);
  });

  it('a limit of 0 disables that counter', () => {
    const h = new TargetHealth();
    for (let i = 0; i < 10; i++) h.report('timeout', limits({ tcpFailures: 1 }));
    expect(h.healthy).toBe(true);
  });

  it('classifies statuses: unhealthy list first, then healthy list, else nothing', () => {
    const l = limits({});
    expect(classifyStatus(500, l)).toBe('http_failure');
    expect(classifyStatus(200, l)).toBe('success');
    expect(classifyStatus(404, l)).toBeNull();
  });
});
