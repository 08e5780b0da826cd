/**
 * Records each snapshot this replica publishes in the config history (history/store.ts), one at a
 * time in publish order. Replicas over one Postgres all try; the first records a version, the
 * others find it done. A failed record is logged (that version is then missing from the history,
 * never wrong; the next one is diffed against the last one recorded).
 */
import type { GatehouseConfig, Logger } from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { PublishedConfig, SnapshotPublisher } from '../snapshot/index.js';
import { recordVersion } from './store.js';

/** Publishes waiting to be recorded beyond this are dropped (oldest first) and logged. */
const MAX_QUEUED = 8;

export class ConfigHistoryRecorder {
  private readonly queue: PublishedConfig[] = [];
  private running: Promise<void> | null = null;
  /** The last version recorded (or found recorded) and its config: the next one's diff base. */
  private last: { version: bigint; config: GatehouseConfig } | null = null;
  private readonly onConfig = (p: PublishedConfig) => this.offer(p);

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
  ) {}

  /** Records every snapshot `publisher` publishes from now on. Returns the unsubscribe function. */
  attach(publisher: SnapshotPublisher): () => void {
    publisher.on('config', this.onConfig);
    return () => publisher.off('config', this.onConfig);
  }

  offer(p: PublishedConfig): void {
    // Version 0: nothing was ever written (the empty configuration), not a version to go back to.
    if (p.version <= 0n) return;
    this.queue.push(p);
    while (this.queue.length > MAX_QUEUED) {
      const dropped = this.queue.shift()!;
      this.logger.warn({ version: dropped.version }, 'config history behind; version not recorded');
    }
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves once everything offered so far is recorded (or failed). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      try {
        const recorded = await recordVersion(this.prisma, next, this.last);
        this.last = { version: next.version, config: next.config };
        if (recorded) this.logger.debug({ version: next.version }, 'config version recorded');
      } catch (e) {
        this.logger.error({ err: e, version: next.version }, 'config history: recording failed');
      }
    }
  }
}
