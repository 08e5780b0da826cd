import type { Logger } from './logger.js';

/**
 * Stops a server process cleanly on SIGINT/SIGTERM: calls `stop` once, exits 0 when it
 * resolves and 1 when it fails. A second signal while stopping is ignored (the stop is bounded).
 */
export function stopOnSignals(what: string, stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `stopping ${what}`);
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, `error while stopping ${what}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
