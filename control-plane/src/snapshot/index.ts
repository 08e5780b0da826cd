export {
  SnapshotPublisher,
  type ConfigSource,
  type PublishedSnapshot,
  type PublisherStats,
  type SnapshotPublisherOptions,
} from './publisher.js';
