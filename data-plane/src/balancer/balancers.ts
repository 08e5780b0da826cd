/**
 * The upstreams of a configuration, compiled as data by {@link compileUpstreams} (no timers, no
 * sockets), and {@link Balancers}, which holds the set being served. An upstream whose fields and
 * targets did not change keeps its compiled balancer across a swap (its round-robin state,
 * health and active checker carry on); a changed upstream gets a new balancer that inherits the
 * health of the targets it still has.
 *
 * Active checkers run only where `activeChecks` is on: in a single-process proxy, or in the data
 * plane primary, which runs them once per node and fans target health out to its workers (see
 * docs/load-balancing.md). They start when a set is committed and stop when their balancer
 * leaves it (or on close).
 */
import type { GatehouseConfig, Logger, Target, Upstream } from '@gatehouse/shared';
import { ActiveChecker } from './active-checker.js';
import type { Clock } from './half-open.js';
import type { DnsView } from '../dns/view.js';
import {
  upstreamSignature,
  UpstreamBalancer,
  type HealthCause,
  type HealthListener,
} from './upstream-balancer.js';

/** The compiled upstreams of one configuration. */
export interface UpstreamSet {
  readonly byId: ReadonlyMap<string, UpstreamBalancer>;
  /** By upstream name, lower-cased (a service's `host` names an upstream). */
  readonly byName: ReadonlyMap<string, UpstreamBalancer>;
}

/** One target's health, named so that another process can find it: upstream id and `host:port`. */
export interface TargetHealthChange {
  readonly upstream: string;
  readonly target: string;
  readonly healthy: boolean;
  /**
   * Who decided it (absent: an operator). A target ejected by passive checks is retried after
   * the upstream's cool-down wherever it is applied (half-open.ts).
   */
  readonly cause?: HealthCause;
}

export const EMPTY_UPSTREAMS: UpstreamSet = { byId: new Map(), byName: new Map() };

/**
 * Compiles the upstreams of `config`. A balancer of `serving` whose upstream did not change is
 * reused as it is; a changed one seeds its successor's target health. Pure: nothing starts.
 */
export function compileUpstreams(
  config: GatehouseConfig,
  serving: UpstreamSet | null,
  clock?: Clock,
  /** Host-name targets are expanded into the addresses cached here (null: left to undici). */
  dns: DnsView | null = null,
): UpstreamSet {
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
    const signature = upstreamSignature(upstream, targets, dns);
    const previous = serving?.byId.get(upstream.id) ?? null;
    const balancer =
      previous !== null && previous.signature === signature
        ? previous
        : new UpstreamBalancer(upstream, targets, signature, previous, clock, dns);
    byId.set(upstream.id, balancer);
    byName.set(upstream.name.toLowerCase(), balancer);
  }
  return { byId, byName };
}

export interface BalancersOptions {
  /** Run active health checks here (default true). A data plane worker leaves them to its primary. */
  activeChecks?: boolean;
}

export class Balancers {
  private current: UpstreamSet = EMPTY_UPSTREAMS;
  private readonly checkers = new Map<UpstreamBalancer, ActiveChecker>();
  private readonly listeners = new Set<HealthListener>();
  private readonly activeChecks: boolean;

  constructor(
    private readonly logger: Logger,
    options: BalancersOptions = {},
  ) {
    this.activeChecks = options.activeChecks ?? true;
  }

  /** The set being served (a compile reuses its unchanged balancers). */
  get serving(): UpstreamSet {
    return this.current;
  }

  /** Makes a compiled set current: starts the new balancers' checkers, stops the dropped ones'. */
  commit(set: UpstreamSet): void {
    const old = this.current;
    this.current = set;
    for (const balancer of set.byId.values()) {
      if (old.byId.get(balancer.upstream.id) === balancer) continue;
      balancer.onHealthChange(this.onChange);
      if (this.activeChecks && ActiveChecker.wanted(balancer)) {
        const checker = new ActiveChecker(balancer, this.logger);
        this.checkers.set(balancer, checker);
        checker.start();
      }
    }
    for (const balancer of old.byId.values()) {
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
    for (const balancer of this.current.byId.values()) balancer.onHealthChange(null);
    this.current = EMPTY_UPSTREAMS;
  }

  /** Called on every target health change counted here (e.g. to tell other processes). */
  subscribe(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sets a target's health (`host:port`) in the upstream named or id'd `upstream`, as an
   * operator or a test would; listeners hear of it. Returns false when there is no such target.
   */
  setTargetHealth(
    upstream: string,
    target: string,
    healthy: boolean,
    cause: HealthCause = 'manual',
  ): boolean {
    const balancer = this.find(upstream);
    return balancer !== undefined && balancer.setHealth(target, healthy, true, cause);
  }

  /**
   * Takes health decided elsewhere on the node (the primary's active checks, another worker's
   * passive ones): set quietly, listeners are not told (it came from them).
   */
  applyNodeHealth(changes: readonly TargetHealthChange[]): void {
    for (const c of changes)
      this.current.byId.get(c.upstream)?.setHealth(c.target, c.healthy, false, c.cause ?? 'manual');
  }

  /** The targets marked unhealthy, for a process that joins (a new worker) to catch up. */
  unhealthyTargets(): TargetHealthChange[] {
    const out: TargetHealthChange[] = [];
    for (const b of this.current.byId.values())
      for (const t of b.targets)
        if (!t.health.healthy)
          out.push({
            upstream: b.upstream.id,
            target: t.authority,
            healthy: false,
            cause: t.cause ?? 'manual',
          });
    return out;
  }

  /** The health of every target, by upstream name (for status endpoints and tests). */
  health(): Record<string, Record<string, boolean>> {
    const out: Record<string, Record<string, boolean>> = {};
    for (const b of this.current.byId.values()) {
      const targets: Record<string, boolean> = {};
      for (const t of b.targets) targets[t.authority] = t.health.healthy;
      out[b.name] = targets;
    }
    return out;
  }

  private find(upstream: string): UpstreamBalancer | undefined {
    const byId = this.current.byId.get(upstream);
    if (byId !== undefined) return byId;
    return this.current.byName.get(upstream.toLowerCase());
  }

  private readonly onChange: HealthListener = (upstream: Upstream, target, healthy, cause) => {
    this.logger.warn(
      { upstream: upstream.name, target: target.authority, healthy, cause },
      healthy ? 'upstream target is healthy again' : 'upstream target marked unhealthy',
    );
    for (const l of this.listeners) l(upstream, target, healthy, cause);
  };
}
