/**
 * Wires the snapshot publisher to the JetStream snapshot store over the CP's NATS connection:
 * every published snapshot is offered to the writer, and each (re)connection to NATS offers the
 * newest one again (what was published while NATS was down is stored once it is back).
 */
import type { Logger } from '@gatehouse/shared';
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
  // Until per-slice snapshots land, every snapshot is the 'default' slice (the writer's default).
  const onSnapshot = (p: PublishedSnapshot) => writer.offer(p.snapshot);
  const onConnected = () => {
    const latest = publisher.latest;
    if (latest) writer.offer(latest.snapshot);
    writer.kick();
  };
  publisher.on('snapshot', onSnapshot);
  messaging.on('connected', onConnected);
  onConnected();
  return {
    writer,
    async close() {
      publisher.off('snapshot', onSnapshot);
      messaging.off('connected', onConnected);
      await writer.close();
    },
  };
}
