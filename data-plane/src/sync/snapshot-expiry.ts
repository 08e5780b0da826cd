/**
 * Snapshot expiry alert: a signed snapshot carries `exp` (the CP re-signs it well before). A DP
 * whose snapshot is past it keeps serving it (never stops traffic for it) and says so: an error
 * log line when it expires (and an info line when a fresh one arrives), the gauge
 * `gatehouse_dp_snapshot_expired` (1) and `/status` (`config.expired`).
 */
import type { Logger } from '@gatehouse/shared';
import type { DataPlaneMetrics } from '../status/metrics.js';
import type { HeldConfig } from './snapshot-applier.js';

export const EXPIRY_CHECK_MS = 30_000;

export class SnapshotExpiryWatch {
  private alerted = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly o: {
      held: () => HeldConfig | null;
      logger: Logger;
      metrics?: DataPlaneMetrics;
      now?: () => number;
      checkEveryMs?: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), this.o.checkEveryMs ?? EXPIRY_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** True when the snapshot served is past its `exp`. */
  get expired(): boolean {
    const at = this.o.held()?.expiresAt ?? null;
    return at !== null && at * 1000 <= (this.o.now ?? Date.now)();
  }

  /** Updates the gauges and logs a change of state; call after each apply and periodically. */
  check(): boolean {
    const held = this.o.held();
    const expired = this.expired;
    this.o.metrics?.snapshotExpiresAt.set(held?.expiresAt ?? 0);
    this.o.metrics?.snapshotExpired.set(expired ? 1 : 0);
    if (expired && !this.alerted) {
      this.o.logger.error(
        {
          version: held?.version.toString(),
          kid: held?.kid,
          expired_at: new Date((held?.expiresAt ?? 0) * 1000).toISOString(),
        },
        'snapshot expired: still serving it; the control plane has not sent a re-signed one (is it reachable?)',
      );
    } else if (!expired && this.alerted) {
      this.o.logger.info({ version: held?.version.toString(), kid: held?.kid }, 'snapshot no longer expired');
    }
    this.alerted = expired;
    return expired;
  }
}
