/**
 * Entry point of a data plane worker process (forked by WorkerPool through node:cluster).
 * Runs one ProxyServer; it listens once the primary sends its first config, or at once (answering
 * 503) when the primary says there is none yet.
 */
import cluster from 'node:cluster';
import { createLogger } from '@gatehouse/shared';
import { loadPluginRegistry } from '../plugins/registry.js';
import { configureProxyCacheStore } from '../plugins/proxy-cache/store.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import { IpcCounterPolicy } from '../ratelimit/local-policy.js';
import { setClusterPolicy, setLocalPolicy } from '../ratelimit/policies.js';
import { shipTraffic, TrafficRecorder } from '../telemetry/traffic-recorder.js';
import { isCounterReply, WORKER_SETTINGS_ENV, type WorkerSettings } from './protocol.js';
import { WorkerRuntime } from './worker-runtime.js';

if (cluster.isPrimary || !process.send) {
  process.stderr.write('gatehouse: worker-main is started by the data plane primary, not directly\n');
  process.exit(2);
}

const settings = JSON.parse(process.env[WORKER_SETTINGS_ENV] ?? '{}') as WorkerSettings;
const logger = createLogger('gatehouse-dp-worker').child({ worker: cluster.worker?.id, pid: process.pid });
// The `local` rate-limiting policy counts in the primary: one limit per node, whatever the workers.
const send = (m: object): boolean => {
  if (!process.connected) return false;
  process.send!(m);
  return true;
};
const counters = new IpcCounterPolicy({ send });
// So does the `cluster` policy (the primary shares its counts with the region's DPs over NATS).
const clusterCounters = new IpcCounterPolicy({ send, policy: 'cluster' });
process.on('message', (m: unknown) => {
  if (isCounterReply(m)) (m.store === 'cluster' ? clusterCounters : counters).onReply(m);
});
setLocalPolicy(counters);
setClusterPolicy(clusterCounters);
if (settings.proxyCacheMemorySize !== undefined)
  configureProxyCacheStore({ maxBytes: settings.proxyCacheMemorySize });
const plugins = await loadPluginRegistry({ customDirs: settings.pluginDirs ?? [] });
// Traffic summaries: counted here, merged and sent on by the primary (no observer when off).
const traffic = settings.trafficFlushMs ? new TrafficRecorder() : null;
if (traffic) shipTraffic(traffic, send, settings.trafficFlushMs!);
// Active health checks run once per node, in the primary; it sends target health over IPC.
const proxy = new ProxyServer({
  logger,
  plugins,
  trustedIps: settings.trustedIps ?? [],
  requestPolicy: settings.requestPolicy ?? {},
  clientLimits: settings.clientLimits,
  activeHealthChecks: false,
  observers: traffic ? [traffic] : [],
});
new WorkerRuntime({ proxy, settings, logger }).attachToProcess();
