/**
 * One upstream compiled for balancing: its enabled targets (weight > 0), the algorithm built over
 * them, and each target's health and in-flight count. Built once per configuration (or reused
 * unchanged across swaps); requests only call `select` and the report methods.
 */
import type { Target, Upstream } from '@gatehouse/shared';
import {
  HashRing,
  LatencyEwma,
  LeastConnections,
  RoundRobin,
  type BalancingAlgorithm,
} from './algorithms.js';
import {
  classifyStatus,
  limitsActive,
  passiveLimits,
  TargetHealth,
  type HealthEvent,
  type HealthLimits,
} from './health.js';
import { balancerHalfOpenMs, halfOpenMs, monotonicClock, type Clock } from './half-open.js';
import { authority, parseTarget } from './target-address.js';
import { resolveTarget, type DnsView } from '../dns/view.js';

export interface BalancedTarget {
  /** The target entity id. */
  readonly id: string;
  /** The address connected to: the target's IP, or one its host name resolved to. */
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** `host:port` (IPv6 in brackets) of the address: health, pools and reports are per address. */
  readonly authority: string;
  /** The target as configured (`name:port`): one target entity may give several addresses. */
  readonly target: string;
  /** The host the Host header names (Kong: the target's host name, not the address). */
  readonly hostname: string;
  readonly health: TargetHealth;
  /** Requests in flight to this target (least-connections). */
  inFlight: number;
  /**
   * Ejected by passive checks alone: when (clock ms) the next half-open trial may go; null when
   * the target is healthy or was ejected otherwise (active checks, an operator).
   */
  retryAt: number | null;
  /** A half-open trial request was let through and has not reported yet. */
  trial: boolean;
  /** Who made the target unhealthy (null while healthy). */
  cause: HealthCause | null;
}

/** Why a target is unhealthy: only a passive ejection is retried (half-open). */
export type HealthCause = 'passive' | 'active' | 'manual';

export type HealthListener = (
  upstream: Upstream,
  target: BalancedTarget,
  healthy: boolean,
  cause: HealthCause,
) => void;

/**
 * The fields that make two compilations of an upstream equivalent (no timestamps), with the
 * addresses its host-name targets resolve to now: a changed DNS answer makes a new balancer.
 */
export function upstreamSignature(
  upstream: Upstream,
  targets: readonly Target[],
  dns: DnsView | null = null,
): string {
  const { created_at: _c, updated_at: _u, tags: _t, ...fields } = upstream;
  const list = targets
    .map((t) => {
      const address = dns === null ? null : parseTarget(t.target);
      const resolved =
        address === null || !dns!.resolves(address.host)
          ? ''
          : `[${resolveTarget(dns, address.host, address.port, t.weight)
              .map((a) => `${a.host}:${a.port}/${a.weight}`)
              .sort()
              .join(' ')}]`;
      return `${t.id}=${t.target}/${t.weight}${resolved}`;
    })
    .sort()
    .join(',');
  return `${JSON.stringify(fields)}|${halfOpenMs(upstream)}|${list}`;
}

/**
 * Kong allows one target row per `host:port` in an upstream; should a snapshot carry several,
 * the newest wins. Targets that do not parse are dropped (the Admin API never stores them).
 */
function enabledTargets(
  targets: readonly Target[],
  previous: UpstreamBalancer | null,
  dns: DnsView | null,
): BalancedTarget[] {
  const byAuthority = new Map<string, Target>();
  for (const t of targets) {
    const address = parseTarget(t.target);
    if (address === null) continue;
    const key = authority(address.host, address.port);
    const seen = byAuthority.get(key);
    if (
      seen === undefined ||
      seen.created_at < t.created_at ||
      (seen.created_at === t.created_at && seen.id < t.id)
    )
      byAuthority.set(key, t);
  }
  // Each target gives its addresses (a host name: those it resolves to); an address two targets
  // share is one entry with the sum of their weights.
  const byAddress = new Map<string, BalancedTarget>();
  for (const [configured, t] of byAuthority) {
    if (t.weight <= 0) continue; // weight 0 disables the target
    const address = parseTarget(t.target)!;
    for (const a of resolveTarget(dns, address.host, address.port, t.weight)) {
      const key = authority(a.host, a.port);
      const seen = byAddress.get(key);
      if (seen !== undefined) {
        byAddress.set(key, { ...seen, weight: seen.weight + a.weight });
        continue;
      }
      const before = previous?.targetByAuthority(key);
      byAddress.set(key, {
        id: t.id,
        host: a.host,
        port: a.port,
        weight: a.weight,
        authority: key,
        target: configured,
        hostname: address.host,
        health: new TargetHealth(before?.health.healthy ?? true),
        inFlight: 0,
        retryAt: before?.retryAt ?? null,
        trial: false,
        cause: before?.cause ?? null,
      });
    }
  }
  const out = [...byAddress.values()];
  return out.sort((a, b) => (a.authority < b.authority ? -1 : a.authority > b.authority ? 1 : 0));
}

export class UpstreamBalancer {
  readonly targets: readonly BalancedTarget[];
  readonly passive: HealthLimits;
  /** False when no passive limit is set: responses need not be reported. */
  readonly passiveEnabled: boolean;
  private readonly algorithm: BalancingAlgorithm;
  /** The latency algorithm, when this upstream uses it: responses report their round-trip time. */
  readonly latency: LatencyEwma | null = null;
  private readonly totalWeight: number;
  private readonly index = new Map<string, BalancedTarget>();
  private listener: HealthListener | null = null;
  /** The half-open cool-down (0: passive ejections are final, as in Kong). */
  readonly halfOpenMs: number;
  /** The earliest `retryAt` of any target (Infinity: none), so `select` checks one number. */
  private nextRetryAt = Infinity;

  constructor(
    readonly upstream: Upstream,
    targets: readonly Target[],
    readonly signature: string,
    previous: UpstreamBalancer | null,
    private readonly clock: Clock = monotonicClock,
    dns: DnsView | null = null,
    /**
     * Made for a service whose host is a name (not an upstream): Kong's DNS balancing. No
     * address means the name did not resolve (503 "name resolution failed").
     */
    readonly serviceHost = false,
  ) {
    this.halfOpenMs = balancerHalfOpenMs(upstream);
    this.targets = enabledTargets(targets, previous, dns);
    if (this.halfOpenMs === 0) for (const t of this.targets) t.retryAt = null;
    this.updateNextRetry();
    for (const t of this.targets) this.index.set(t.authority, t);
    const weights = this.targets.map((t) => t.weight);
    this.totalWeight = weights.reduce((s, w) => s + w, 0);
    this.passive = passiveLimits(upstream.healthchecks.passive);
    this.passiveEnabled = limitsActive(this.passive);
    switch (upstream.algorithm) {
      case 'consistent-hashing':
        this.algorithm = new HashRing(
          this.targets.map((t) => t.authority),
          weights,
          upstream.slots,
        );
        break;
      case 'least-connections':
        this.algorithm = new LeastConnections(weights, (i) => this.targets[i]!.inFlight);
        break;
      case 'latency': {
        const latency = new LatencyEwma(weights);
        if (previous?.latency != null) {
          const prev = previous;
          latency.inherit(
            prev.latency!,
            this.targets.map((t) => prev.targets.findIndex((p) => p.authority === t.authority)),
          );
        }
        this.algorithm = this.latency = latency;
        break;
      }
      default:
        this.algorithm = new RoundRobin(weights);
    }
  }

  get name(): string {
    return this.upstream.name;
  }

  targetByAuthority(key: string): BalancedTarget | undefined {
    return this.index.get(key);
  }

  onHealthChange(listener: HealthListener | null): void {
    this.listener = listener;
  }

  /**
   * Kong's `healthchecks.threshold`: the upstream is down when the healthy share of the total
   * weight falls below this percentage (and always when no target is healthy).
   */
  isHealthy(): boolean {
    let healthy = 0;
    for (const t of this.targets) if (t.health.healthy) healthy += t.weight;
    if (healthy === 0) return false;
    return (healthy * 100) / this.totalWeight >= this.upstream.healthchecks.threshold;
  }

  /**
   * Chooses a target: healthy and not in `tried` (the targets this request already failed on);
   * when every healthy target was tried, any healthy one. -1 when none can be chosen.
   */
  select(hashValue: string, tried: readonly number[]): number {
    if (this.nextRetryAt !== Infinity) {
      const trial = this.dueTrial(tried);
      if (trial >= 0) return trial;
    }
    if (this.targets.length === 0 || !this.isHealthy()) return -1;
    const targets = this.targets;
    if (tried.length > 0) {
      const i = this.algorithm.pick((j) => targets[j]!.health.healthy && !tried.includes(j), hashValue);
      if (i >= 0) return i;
    }
    return this.algorithm.pick((j) => targets[j]!.health.healthy, hashValue);
  }

  /** Passive check: the target answered with `status`. */
  reportStatus(index: number, status: number): void {
    const event = classifyStatus(status, this.passive);
    if (this.trialResult(index, event !== 'http_failure')) return;
    if (event !== null) this.report(index, event, this.passive);
  }

  /** Passive check: the exchange with the target failed (connection or timeout). */
  reportFailure(index: number, event: 'tcp_failure' | 'timeout'): void {
    if (this.trialResult(index, false)) return;
    this.report(index, event, this.passive);
  }

  /** Counts a health event (passive or active); notifies the listener on a change. */
  report(index: number, event: HealthEvent, limits: HealthLimits): void {
    const target = this.targets[index];
    if (target === undefined) return;
    if (!target.health.report(event, limits)) return;
    const cause: HealthCause = limits === this.passive ? 'passive' : 'active';
    this.settle(target, cause);
    this.listener?.(this.upstream, target, target.health.healthy, cause);
  }

  /**
   * Sets a target's health from outside (an operator, another process's checks); the listener
   * hears of a change only when `notify`. `cause` says who decided it: a target another process
   * ejected by passive checks is retried here too (half-open).
   */
  setHealth(key: string, healthy: boolean, notify: boolean, cause: HealthCause = 'manual'): boolean {
    const target = this.index.get(key);
    if (target !== undefined) {
      this.setOne(target, healthy, notify, cause);
      return true;
    }
    // A target's host name (`name:port`, as configured): every address it resolved to (Kong's
    // set_all_target_statuses_for_hostname).
    let found = false;
    for (const t of this.targets)
      if (t.target === key) {
        this.setOne(t, healthy, notify, cause);
        found = true;
      }
    return found;
  }

  private setOne(target: BalancedTarget, healthy: boolean, notify: boolean, cause: HealthCause): void {
    const changed = target.health.set(healthy);
    this.settle(target, cause);
    if (changed && notify) this.listener?.(this.upstream, target, healthy, cause);
  }

  /** Starts (passive ejection) or clears the half-open cool-down after a health change. */
  private settle(target: BalancedTarget, cause: HealthCause): void {
    target.trial = false;
    target.cause = target.health.healthy ? null : cause;
    target.retryAt =
      !target.health.healthy && cause === 'passive' && this.halfOpenMs > 0
        ? this.clock() + this.halfOpenMs
        : null;
    this.updateNextRetry();
  }

  /** A passively ejected target whose cool-down is over gets one trial request (not in `tried`). */
  private dueTrial(tried: readonly number[]): number {
    const now = this.clock();
    if (now < this.nextRetryAt) return -1;
    const targets = this.targets;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (t.retryAt === null || t.retryAt > now || t.health.healthy || tried.includes(i)) continue;
      // Until it reports, no other trial: an unanswered one (client gone) allows the next after a cool-down.
      t.retryAt = now + this.halfOpenMs;
      t.trial = true;
      this.updateNextRetry();
      return i;
    }
    return -1;
  }

  /** The outcome of a half-open trial: success brings the target back, failure restarts the cool-down. */
  private trialResult(index: number, ok: boolean): boolean {
    const target = this.targets[index];
    if (target === undefined || !target.trial) return false;
    target.trial = false;
    if (!ok) {
      target.retryAt = this.clock() + this.halfOpenMs;
      this.updateNextRetry();
      return true;
    }
    target.health.set(true);
    this.settle(target, 'passive');
    this.listener?.(this.upstream, target, true, 'passive');
    return true;
  }

  private updateNextRetry(): void {
    let next = Infinity;
    for (const t of this.targets) if (t.retryAt !== null && t.retryAt < next) next = t.retryAt;
    this.nextRetryAt = next;
  }
}
