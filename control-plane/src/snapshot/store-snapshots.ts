/**
 * Wires the snapshot publisher to the JetStream snapshot store over the CP's NATS connection:
 * the slice of every placement a connected DP has is stored under its placement key as it is
 * (re)built ('slice' events), and the slice of no region and no labels under 'default' — this
 * replica keeps that one built for as long as the store is wired, so a new DP whose placement no
 * CP has seen yet boots from the unscoped entities (a subset of its slice, never another
 * region's). Each (re)connection to NATS offers the newest of each again (what was published
 * while NATS was down is stored once it is back).
 *
 * Placements come and go (a region retired, a label set a DP no longer has). Every
 * `sweepIntervalMs` (1 h) the snapshots stored for placements no DP in the registry has any more
 * are removed (`JetStreamSnapshotStore.sweep`; heads written within `sweepMinAgeMs`, 10 min, stay,
 * so a DP that has just arrived on another replica keeps its own), and this replica stops offering
 * them again. Every replica sweeps: a sweep only deletes a head on the revision it read, so two at
 * once remove nothing more than one would.
 */
import {
  DEFAULT_SLICE_KEY,
  sliceKeyOf,
  sliceToken,
  type Logger,
  type NodePlacement,
  type SignedSnapshot,
} from '@gatehouse/shared';
import type { CpMessaging } from '../messaging/index.js';
import { JetStreamSnapshotStore, SnapshotStoreWriter } from './jetstream-store.js';
import type { PublishedSnapshot, SnapshotPublisher } from './publisher.js';

export interface SnapshotStoreWiring {
  writer: SnapshotStoreWriter;
  /** Runs a sweep now (the timer runs one every sweepIntervalMs); the KV tokens of the slices removed. */
  sweep(): Promise<string[]>;
  /** Removes the listeners and waits for a write in flight. */
  close(): Promise<void>;
}

export function storeSnapshotsInJetStream(o: {
  messaging: CpMessaging;
  publisher: SnapshotPublisher;
  logger: Logger;
  /** Default `gatehouse_snapshots`. */
  bucket?: string;
  /** The placements of every DP in the registry (DataPlaneRegistry.placements). */
  placements: () => Promise<NodePlacement[]>;
  /** Default 1 h; 0 = no timer (sweep() still works). */
  sweepIntervalMs?: number;
  /** Heads written more recently than this are never swept. Default 10 min. */
  sweepMinAgeMs?: number;
}): SnapshotStoreWiring {
  const { messaging, publisher } = o;
  const logger = o.logger.child({ component: 'snapshot-store' });
  const store = new JetStreamSnapshotStore({ bucket: o.bucket, logger });
  const writer = new SnapshotStoreWriter({
    store,
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

  const sweep = async (): Promise<string[]> => {
    const nc = messaging.connection();
    if (!nc) return [];
    const keep = new Set<string>();
    for (const p of await o.placements()) {
      keep.add(publisher.sliceKeyFor(p));
      keep.add(sliceKeyOf(p.region, p.labels));
    }
    const removed = new Set(await store.sweep(nc, keep, o.sweepMinAgeMs ?? 10 * 60_000));
    for (const key of newest.keys()) if (removed.has(sliceToken(key))) newest.delete(key);
    if (removed.size > 0)
      logger.info(
        { slices: [...removed] },
        'removed stored snapshots of placements no data plane has any more',
      );
    return [...removed];
  };
  const sweepIntervalMs = o.sweepIntervalMs ?? 3_600_000;
  const timer =
    sweepIntervalMs > 0
      ? setInterval(() => {
          sweep().catch((err: unknown) =>
            logger.warn(
              { err: (err as Error).message },
              'sweeping stored snapshots failed; next run in an interval',
            ),
          );
        }, sweepIntervalMs)
      : null;
  timer?.unref();

  return {
    writer,
    sweep,
    async close() {
      if (timer) clearInterval(timer);
      publisher.off('slice', onSlice);
      publisher.releaseSlice(defaultKey);
      messaging.off('connected', onConnected);
      await writer.close();
    },
  };
}
