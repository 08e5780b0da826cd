export {
  SnapshotPublisher,
  type ConfigSource,
  type PublishedSnapshot,
  type PublisherStats,
  type SnapshotPublisherOptions,
} from './publisher.js';
export { SliceCache, type SliceCacheOptions, type SliceStats } from './slices.js';
