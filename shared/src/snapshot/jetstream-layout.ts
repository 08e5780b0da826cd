/**
 * Where the newest signed snapshot of each slice lives in JetStream, so a data plane with no disk
 * cache can start while every control plane is down. One fact per name here; the CP writes
 * (control-plane/src/snapshot/jetstream-store.ts), the DP reads (data-plane/src/sync/jetstream-boot.ts).
 *
 * One KV bucket (default `gatehouse_snapshots`). Per slice:
 *  - `snap.<slice>.head`: a small JSON manifest `{v, version, hash, id, chunks, size, sha256}`,
 *    written with compare-and-set on its revision, so a version never replaces a newer one;
 *  - `snap.<slice>.chunk.<id>.<n>`: the bytes of the `Snapshot` protobuf (exactly as the CP signed
 *    and streams it), cut into chunks below NATS's max_payload (1 MiB by default).
 *
 * Nothing read from the bucket is trusted: the manifest only says which chunks to read; the bytes
 * are then verified like a snapshot from the stream (signature by a trusted key, hash, version).
 */
import { createHash } from 'node:crypto';
import { SnapshotErrors } from '../errors.js';

export const SNAPSHOT_BUCKET = 'gatehouse_snapshots';
/** Bytes per chunk; the writer takes less when the server's max_payload is smaller. */
export const SNAPSHOT_CHUNK_BYTES = 512 * 1024;
/** Largest stored snapshot read or written (the CP stream's own receive limit). */
export const MAX_STORED_SNAPSHOT_BYTES = 64 * 1024 * 1024;
/** A manifest is a few hundred bytes; anything larger is not one. */
export const MAX_MANIFEST_BYTES = 4096;
/** Bucket size limit (JetStream discards the oldest messages past it). */
export const SNAPSHOT_BUCKET_MAX_BYTES = 1024 * 1024 * 1024;

const MANIFEST_FORMAT = 1;
const SAFE_SLICE = /^[A-Za-z0-9_-]{1,64}$/;
const ID = /^[A-Za-z0-9]{8,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

/** What the head of a slice says (untrusted when read back). */
export interface StoredSnapshotManifest {
  version: bigint;
  hash: string;
  /** Names this write's chunks (unique per write). */
  id: string;
  chunks: number;
  size: number;
  /** SHA-256 (hex) of the concatenated chunks: a torn read is told apart from a forged one. */
  sha256: string;
}

/**
 * The KV key token of a slice key: itself when it is a short token of letters, digits, `_` and
 * `-`; otherwise `=` and the SHA-256 of it (`=` never occurs in the first form, so the two never
 * collide).
 */
export function sliceToken(sliceKey: string): string {
  if (SAFE_SLICE.test(sliceKey)) return sliceKey;
  return `=${createHash('sha256').update(sliceKey, 'utf8').digest('hex').slice(0, 40)}`;
}

export const snapshotHeadKey = (sliceKey: string): string => `snap.${sliceToken(sliceKey)}.head`;

/** Chunk `n` of the write `id`. */
export const snapshotChunkKey = (sliceKey: string, id: string, n: number): string =>
  `snap.${sliceToken(sliceKey)}.chunk.${id}.${n}`;

/** The key wildcard of every chunk of a slice (for purges). */
export const snapshotChunkWildcard = (sliceKey: string): string => `snap.${sliceToken(sliceKey)}.chunk.>`;

export function encodeSnapshotManifest(m: StoredSnapshotManifest): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: MANIFEST_FORMAT,
      version: m.version.toString(),
      hash: m.hash,
      id: m.id,
      chunks: m.chunks,
      size: m.size,
      sha256: m.sha256,
    }),
  );
}

const malformed = (why: string) => SnapshotErrors.storeMalformed(`stored snapshot manifest ${why}`);

/** Parses a head entry; throws GH_ERR_SNAPSHOT_STORE_MALFORMED naming what is wrong. */
export function decodeSnapshotManifest(
  bytes: Uint8Array,
  maxBytes = MAX_STORED_SNAPSHOT_BYTES,
): StoredSnapshotManifest {
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw malformed(`is ${bytes.length} bytes (at most ${MAX_MANIFEST_BYTES})`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw malformed('is not JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw malformed('is not an object');
  const o = raw as Record<string, unknown>;
  if (o.v !== MANIFEST_FORMAT)
    throw malformed(`has format ${JSON.stringify(o.v)} (expected ${MANIFEST_FORMAT})`);
  if (typeof o.version !== 'string' || !DECIMAL.test(o.version)) throw malformed('has no decimal version');
  if (typeof o.hash !== 'string' || !HEX64.test(o.hash)) throw malformed('has no SHA-256 hash');
  if (typeof o.sha256 !== 'string' || !HEX64.test(o.sha256)) throw malformed('has no SHA-256 digest');
  if (typeof o.id !== 'string' || !ID.test(o.id)) throw malformed('has no write id');
  if (!Number.isSafeInteger(o.size) || (o.size as number) < 1 || (o.size as number) > maxBytes)
    throw malformed(`size must be 1..${maxBytes} bytes`);
  const size = o.size as number;
  const most = Math.ceil(size / 1024);
  if (!Number.isSafeInteger(o.chunks) || (o.chunks as number) < 1 || (o.chunks as number) > most)
    throw malformed(`chunk count must be 1..${most} for ${size} bytes`);
  return {
    version: BigInt(o.version),
    hash: o.hash,
    id: o.id,
    chunks: o.chunks as number,
    size,
    sha256: o.sha256,
  };
}
