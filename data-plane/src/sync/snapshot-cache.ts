/**
 * The disk cache of the last good signed snapshot. The file is the protobuf binary of the
 * `Snapshot` message (signature, version, hash and compressed config bytes exactly as the CP
 * sent them), so what is read back is verified again with the trusted keys before use: a
 * tampered or truncated file is refused, never applied.
 *
 * Writes are atomic: temp file in the same folder, fsync, rename over the old file, fsync of
 * the folder. A crash at any point leaves either the old file or the new one.
 */
import { open, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { SnapshotSchema } from '@gatehouse/proto';
import {
  signedSnapshotFromProto,
  signedSnapshotToProto,
  verifySnapshot,
  type Logger,
  type SignedSnapshot,
  type TrustedKeys,
  type VerifiedSnapshot,
} from '@gatehouse/shared';
import { SyncErrors } from './errors.js';

export const SNAPSHOT_CACHE_FILE = 'snapshot.pb';

export class SnapshotCache {
  readonly file: string;

  constructor(
    dataDir: string,
    private readonly logger: Logger,
    fileName = SNAPSHOT_CACHE_FILE,
  ) {
    this.file = join(dataDir, fileName);
  }

  /** Atomically replaces the cached snapshot. */
  async write(snapshot: SignedSnapshot): Promise<void> {
    const bytes = toBinary(SnapshotSchema, signedSnapshotToProto(snapshot));
    const dir = dirname(this.file);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    await fsyncDir(dir);
  }

  /** The cached snapshot as stored, or null when there is none or it cannot be parsed (logged). */
  async read(): Promise<SignedSnapshot | null> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      this.logger.error({ err: e, file: this.file }, 'cannot read the snapshot cache; ignoring it');
      return null;
    }
    try {
      const snap = signedSnapshotFromProto(fromBinary(SnapshotSchema, bytes));
      if (snap.jws === '' || snap.hash === '')
        throw SyncErrors.cacheUnreadable('cached snapshot has no signature');
      return snap;
    } catch (e) {
      this.logger.error({ err: e, file: this.file }, 'snapshot cache is corrupt; ignoring it');
      return null;
    }
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

async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename durable. Not every platform lets a folder be opened for sync.
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close();
  }
}
