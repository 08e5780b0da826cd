/**
 * Entry point of a data plane worker process (forked by WorkerPool through node:cluster).
 * Runs one ProxyServer; it listens once the primary sends its first config, or at once (answering
 * 503) when the primary says there is none yet.
 */
import cluster from 'node:cluster';
import { createLogger } from '@gatehouse/shared/logger';
import { loadPluginRegistry } from '../plugins/registry.js';
import { configureProxyCacheStore } from '../plugins/proxy-cache/store.js';
import { configureSyslog } from '../plugins/syslog/plugin.js';
import { openAccessLog } from '../observe/access-log.js';
import type { RequestObserver } from '../observe/request-observer.js';
import { ProxyServer } from '../proxy/proxy-server.js';
import type { CopyChannel } from '../proxy/listener-copies.js';
import { DnsResolver } from '../dns/resolver.js';
import { InProcessPolicy, IpcCounterPolicy } from '../ratelimit/local-policy.js';
import { LeasePolicy } from '../ratelimit/lease-policy.js';
import { countConnections } from '../observe/connection-count.js';
import { RequestMetrics } from '../observe/request-metrics.js';
import { metricStore } from '../observe/metric-store.js';
import { setClusterPolicy, setLocalPolicy } from '../ratelimit/policies.js';
import { shipTraffic, TrafficRecorder } from '../telemetry/traffic-recorder.js';
import {
  isCounterReply,
  isGrantRedeemed,
  isLeaseToWorker,
  WORKER_SETTINGS_ENV,
  type WorkerSettings,
} from './protocol.js';
import { IpcGrantLedger } from '../plugins/oauth2/ipc-ledger.js';
import { setGrantLedger } from '../plugins/oauth2/ledger.js';
import { WorkerRuntime } from './worker-runtime.js';
import { instrumentationsFromEnv, tracingEnabled } from '../tracing/switch.js';

if (cluster.isPrimary || !process.send) {
  process.stderr.write('gatehouse: worker-main is started by the data plane primary, not directly\n');
  process.exit(2);
}

const settings = JSON.parse(process.env[WORKER_SETTINGS_ENV] ?? '{}') as WorkerSettings;
const logger = createLogger('gatehouse-dp-worker').child({ worker: cluster.worker?.id, pid: process.pid });
const send = (m: object): boolean => {
  if (!process.connected) return false;
  process.send!(m);
  return true;
};
// The `local` rate-limiting policy: one limit per node, whatever the workers. The only worker
// counts in itself; several take allowance leases from the primary, which holds the counters.
const counters = new IpcCounterPolicy({ send });
const leases = (settings.workers ?? 2) > 1 ? new LeasePolicy({ send, counters }) : null;
// The `cluster` policy counts in the primary (it shares its counts with the region's DPs over NATS).
const clusterCounters = new IpcCounterPolicy({ send, policy: 'cluster' });
// oauth2 codes and refresh tokens are redeemed at the control plane, through the primary.
const grants = new IpcGrantLedger(send);
setGrantLedger(grants);
process.on('message', (m: unknown) => {
  if (isLeaseToWorker(m)) leases?.onMessage(m);
  else if (isCounterReply(m)) (m.store === 'cluster' ? clusterCounters : counters).onReply(m);
  else if (isGrantRedeemed(m)) grants.onReply(m);
});
setLocalPolicy(leases ?? new InProcessPolicy());
setClusterPolicy(clusterCounters);
if (settings.proxyCacheMemorySize !== undefined)
  configureProxyCacheStore({ maxBytes: settings.proxyCacheMemorySize });
if (settings.logs !== undefined) configureSyslog(settings.logs.syslogServer);
// Kong's tracing_instrumentations (plugin-phase spans), for whichever tracer traces a request.
instrumentationsFromEnv(process.env);
// The gatehouse_* request series (the primary pulls them at each scrape of /metrics).
const observers: RequestObserver[] = [new RequestMetrics()];
if (settings.logs?.accessLog) observers.push(openAccessLog(settings.logs.accessLog, { logger }).observer);
// Plugin handlers load when a configuration uses them (before it is compiled: ProxyServer.prime).
const plugins = await loadPluginRegistry({ customDirs: settings.pluginDirs ?? [], handlers: 'on-demand' });
// Traffic summaries: counted here, merged and sent on by the primary (no observer when off).
const traffic = settings.trafficFlushMs ? new TrafficRecorder() : null;
if (traffic) {
  shipTraffic(traffic, send, settings.trafficFlushMs!);
  observers.push(traffic);
}
// Active health checks run once per node, in the primary; it sends target health over IPC.
const proxy = new ProxyServer({
  logger,
  plugins,
  trustedIps: settings.trustedIps ?? [],
  requestPolicy: settings.requestPolicy ?? {},
  clientLimits: settings.clientLimits,
  http2: settings.http2 ?? {},
  ...(settings.upstreamClient === undefined ? {} : { upstreamClient: settings.upstreamClient }),
  activeHealthChecks: false,
  // Each worker resolves the names it balances over (docs/load-balancing.md "DNS").
  dns: settings.dns === undefined ? null : new DnsResolver(settings.dns, { logger }),
  observers,
  // OpenTelemetry tracing when the OTEL_* environment turns it on (tracing/env.ts); the SDK and
  // the exporter load only then.
  tracer: tracingEnabled(process.env)
    ? (await import('../tracing/env.js')).tracingFromEnv(process.env, logger)
    : null,
  // Open connections per listener (plain and TLS) for /metrics.
  onListener: (server, secure) => countConnections(server, secure ? 'https' : 'http'),
  // Copies of the listening socket come through the primary (proxy/listener-copies.ts).
  listenerCopies: process as unknown as CopyChannel,
});
// HTTP/2 sessions and rapid-reset closes, read into each metrics delta.
metricStore.http2 = proxy.h2?.counts ?? null;
metricStore.overload = proxy.overload;
new WorkerRuntime({ proxy, settings, logger }).attachToProcess();
