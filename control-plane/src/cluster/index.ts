export {
  startClusterServer,
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_KEEPALIVE_TIME_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  type ClusterServer,
  type ClusterServerOptions,
  type ConnectedDataPlane,
  type SnapshotFeed,
} from './server.js';
export {
  DataPlaneRegistry,
  DATA_PLANES_MAX_PAGE_SIZE,
  DEFAULT_HEARTBEAT_WRITE_INTERVAL_MS,
  DEFAULT_PURGE_DELAY_MS,
  DEFAULT_STALE_AFTER_MS,
  SYNC_STATUSES,
  type CertDetails,
  type DataPlaneHello,
  type DataPlanePage,
  type DataPlaneRecord,
  type DataPlaneRegistryOptions,
  type SyncStatus,
} from './registry.js';
export { createClusteringRouter, type LatestSnapshotSource } from './router.js';
export {
  configIncompatibility,
  peerIp,
  pluginIncompatibility,
  pluginMap,
  pluginsConfigured,
  versionIncompatibility,
  type Incompatibility,
  type IncompatibleStatus,
  type PluginInfo,
} from './compat.js';
export {
  createFleet,
  DataPlaneFleet,
  type Fleet,
  type FleetOptions,
  type IncompatibleDataPlane,
  type PluginCheck,
} from './fleet.js';
export {
  callPeerCertificate,
  checkPeer,
  clusterServerCredentials,
  guardTlsListeners,
  type ClusterServerTls,
  type PeerCheck,
} from './tls.js';
export {
  DEFAULT_CERT_DAYS,
  DEFAULT_CP_HOSTS,
  DEFAULT_DP_COMMON_NAME,
  generateClusterCerts,
  type ClusterCertPaths,
  type GenerateClusterCertsOptions,
} from './certs.js';
export { parseDataPlaneFilter, filterParams, type DataPlaneFilter } from './data-plane-filter.js';
