/**
 * The target health of a data plane node, kept by its primary. The primary serves no traffic but
 * holds the upstreams its workers serve: it runs their active checks once per node (not once per
 * worker), takes the passive health changes the workers report, and hands every change to
 * `broadcast` (the worker pool), so every worker's balancer agrees. See docs/load-balancing.md.
 */
import type { Logger } from '@gatehouse/shared';
import { Balancers, type TargetHealthChange, type UpstreamSet } from './balancers.js';

export class NodeHealth {
  private readonly balancers: Balancers;

  constructor(
    logger: Logger,
    broadcast: (changes: TargetHealthChange[]) => void,
    /** Called after every change (e.g. to report the node's target health to the CP soon). */
    onChange?: () => void,
  ) {
    this.balancers = new Balancers(logger, { activeChecks: true });
    this.balancers.subscribe((upstream, target, healthy, cause) => {
      broadcast([{ upstream: upstream.id, target: target.authority, healthy, cause }]);
      onChange?.();
    });
  }

  /** The upstreams checked now (a compile reuses the unchanged ones, with their health). */
  get serving(): UpstreamSet {
    return this.balancers.serving;
  }

  /** The workers serve `set` now: its checks start, the dropped upstreams' stop. */
  commit(set: UpstreamSet): void {
    this.balancers.commit(set);
  }

  /** A worker's passive checks changed a target's health: record it and tell every worker. */
  report(change: TargetHealthChange): void {
    this.balancers.setTargetHealth(change.upstream, change.target, change.healthy, change.cause ?? 'passive');
  }

  /**
   * An operator's order (the Admin API's healthy / unhealthy, relayed by the CP): upstream by id
   * or name, target `host:port`. False when this node serves no such target.
   */
  setByOperator(upstream: string, target: string, healthy: boolean): boolean {
    return this.balancers.setTargetHealth(upstream, target, healthy, 'manual');
  }

  /** What a worker that just applied a config must know. */
  unhealthyTargets(): TargetHealthChange[] {
    return this.balancers.unhealthyTargets();
  }

  /** The health of every target, by upstream name. */
  health(): Record<string, Record<string, boolean>> {
    return this.balancers.health();
  }

  close(): void {
    this.balancers.close();
  }
}
