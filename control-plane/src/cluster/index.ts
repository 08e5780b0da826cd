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
  SYNC_STATUSES,
  type DataPlaneHello,
  type DataPlanePage,
  type DataPlaneRecord,
  type PluginInfo,
  type SyncStatus,
} from './registry.js';
export { createClusteringRouter, type LatestSnapshotSource } from './router.js';
export { peerIp, versionIncompatibility } from './compat.js';
