/**
 * The DP's one `cluster` policy, held by the primary: made when a config that uses
 * `policy: cluster` is applied (so the warning about a missing NATS comes at config time), closed
 * when the configs stop using it or the DP stops. Workers count through it over the worker IPC.
 */
import type { GatehouseConfig, Logger, NatsLink } from '@gatehouse/shared';
import { ClusterPolicy, type ClusterSyncState } from './cluster-policy.js';
import type { SyncCounters } from './local-policy.js';

/** The plugins that count through a rate-limit policy (Kong's `policy` field). */
const RATE_LIMIT_PLUGINS: ReadonlySet<string> = new Set(['rate-limiting', 'response-ratelimiting']);

/** Whether an enabled rate-limiting plugin of the config counts with `policy: cluster`. */
export function configUsesClusterPolicy(config: Pick<GatehouseConfig, 'plugins'>): boolean {
  for (const p of config.plugins ?? []) {
    if (p.enabled !== false && RATE_LIMIT_PLUGINS.has(p.name) && p.config?.policy === 'cluster') {
      return true;
    }
  }
  return false;
}

export interface ClusterNodeOptions {
  /** The process's NATS link (absent: the policy counts per DP). */
  readonly nats?: NatsLink | undefined;
  readonly region?: string | null | undefined;
  readonly nodeId?: string;
  readonly logger?: Logger;
  /** Tests only: the sync interval. */
  readonly syncIntervalMs?: number;
  /**
   * Called for each decision (an increment) the policy takes on this DP's counts alone: NATS not
   * connected, or no NATS at all (`gatehouse_ratelimit_cluster_local_decisions_total`).
   */
  readonly onLocalDecision?: () => void;
}

/** What /status says about the cluster policy. */
export interface ClusterPolicyStatus {
  readonly state: ClusterSyncState;
  readonly degraded: boolean;
  readonly subject: string;
}

export class ClusterNode {
  private current: ClusterPolicy | null = null;
  private view: (SyncCounters & { policy: ClusterPolicy }) | null = null;

  constructor(private readonly options: ClusterNodeOptions) {}

  /** The policy while a config uses it (null otherwise). */
  get policy(): ClusterPolicy | null {
    return this.current;
  }

  /** The policy, made on demand (a worker asking before the config commit, e.g. at boot). */
  acquire(): ClusterPolicy {
    this.current ??= new ClusterPolicy({
      nats: this.options.nats,
      region: this.options.region,
      ...(this.options.nodeId !== undefined ? { nodeId: this.options.nodeId } : {}),
      ...(this.options.logger !== undefined ? { logger: this.options.logger } : {}),
      ...(this.options.syncIntervalMs !== undefined ? { syncIntervalMs: this.options.syncIntervalMs } : {}),
    });
    return this.current;
  }

  /** The policy's counters for the primary's synchronous IPC answers (made on demand). */
  counters(): SyncCounters {
    const p = this.acquire();
    if (this.view?.policy !== p) {
      this.view = {
        policy: p,
        increment: (h, a) => {
          if (p.degraded) this.options.onLocalDecision?.();
          return p.incrementNow(h, a);
        },
        usage: (h) => p.usageNow(h),
      };
    }
    return this.view;
  }

  /** Follows the config just applied: makes the policy when it is used, closes it when not. */
  follow(uses: boolean): void {
    if (uses) this.acquire();
    else if (this.current) {
      const old = this.current;
      this.current = null;
      void old.close();
    }
  }

  status(): ClusterPolicyStatus | null {
    const p = this.current;
    return p && { state: p.state, degraded: p.degraded, subject: p.subject };
  }

  async close(): Promise<void> {
    const p = this.current;
    this.current = null;
    await p?.close();
  }
}
