export {
  SnapshotPublisher,
  type ConfigSource,
  type PublishedConfig,
  type PublishedSnapshot,
  type PublisherStats,
  type SnapshotPublisherOptions,
} from './publisher.js';
export { SliceCache, type SliceCacheOptions, type SliceStats } from './slices.js';
export {
  JetStreamSnapshotStore,
  SnapshotStoreWriter,
  type JetStreamSnapshotStoreOptions,
  type StoreWriteResult,
} from './jetstream-store.js';
export { storeSnapshotsInJetStream, type SnapshotStoreWiring } from './store-snapshots.js';
export {
  DELTA_FALLBACK_REASONS,
  SnapshotDeltas,
  type DeltaChoice,
  type DeltaFallbackReason,
  type DeltaStats,
  type SnapshotDeltasOptions,
} from './deltas.js';
