/**
 * Runs a data plane primary as its own process (for tests that kill it):
 *   node --import tsx run-dp.ts '<json options>'
 * Prints one JSON line {"status": <port>, "workers": [pids]} once started.
 */
import { startDataPlane, type DataPlaneOptions } from '@gatehouse/data-plane';
import { createLogger } from '@gatehouse/shared';

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  controlPlane?: string;
  clusterTls?: DataPlaneOptions['clusterTls'];
  trustedKeyFile: string;
  dataDir: string;
  proxyPort: number;
};
const dp = await startDataPlane({
  controlPlane: opts.controlPlane,
  clusterTls: opts.clusterTls,
  trustedKeyFiles: [opts.trustedKeyFile],
  dataDir: opts.dataDir,
  workers: 2,
  proxyListen: { host: '127.0.0.1', port: opts.proxyPort },
  statusListen: { host: '127.0.0.1', port: 0 },
  logger: createLogger('dp-child', { level: 'silent' }),
});
process.stdout.write(`${JSON.stringify({ status: dp.statusAddress.port, workers: dp.pool.workerPids })}\n`);
const stop = () => void dp.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
