/**
 * Wires the snapshot publisher to the JetStream snapshot store over the CP's NATS connection:
 * the slice of every placement a connected DP has is stored under its placement key as it is
 * (re)built ('slice' events), and the slice of no region and no labels under 'default' — this
 * replica keeps that one built for as long as the store is wired, so a new DP whose placement no
 * CP has seen yet boots from the unscoped entities (a subset of its slice, never another
 * region's). Each (re)connection to NATS offers the newest of each again (what was published
 * while NATS was down is stored once it is back).
 */
import { DEFAULT_SLICE_KEY, type Logger, type SignedSnapshot } from '@gatehouse/shared';
import type { CpMessaging } from '../messaging/index.js';
import { JetStreamSnapshotStore, SnapshotStoreWriter } from './jetstream-store.js';
import type { PublishedSnapshot, SnapshotPublisher } from './publisher.js';

export interface SnapshotStoreWiring {
  writer: SnapshotStoreWriter;
  /** Removes the listeners and waits for a write in flight. */
  close(): Promise<void>;
}

export function storeSnapshotsInJetStream(o: {
  messaging: CpMessaging;
  publisher: SnapshotPublisher;
  logger: Logger;
  /** Default `gatehouse_snapshots`. */
  bucket?: string;
}): SnapshotStoreWiring {
  const { messaging, publisher } = o;
  const logger = o.logger.child({ component: 'snapshot-store' });
  const writer = new SnapshotStoreWriter({
    store: new JetStreamSnapshotStore({ bucket: o.bucket, logger }),
    connection: () => messaging.connection(),
    logger,
  });
  /** The newest snapshot offered per placement key (offered again on each NATS connection). */
  const newest = new Map<string, SignedSnapshot>();
  const offer = (key: string, snapshot: SignedSnapshot) => {
    newest.set(key, snapshot);
    writer.offer(snapshot, key);
  };
  const onSlice = (key: string, p: PublishedSnapshot) => offer(key, p.snapshot);
  publisher.on('slice', onSlice);
  const defaultKey = publisher.acquireSlice({ region: '', labels: {} });
  if (defaultKey !== DEFAULT_SLICE_KEY) throw new Error(`the placement key of no placement is ${defaultKey}`);
  const onConnected = () => {
    const built = publisher.latestSlice(defaultKey);
    if (built) newest.set(defaultKey, built.snapshot);
    for (const [key, snapshot] of newest) writer.offer(snapshot, key);
    writer.kick();
  };
  messaging.on('connected', onConnected);
  onConnected();
  return {
    writer,
    async close() {
      publisher.off('slice', onSlice);
      publisher.releaseSlice(defaultKey);
      messaging.off('connected', onConnected);
      await writer.close();
    },
  };
}
