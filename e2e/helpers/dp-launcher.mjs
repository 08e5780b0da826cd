// Test-only launcher of a real data plane process, for the e2e tests that need what the
// `gatehouse dp` CLI does not offer: a DB-less DP before the CLI has `--config`, and a DP that
// announces an overridden software version or plugin list (compat tests). Not shipped.
//
//   node e2e/helpers/dp-launcher.mjs '<json: startDataPlane options, ports as numbers>'
//
// SIGHUP -> dp.reload() (as the CLI does), SIGTERM/SIGINT -> dp.stop(). Logs JSON to stdout.
import { startDataPlane } from '../../data-plane/dist/index.js';
import { createLogger } from '../../shared/dist/index.js';

const o = JSON.parse(process.argv[2] ?? '{}');
const logger = createLogger('gatehouse-dp-test', { level: process.env.GATEHOUSE_LOG_LEVEL ?? 'info' });
try {
  const dp = await startDataPlane({
    controlPlane: o.controlPlane,
    clusterTls: o.clusterTls,
    declarativeFile: o.declarativeFile,
    trustedKeyFiles: o.trustedKeyFiles,
    dataDir: o.dataDir,
    workers: o.workers ?? 1,
    proxyListen: { host: '127.0.0.1', port: o.proxyPort },
    statusListen: { host: '127.0.0.1', port: o.statusPort },
    nodeId: o.nodeId,
    softwareVersion: o.softwareVersion,
    plugins: o.plugins,
    sync: o.sync,
    logger,
  });
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading the declarative config');
    void dp.reload();
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    dp.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} catch (e) {
  logger.fatal({ err: e }, 'data plane failed to start');
  process.exit(1);
}
