/**
 * All upstreams of the current configuration, compiled at swap time. An upstream whose fields
 * and targets did not change keeps its compiled balancer across a swap (its round-robin state,
 * health and active checker carry on); a changed upstream gets a new balancer that inherits the
 * health of the targets it still has. Active checkers start when a configuration is committed
 * and stop when their balancer leaves it (or on close).
 */
import type { GatehouseConfig, Logger, Target, Upstream } from '@gatehouse/shared';
import { ActiveChecker } from './active-checker.js';
import { upstreamSignature, UpstreamBalancer, type HealthListener } from './upstream-balancer.js';

export interface BalancerSet {
  /** By upstream name, lower-cased (a service's `host` names an upstream). */
  readonly byName: ReadonlyMap<string, UpstreamBalancer>;
}

export class Balancers {
  private current = new Map<string, UpstreamBalancer>();
  private readonly checkers = new Map<UpstreamBalancer, ActiveChecker>();
  private readonly listeners = new Set<HealthListener>();

  constructor(private readonly logger: Logger) {}

  /** Compiles the upstreams of `config`; nothing changes until {@link commit}. */
  prepare(config: GatehouseConfig): BalancerSet & { readonly byId: Map<string, UpstreamBalancer> } {
    const targetsOf = new Map<string, Target[]>();
    for (const t of config.targets) {
      let list = targetsOf.get(t.upstream.id);
      if (list === undefined) targetsOf.set(t.upstream.id, (list = []));
      list.push(t);
    }
    const byId = new Map<string, UpstreamBalancer>();
    const byName = new Map<string, UpstreamBalancer>();
    for (const upstream of config.upstreams) {
      const targets = targetsOf.get(upstream.id) ?? [];
      const signature = upstreamSignature(upstream, targets);
      const previous = this.current.get(upstream.id) ?? null;
      const balancer =
        previous !== null && previous.signature === signature
          ? previous
          : new UpstreamBalancer(upstream, targets, signature, previous);
      byId.set(upstream.id, balancer);
      byName.set(upstream.name.toLowerCase(), balancer);
    }
    return { byName, byId };
  }

  /** Makes a prepared set current: starts the new balancers' checkers, stops the dropped ones'. */
  commit(set: { readonly byId: Map<string, UpstreamBalancer> }): void {
    const old = this.current;
    this.current = set.byId;
    for (const balancer of set.byId.values()) {
      if (this.checkers.has(balancer)) continue;
      balancer.onHealthChange(this.onChange);
      if (ActiveChecker.wanted(balancer)) {
        const checker = new ActiveChecker(balancer, this.logger);
        this.checkers.set(balancer, checker);
        checker.start();
      }
    }
    for (const balancer of old.values()) {
      if (set.byId.get(balancer.upstream.id) === balancer) continue;
      balancer.onHealthChange(null);
      this.checkers.get(balancer)?.stop();
      this.checkers.delete(balancer);
    }
  }

  /** Stops every active checker. */
  close(): void {
    for (const checker of this.checkers.values()) checker.stop();
    this.checkers.clear();
    for (const balancer of this.current.values()) balancer.onHealthChange(null);
    this.current = new Map();
  }

  /** Called on every target health change (e.g. to tell other processes). */
  subscribe(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sets a target's health (`host:port`) in the upstream named or id'd `upstream`, as reported
   * by another process or an operator. Returns false when there is no such target.
   */
  setTargetHealth(upstream: string, target: string, healthy: boolean): boolean {
    const lower = upstream.toLowerCase();
    for (const b of this.current.values()) {
      if (b.upstream.id === upstream || b.upstream.name.toLowerCase() === lower)
        return b.setHealth(target, healthy);
    }
    return false;
  }

  /** The health of every target, by upstream name (for status endpoints and tests). */
  health(): Record<string, Record<string, boolean>> {
    const out: Record<string, Record<string, boolean>> = {};
    for (const b of this.current.values()) {
      const targets: Record<string, boolean> = {};
      for (const t of b.targets) targets[t.authority] = t.health.healthy;
      out[b.name] = targets;
    }
    return out;
  }

  private readonly onChange: HealthListener = (upstream: Upstream, target, healthy) => {
    this.logger.warn(
      { upstream: upstream.name, target: target.authority, healthy },
      healthy ? 'upstream target is healthy again' : 'upstream target marked unhealthy',
    );
    for (const l of this.listeners) l(upstream, target, healthy);
  };
}
