/**
 * The part of a configuration the data plane primary runs itself: the upstreams and their
 * targets (the node's active health checks) and whether a rate-limiting plugin counts with the
 * `cluster` policy (the node's one NATS link). The primary serves no traffic and parses no
 * config: a worker that compiled the whole config hands this part back with its answer.
 */
import type { GatehouseConfig, Target, Upstream } from '@gatehouse/shared';
import { configUsesClusterPolicy } from '../ratelimit/cluster-node.js';

export interface NodeConfig {
  upstreams: Upstream[];
  targets: Target[];
  usesClusterPolicy: boolean;
  /** What the enabled `prometheus` plugins ask the node's /metrics for (Kong's series). */
  kongExport: KongExport;
}

/** The node's part of a (complete) config. */
export function nodeConfigOf(config: GatehouseConfig): NodeConfig {
  return {
    upstreams: config.upstreams,
    targets: config.targets,
    usesClusterPolicy: configUsesClusterPolicy(config),
    kongExport: kongExportOf(config.plugins),
  };
}

/** What the served config asks of Kong's series (from its enabled `prometheus` plugins). */
export interface KongExport {
  enabled: boolean;
  upstreamHealth: boolean;
}

/** What a config's enabled `prometheus` plugins ask for (Kong: upstream health if any instance sets it). */
export function kongExportOf(
  plugins: readonly { name: string; enabled: boolean; config?: unknown }[],
): KongExport {
  let enabled = false;
  let upstreamHealth = false;
  for (const p of plugins) {
    if (p.name !== 'prometheus' || !p.enabled) continue;
    enabled = true;
    if ((p.config as { upstream_health_metrics?: unknown } | null)?.upstream_health_metrics === true)
      upstreamHealth = true;
  }
  return { enabled, upstreamHealth };
}
