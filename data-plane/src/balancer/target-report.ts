/**
 * What a data plane tells its control plane about target health, in the heartbeat: only the
 * unhealthy targets (a target not listed is healthy), at most {@link MAX_REPORTED_TARGETS}; the
 * rest are counted as dropped. Sorted, so the same state gives the same report. See
 * docs/load-balancing.md ("Across the fleet").
 */
import type { TargetHealthChange } from './balancers.js';

export const MAX_REPORTED_TARGETS = 1000;

export interface TargetHealthReport {
  unhealthyTargets: { upstreamId: string; target: string; cause: string }[];
  unhealthyTargetsDropped: number;
  targetsReported: true;
}

export function targetHealthReport(unhealthy: readonly TargetHealthChange[]): TargetHealthReport {
  const all = unhealthy
    .map((c) => ({ upstreamId: c.upstream, target: c.target, cause: c.cause ?? 'manual' }))
    .sort((a, b) =>
      a.upstreamId !== b.upstreamId ? (a.upstreamId < b.upstreamId ? -1 : 1) : a.target < b.target ? -1 : 1,
    );
  return {
    unhealthyTargets: all.slice(0, MAX_REPORTED_TARGETS),
    unhealthyTargetsDropped: Math.max(0, all.length - MAX_REPORTED_TARGETS),
    targetsReported: true,
  };
}
