/**
 * The config history (docs/config-history.md): every published snapshot's version with its author,
 * time, summary and content; listed, exported, compared and restored through the Admin API
 * (router.ts), pruned by `--config-history-retention` (jobs/config-history-retention.ts).
 */
import type { Logger } from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import {
  CONFIG_HISTORY_RETENTION_INTERVAL_MS,
  pruneConfigHistory,
} from '../jobs/config-history-retention.js';
import type { SnapshotPublisher } from '../snapshot/index.js';
import { ConfigHistoryRecorder } from './recorder.js';
import type { ConfigHistoryRetention } from './retention-setting.js';

export { createConfigHistoryRouter, type ConfigHistoryRouterOptions } from './router.js';
export { ConfigHistoryRecorder } from './recorder.js';
export {
  DEFAULT_CONFIG_HISTORY_RETENTION,
  parseHistoryRetention,
  type ConfigHistoryRetention,
} from './retention-setting.js';

export interface ConfigHistoryService {
  recorder: ConfigHistoryRecorder;
  /** Runs the retention now (on this replica, if no other holds the job). */
  prune(): Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Records what `publisher` publishes (attach it before the publisher's first build, so the version
 * the CP starts with is recorded too) and prunes on every replica's timer (one at a time).
 */
export function startConfigHistory(o: {
  prisma: PrismaClient;
  publisher: SnapshotPublisher;
  logger: Logger;
  retention: ConfigHistoryRetention;
}): ConfigHistoryService {
  const logger = o.logger.child({ component: 'config-history' });
  const recorder = new ConfigHistoryRecorder(o.prisma, logger);
  const detach = recorder.attach(o.publisher);
  const prune = async () => {
    try {
      const n = await pruneConfigHistory(o.prisma, o.retention);
      if (n) logger.info({ deleted: n }, 'config history pruned');
      return n;
    } catch (e) {
      logger.warn({ err: e }, 'config history retention failed; will retry');
      return null;
    }
  };
  const timer = setInterval(() => void prune(), CONFIG_HISTORY_RETENTION_INTERVAL_MS);
  timer.unref();
  return {
    recorder,
    prune,
    async stop() {
      clearInterval(timer);
      detach();
      await recorder.settled();
    },
  };
}
