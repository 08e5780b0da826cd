/**
 * The fleet's view of an upstream's target health, in Kong's shape (`GET /upstreams/{u}/health`)
 * plus the per-DP breakdown. Pure: built from the upstream, its targets and the registry's rows
 * of the connected DPs (each heartbeat lists the DP's unhealthy targets; a target not listed is
 * healthy on that DP). A DP that does not report target health (an older one) is left out.
 *
 * Fleet `health` of a target: HEALTHCHECKS_OFF when the upstream uses no health check (Kong's
 * rule); UNHEALTHY when every reporting DP has it unhealthy; HEALTHY otherwise (some DP
 * balances to it, or no DP reports). The counts say how many DPs see it each way.
 *
 * Bounded at fleet scale: a target lists at most `maxDataPlanes` (100) DPs — every reporting DP
 * while there are that few, otherwise the ones that see it UNHEALTHY (in id order) — and
 * `data_planes_omitted` counts the DPs left out; the counts are computed without building an
 * entry per DP. The endpoint's `?data_plane=<id>` narrows everything to one DP's view.
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
  /**
   * Gatehouse: the target's health on the connected DPs that report target health (all of them
   * up to `maxDataPlanes`; beyond that, the ones that see it UNHEALTHY, up to `maxDataPlanes`).
   */
  data_planes: DataPlaneTargetHealth[];
  /** Gatehouse: reporting DPs not listed in `data_planes`. */
  data_planes_omitted: number;
}

/** DPs listed per target at most (the response stays bounded at 1,000 DPs and many targets). */
export const MAX_DATA_PLANES_PER_TARGET = 100;

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
  maxDataPlanes = MAX_DATA_PLANES_PER_TARGET,
): TargetHealthEntry[] {
  const on = usesHealthchecks(upstream);
  const reporting = reporters(upstream.id, dps);
  const all = reporting.length <= maxDataPlanes;
  const entryOf = (dp: DataPlaneRecord, cause: string | null): DataPlaneTargetHealth => ({
    id: dp.id,
    hostname: dp.hostname,
    region: dp.region,
    health: !on ? 'HEALTHCHECKS_OFF' : cause === null ? 'HEALTHY' : 'UNHEALTHY',
    cause,
  });
  return targets.map((t) => {
    const key = targetKey(t.target);
    const perDp: DataPlaneTargetHealth[] = [];
    let unhealthyCount = 0;
    for (const { dp, unhealthy } of reporting) {
      const cause = unhealthy.get(key) ?? null;
      if (cause !== null) unhealthyCount++;
      if (perDp.length < maxDataPlanes && (all || (on && cause !== null))) perDp.push(entryOf(dp, cause));
    }
    const health: KongTargetHealth = !on
      ? 'HEALTHCHECKS_OFF'
      : reporting.length > 0 && unhealthyCount === reporting.length
        ? 'UNHEALTHY'
        : 'HEALTHY';
    return {
      ...t,
      health,
      data: { addresses: [{ ...address(t.target), health, weight: t.weight }] },
      fleet: { healthy: reporting.length - unhealthyCount, unhealthy: unhealthyCount },
      data_planes: perDp,
      data_planes_omitted: reporting.length - perDp.length,
    };
  });
}

/**
 * Kong's `?balancer_health=1`: the upstream as a balancer sees it. On one DP it is HEALTHY when
 * the healthy targets' share of the total weight reaches `healthchecks.threshold` (and some
 * target is healthy); the fleet's view is HEALTHY when it is on some reporting DP (or none reports).
 */
export function balancerHealth(
  upstream: Upstream,
  targets: readonly Target[],
  dps: readonly DataPlaneRecord[],
) {
  const on = usesHealthchecks(upstream);
  const active = targets
    .filter((t) => t.weight > 0)
    .map((t) => ({ key: targetKey(t.target), weight: t.weight }));
  const total = active.reduce((s, t) => s + t.weight, 0);
  const perDp = reporters(upstream.id, dps).map(({ dp, unhealthy }) => {
    const healthy = active.reduce((s, t) => s + (unhealthy.has(t.key) ? 0 : t.weight), 0);
    const up = healthy > 0 && (healthy * 100) / total >= upstream.healthchecks.threshold;
    return { id: dp.id, hostname: dp.hostname, region: dp.region, health: up ? 'HEALTHY' : 'UNHEALTHY' };
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
