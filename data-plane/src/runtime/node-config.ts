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
}

/** The node's part of a (complete) config. */
export function nodeConfigOf(config: GatehouseConfig): NodeConfig {
  return {
    upstreams: config.upstreams,
    targets: config.targets,
    usesClusterPolicy: configUsesClusterPolicy(config),
  };
}
