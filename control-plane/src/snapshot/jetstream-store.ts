/**
 * The CP's copy of the newest signed snapshot of each slice in JetStream (layout:
 * shared/src/snapshot/jetstream-layout.ts), read by data planes that start with no disk cache
 * while no CP answers.
 *
 * A write: read the slice's head; if it already holds this version or a newer one, stop
 * (replicas race, versions only move forward); else put the snapshot's chunks under a new write
 * id, then move the head with compare-and-set on the revision read. Lost the race: purge our
 * chunks and read the head again. Won: purge every older chunk of the slice (a replaced write's,
 * or one a crashed writer left), so each slice keeps one snapshot. The bucket is created when
 * missing (file storage, one revision per key, a size limit); an existing one is used as it is.
 *
 * `SnapshotStoreWriter` feeds it from the publisher: newest-only per slice, one write at a time,
 * retried when NATS comes back. Nothing here is on the path of an Admin API write or a DP stream.
 */
import { randomUUID } from 'node:crypto';
import { toBinary } from '@bufbuild/protobuf';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SnapshotSchema } from '@gatehouse/proto';
import {
  decodeSnapshotManifest,
  DEFAULT_SLICE_KEY,
  encodeSnapshotManifest,
  MAX_STORED_SNAPSHOT_BYTES,
  sha256Hex,
  SNAPSHOT_BUCKET,
  SNAPSHOT_BUCKET_MAX_BYTES,
  SNAPSHOT_CHUNK_BYTES,
  snapshotChunkKey,
  snapshotChunkWildcard,
  snapshotHeadKey,
  signedSnapshotToProto,
  sliceToken,
  type Logger,
  type SignedSnapshot,
  type StoredSnapshotManifest,
} from '@gatehouse/shared';

/** What a write did. */
export type StoreWriteResult =
  /** The head now names this snapshot. */
  | 'written'
  /** The head already held this version and hash. */
  | 'current'
  /** The head holds a newer version (another replica got there first). */
  | 'newer-stored'
  /** Larger than MAX_STORED_SNAPSHOT_BYTES: not stored. */
  | 'too-large';

export interface JetStreamSnapshotStoreOptions {
  /** Default `gatehouse_snapshots`. */
  bucket?: string;
  /** Bucket size limit when this store creates it. Default 1 GiB. */
  maxBytes?: number;
  /** Compare-and-set attempts per write before giving up (each after reading the head again). */
  attempts?: number;
  logger: Logger;
}

/** Longest wait between failed writes (the first is `retryMs`, doubling). */
const MAX_RETRY_MS = 60_000;

/** Headroom under max_payload for the message's headers and subject. */
const PAYLOAD_HEADROOM = 4096;

export class JetStreamSnapshotStore {
  readonly bucket: string;
  private kv: { nc: NatsConnection; kv: KV } | null = null;

  constructor(private readonly o: JetStreamSnapshotStoreOptions) {
    this.bucket = o.bucket ?? SNAPSHOT_BUCKET;
  }

  /** Stores `snapshot` as the slice's newest unless a newer one is there. Throws on NATS errors. */
  async write(
    nc: NatsConnection,
    snapshot: SignedSnapshot,
    sliceKey: string = DEFAULT_SLICE_KEY,
  ): Promise<StoreWriteResult> {
    const bytes = toBinary(SnapshotSchema, signedSnapshotToProto(snapshot));
    if (bytes.length > MAX_STORED_SNAPSHOT_BYTES) return 'too-large';
    const kv = await this.open(nc);
    const headKey = snapshotHeadKey(sliceKey);
    const chunkSize = Math.max(
      1024,
      Math.min(SNAPSHOT_CHUNK_BYTES, (nc.info?.max_payload ?? 1024 * 1024) - PAYLOAD_HEADROOM),
    );
    const attempts = this.o.attempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      const head = await kv.get(headKey);
      const stored = head?.operation === 'PUT' ? this.readHead(head.value, sliceKey) : null;
      if (stored && stored.version >= snapshot.version) {
        return stored.version === snapshot.version && stored.hash === snapshot.hash
          ? 'current'
          : 'newer-stored';
      }
      const id = randomUUID().replace(/-/g, '');
      let firstSeq = 0;
      const chunks = Math.ceil(bytes.length / chunkSize);
      try {
        for (let n = 0; n < chunks; n++) {
          const seq = await kv.put(
            snapshotChunkKey(sliceKey, id, n),
            bytes.subarray(n * chunkSize, (n + 1) * chunkSize),
          );
          if (n === 0) firstSeq = seq;
        }
        const manifest: StoredSnapshotManifest = {
          version: snapshot.version,
          hash: snapshot.hash,
          id,
          chunks,
          size: bytes.length,
          sha256: sha256Hex(bytes),
        };
        const value = encodeSnapshotManifest(manifest);
        await (head ? kv.update(headKey, value, head.revision) : kv.create(headKey, value));
      } catch (e) {
        // Lost the compare-and-set (or NATS failed): our chunks go; read the head again.
        await this.purge(nc, snapshotChunkKey(sliceKey, id, 0).replace(/\.0$/, '.>'));
        if (attempt >= attempts) throw e;
        continue;
      }
      // Won: every chunk of the slice written before ours is no longer named by the head.
      await this.purge(nc, snapshotChunkWildcard(sliceKey), firstSeq);
      return 'written';
    }
  }

  /**
   * Removes the stored snapshot of every slice that is not in `keep` (slice keys; 'default' is
   * always kept) and whose head was written at least `minAgeMs` ago: the head is deleted on the
   * revision read (a head rewritten meanwhile stays), then the slice's chunks are purged. A data
   * plane of a removed placement that starts with no cache and no CP then boots from the default
   * slice, never from a config the fleet has moved on from. Returns the KV tokens of the slices removed.
   */
  async sweep(nc: NatsConnection, keep: Iterable<string>, minAgeMs: number): Promise<string[]> {
    const kv = await this.open(nc);
    const kept = new Set([...keep, DEFAULT_SLICE_KEY].map(sliceToken));
    const heads: string[] = [];
    for await (const k of await kv.keys('snap.*.head')) heads.push(k);
    const removed: string[] = [];
    for (const headKey of heads) {
      const token = headKey.slice('snap.'.length, -'.head'.length);
      if (kept.has(token)) continue;
      const head = await kv.get(headKey);
      if (head?.operation !== 'PUT' || Date.now() - head.created.getTime() < minAgeMs) continue;
      try {
        await kv.delete(headKey, { previousSeq: head.revision });
      } catch {
        continue; // rewritten since it was read: a DP of that placement is back
      }
      await this.purge(nc, `snap.${token}.chunk.>`);
      removed.push(token);
    }
    return removed;
  }

  /** The head's manifest, or null when it is not one (logged; it is overwritten). */
  private readHead(value: Uint8Array, sliceKey: string): StoredSnapshotManifest | null {
    try {
      return decodeSnapshotManifest(value);
    } catch (e) {
      this.o.logger.warn(
        { bucket: this.bucket, slice: sliceKey, reason: (e as Error).message },
        'snapshot store: the stored head is not a manifest; replacing it',
      );
      return null;
    }
  }

  /** Purges chunk messages under `key` (a KV key or wildcard), below `beforeSeq` when given. */
  private async purge(nc: NatsConnection, key: string, beforeSeq?: number): Promise<void> {
    // Nothing is below the first message; and nats-server 2.9 purges EVERY match for seq 1.
    if (beforeSeq !== undefined && beforeSeq <= 1) return;
    try {
      const jsm = await jetstreamManager(nc);
      const filter = `$KV.${this.bucket}.${key}`;
      await jsm.streams.purge(
        `KV_${this.bucket}`,
        beforeSeq === undefined ? { filter } : { filter, seq: beforeSeq },
      );
    } catch (e) {
      // Left-over chunks cost space only; the next winning write purges them.
      this.o.logger.debug({ err: (e as Error).message, bucket: this.bucket }, 'snapshot store: purge failed');
    }
  }

  private async open(nc: NatsConnection): Promise<KV> {
    if (this.kv?.nc === nc) return this.kv.kv;
    const kv = await new Kvm(nc).create(this.bucket, {
      history: 1,
      max_bytes: this.o.maxBytes ?? SNAPSHOT_BUCKET_MAX_BYTES,
      maxValueSize: SNAPSHOT_CHUNK_BYTES + PAYLOAD_HEADROOM,
      storage: 'file',
      replicas: 1,
    });
    this.kv = { nc, kv };
    return kv;
  }
}

export interface SnapshotStoreWriterOptions {
  store: JetStreamSnapshotStore;
  /** The CP's NATS connection while it is up (CpMessaging.connection()). */
  connection: () => NatsConnection | null;
  logger: Logger;
  /** First delay before retrying a failed write (NATS up); doubles up to 60 s. Default 2 s. */
  retryMs?: number;
}

/** Writes the publisher's snapshots to the store: newest-only per slice, one write at a time. */
export class SnapshotStoreWriter {
  private readonly pending = new Map<string, SignedSnapshot>();
  private running: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly counters = { written: 0, skipped: 0, failures: 0 };
  private lastError: string | null = null;
  private retryDelay = 0;

  constructor(private readonly o: SnapshotStoreWriterOptions) {}

  /** What /clustering/status can say. */
  status() {
    return {
      bucket: this.o.store.bucket,
      ...this.counters,
      pending: this.pending.size,
      last_error: this.lastError,
    };
  }

  /** Queues `snapshot` for its slice (replacing an older one not written yet). */
  offer(snapshot: SignedSnapshot, sliceKey: string = DEFAULT_SLICE_KEY): void {
    if (this.closed) return;
    const queued = this.pending.get(sliceKey);
    if (!queued || queued.version <= snapshot.version) this.pending.set(sliceKey, snapshot);
    this.kick();
  }

  /** Tries again now (NATS came back). */
  kick(): void {
    if (this.closed || this.running || this.pending.size === 0) return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.running = this.drain().then(
      (progress) => {
        this.running = null;
        // Offers that came during the writes.
        if (progress && !this.retry) this.kick();
      },
      () => {
        this.running = null;
      },
    );
  }

  /** Resolves once no write is in flight. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    await this.running;
  }

  /** Writes what is pending; false when it could not (no NATS: 'connected' kicks again). */
  private async drain(): Promise<boolean> {
    const { logger } = this.o;
    for (const [slice, snapshot] of this.pending) {
      const nc = this.o.connection();
      if (!nc || nc.isClosed() || this.closed) return false;
      try {
        const result = await this.o.store.write(nc, snapshot, slice);
        if (this.pending.get(slice) === snapshot) this.pending.delete(slice);
        this.lastError = null;
        this.retryDelay = 0;
        if (result === 'written') this.counters.written++;
        else this.counters.skipped++;
        const log = { bucket: this.o.store.bucket, slice, version: snapshot.version.toString(), result };
        if (result === 'too-large')
          logger.error(log, 'snapshot store: snapshot too large to store; cold start will not find it');
        else logger.debug(log, 'snapshot store: write done');
      } catch (e) {
        this.counters.failures++;
        const message = (e as Error).message;
        // Each new error once at warn (e.g. JetStream not enabled on the server), repeats at debug.
        const level = message === this.lastError ? 'debug' : 'warn';
        this.lastError = message;
        this.retryDelay = Math.min(this.retryDelay * 2 || (this.o.retryMs ?? 2000), MAX_RETRY_MS);
        logger[level](
          { bucket: this.o.store.bucket, slice, err: message, retryInMs: this.retryDelay },
          'snapshot store: writing the snapshot to JetStream failed; will retry',
        );
        this.retry = setTimeout(() => {
          this.retry = null;
          this.kick();
        }, this.retryDelay);
        this.retry.unref();
        return false;
      }
    }
    return true;
  }
}
