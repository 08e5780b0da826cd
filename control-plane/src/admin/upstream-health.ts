/**
 * The fleet's view of an upstream's target health, in Kong's shape (`GET /upstreams/{u}/health`)
 * plus the per-DP breakdown. Pure: built from the upstream, its targets and the registry's rows
 * of the connected DPs (each heartbeat lists the DP's unhealthy targets; a target not listed is
 * healthy on that DP). A DP that does not report target health (an older one) is left out.
 *
 * Fleet `health` of a target: HEALTHCHECKS_OFF when the upstream uses no health check (Kong's
 * rule); UNHEALTHY when every reporting DP has it unhealthy; HEALTHY otherwise (some DP
 * balances to it, or no DP reports). The counts say how many DPs see it each way.
 */
import type { Target, Upstream } from '@gatehouse/shared';
import type { DataPlaneRecord } from '../cluster/registry.js';

export type KongTargetHealth = 'HEALTHY' | 'UNHEALTHY' | 'DNS_ERROR' | 'HEALTHCHECKS_OFF';

/** Kong's `is_upstream_using_healthcheck`: an active interval or a passive failure limit is set. */
export function usesHealthchecks(upstream: Upstream): boolean {
  const { active, passive } = upstream.healthchecks;
  return (
    active.healthy.interval !== 0 ||
    active.unhealthy.interval !== 0 ||
    passive.unhealthy.tcp_failures !== 0 ||
    passive.unhealthy.timeouts !== 0 ||
    passive.unhealthy.http_failures !== 0
  );
}

/** The key a DP reports a target under: `host:port` as stored, host lower-cased (the DP's authority). */
export function targetKey(target: string): string {
  return target.toLowerCase();
}

export interface DataPlaneTargetHealth {
  id: string;
  hostname: string;
  region: string | null;
  health: KongTargetHealth;
  /** Who made it unhealthy on that DP: passive, active or manual (null while healthy). */
  cause: string | null;
}

export interface TargetHealthEntry extends Target {
  health: KongTargetHealth;
  /** Kong's per-address view (one address: the target's own; DNS resolution is not done yet). */
  data: { addresses: { ip: string; port: number; health: KongTargetHealth; weight: number }[] };
  /** Gatehouse: how many reporting DPs see the target healthy / unhealthy. */
  fleet: { healthy: number; unhealthy: number };
  /** Gatehouse: the target's health on each connected DP that reports target health. */
  data_planes: DataPlaneTargetHealth[];
}

/** The connected DPs that report target health, with their unhealthy targets of `upstreamId` by key. */
function reporters(upstreamId: string, dps: readonly DataPlaneRecord[]) {
  const out: { dp: DataPlaneRecord; unhealthy: Map<string, string> }[] = [];
  for (const dp of dps) {
    const list = dp.connected ? dp.health?.unhealthy_targets : undefined;
    if (!Array.isArray(list)) continue;
    const unhealthy = new Map<string, string>();
    for (const t of list) if (t.upstream_id === upstreamId) unhealthy.set(targetKey(t.target), t.cause);
    out.push({ dp, unhealthy });
  }
  return out;
}

/** `host:port` split for Kong's `addresses` entry (IPv6 brackets removed). */
function address(target: string): { ip: string; port: number } {
  const colon = target.lastIndexOf(':');
  const host = target.slice(0, colon);
  return {
    ip: host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host,
    port: Number(target.slice(colon + 1)),
  };
}

export function targetsHealth(
  upstream: Upstream,
  targets: readonly Target[],
  dps: readonly DataPlaneRecord[],
): TargetHealthEntry[] {
  const on = usesHealthchecks(upstream);
  const reporting = reporters(upstream.id, dps);
  return targets.map((t) => {
    const key = targetKey(t.target);
    const perDp: DataPlaneTargetHealth[] = reporting.map(({ dp, unhealthy }) => {
      const cause = unhealthy.get(key) ?? null;
      return {
        id: dp.id,
        hostname: dp.hostname,
        region: dp.region,
        health: !on ? 'HEALTHCHECKS_OFF' : cause === null ? 'HEALTHY' : 'UNHEALTHY',
        cause,
      };
    });
    const unhealthyCount = perDp.filter((d) => d.health === 'UNHEALTHY').length;
    const health: KongTargetHealth = !on
      ? 'HEALTHCHECKS_OFF'
      : perDp.length > 0 && unhealthyCount === perDp.length
        ? 'UNHEALTHY'
        : 'HEALTHY';
    return {
      ...t,
      health,
      data: { addresses: [{ ...address(t.target), health, weight: t.weight }] },
      fleet: { healthy: perDp.length - unhealthyCount, unhealthy: unhealthyCount },
      data_planes: perDp,
    };
  });
}

/**
 * Kong's `?balancer_health=1`: the upstream as a balancer sees it. On one DP it is HEALTHY when
 * the healthy targets' share of the total weight reaches `healthchecks.threshold` (and some
 * target is healthy); the fleet's view is HEALTHY when it is on some reporting DP (or none reports).
 */
export function balancerHealth(upstream: Upstream, entries: readonly TargetHealthEntry[]) {
  const on = usesHealthchecks(upstream);
  const active = entries.filter((e) => e.weight > 0);
  const total = active.reduce((s, e) => s + e.weight, 0);
  const dpIds = entries[0]?.data_planes ?? [];
  const perDp = dpIds.map((d, i) => {
    const healthy = active.reduce((s, e) => s + (e.data_planes[i]!.health === 'UNHEALTHY' ? 0 : e.weight), 0);
    const up = healthy > 0 && (healthy * 100) / total >= upstream.healthchecks.threshold;
    return { id: d.id, hostname: d.hostname, region: d.region, health: up ? 'HEALTHY' : 'UNHEALTHY' };
  });
  const health: KongTargetHealth = !on
    ? 'HEALTHCHECKS_OFF'
    : total === 0
      ? 'UNHEALTHY'
      : perDp.length === 0 || perDp.some((d) => d.health === 'HEALTHY')
        ? 'HEALTHY'
        : 'UNHEALTHY';
  return { id: upstream.id, health, data_planes: perDp };
}
