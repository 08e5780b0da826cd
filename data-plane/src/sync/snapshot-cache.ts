/**
 * The disk cache of the last good signed snapshot. The file is the protobuf binary of the
 * `Snapshot` message (signature, version, hash and compressed config bytes exactly as the CP
 * sent them), so what is read back is verified again with the trusted keys before use: a
 * tampered or truncated file is refused, never applied.
 *
 * With a cache key (`GATEHOUSE_CACHE_KEY`) the file is encrypted at rest (AES-256-GCM,
 * `cache-crypto.ts`): the snapshot's remaining secrets (HMAC and JWT secrets, certificate keys,
 * key-auth digests) are not readable from the disk without the key. An encrypted cache read
 * without the key, or with another key, is refused with its reason, never a crash. A plain cache
 * read while a key is set is accepted (it is signed) and written back encrypted.
 *
 * Writes are atomic (`atomic-file.ts`): a crash leaves either the old file or the new one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { SnapshotSchema } from '@gatehouse/proto/gen/gatehouse/v1/cluster_pb';
import { signedSnapshotFromProto, signedSnapshotToProto } from '@gatehouse/shared/snapshot/proto-snapshot';
import {
  verifySnapshot,
  type SignedSnapshot,
  type VerifiedSnapshot,
} from '@gatehouse/shared/snapshot/signed-snapshot';
import type { Logger } from '@gatehouse/shared/logger';
import type { TrustedKeys } from '@gatehouse/shared/snapshot/keys';
import { writeFileAtomic } from './atomic-file.js';
import { isEncryptedCache, openCache, sealCache } from './cache-crypto.js';
import { SyncErrorCode } from './errors.js';

export const SNAPSHOT_CACHE_FILE = 'snapshot.pb';

/** What reading the cache gave: nothing, a parsed snapshot, or a refusal with its reason. */
export type CacheLoad =
  | { status: 'none' }
  | { status: 'ok'; snapshot: SignedSnapshot; encrypted: boolean }
  | { status: 'refused'; code: string; reason: string };

export interface SnapshotCacheOptions {
  /** AES-256-GCM key (32 bytes): the file is encrypted at rest. */
  key?: Buffer;
  fileName?: string;
}

export class SnapshotCache {
  readonly file: string;
  private readonly key: Buffer | null;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
    options: SnapshotCacheOptions = {},
  ) {
    this.file = join(dataDir, options.fileName ?? SNAPSHOT_CACHE_FILE);
    this.key = options.key ?? null;
  }

  /** Whether the file is written encrypted. */
  get encrypted(): boolean {
    return this.key !== null;
  }

  /** Atomically replaces the cached snapshot (encrypted when a key is set). */
  async write(snapshot: SignedSnapshot): Promise<void> {
    const bytes = toBinary(SnapshotSchema, signedSnapshotToProto(snapshot));
    await writeFileAtomic(this.file, this.key === null ? bytes : sealCache(this.key, bytes));
  }

  /** Reads and parses the file (decrypting it); never throws. Not verified yet. */
  async load(): Promise<CacheLoad> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'none' };
      return refused(SyncErrorCode.CACHE_UNREADABLE, `cannot read ${this.file}: ${(e as Error).message}`);
    }
    const encrypted = isEncryptedCache(bytes);
    if (encrypted) {
      if (this.key === null) {
        return refused(
          SyncErrorCode.CACHE_KEY,
          `${this.file} is encrypted and no cache key is set (GATEHOUSE_CACHE_KEY)`,
        );
      }
      const plain = openCache(this.key, bytes);
      if (plain === null) {
        return refused(
          SyncErrorCode.CACHE_KEY,
          `${this.file} does not decrypt with the cache key given (GATEHOUSE_CACHE_KEY): another key, or the file was altered`,
        );
      }
      bytes = plain;
    }
    try {
      const snapshot = signedSnapshotFromProto(fromBinary(SnapshotSchema, bytes));
      if (snapshot.jws === '' || snapshot.hash === '') {
        return refused(SyncErrorCode.CACHE_UNREADABLE, `${this.file}: cached snapshot has no signature`);
      }
      return { status: 'ok', snapshot, encrypted };
    } catch (e) {
      return refused(SyncErrorCode.CACHE_UNREADABLE, `${this.file} is corrupt: ${(e as Error).message}`);
    }
  }

  /** The cached snapshot as stored, or null when there is none or it cannot be read (logged). */
  async read(): Promise<SignedSnapshot | null> {
    const loaded = await this.load();
    if (loaded.status === 'ok') return loaded.snapshot;
    if (loaded.status === 'refused') {
      this.logger.error(
        { code: loaded.code, reason: loaded.reason, file: this.file },
        'snapshot cache refused',
      );
    }
    return null;
  }

  /**
   * The cached snapshot, verified again with the trusted keys (signature, kid, hash), or null
   * when missing, corrupt or refused (logged). Never throws.
   */
  async loadVerified(
    trusted: TrustedKeys,
  ): Promise<{ signed: SignedSnapshot; verified: VerifiedSnapshot } | null> {
    const signed = await this.read();
    if (!signed) return null;
    try {
      return { signed, verified: await verifySnapshot(signed, trusted) };
    } catch (e) {
      this.logger.error({ err: e, file: this.file }, 'cached snapshot failed verification; ignoring it');
      return null;
    }
  }
}

const refused = (code: string, reason: string): CacheLoad => ({ status: 'refused', code, reason });
