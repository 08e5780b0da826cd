export {
  startDataPlane,
  type DataPlane,
  type DataPlaneOptions,
  type DataPlaneStatus,
  type ListenAddress,
  type PluginInfo,
} from './data-plane.js';
export {
  DeclarativeSource,
  type DeclarativeError,
  type DeclarativeLoader,
  type DeclarativeStatus,
  type ReloadOutcome,
} from './dbless/declarative-source.js';
export { WorkerPool, type WorkerPoolOptions, type ConfigMeta } from './workers/worker-pool.js';
export {
  ConfigClient,
  DEFAULT_CHANNEL_OPTIONS,
  type SyncState,
  type SyncStatus,
} from './sync/config-client.js';
export { Backoff, type BackoffOptions } from './sync/backoff.js';
export { SnapshotCache, SNAPSHOT_CACHE_FILE } from './sync/snapshot-cache.js';
export {
  decodeStoredSnapshot,
  JetStreamBoot,
  readStoredSnapshot,
  type JetStreamBootOptions,
  type JetStreamBootResult,
  type JetStreamBootStatus,
} from './sync/jetstream-boot.js';
export { SyncErrors } from './sync/errors.js';
export { ProxyServer, type ProxyServerOptions } from './proxy/proxy-server.js';
