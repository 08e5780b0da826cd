/**
 * Atomic file replacement: temp file in the same folder, fsync, rename over the old file, fsync
 * of the folder. A crash at any point leaves either the old file or the new one.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeFileAtomic(file: string, bytes: Uint8Array | string, mode = 0o600): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
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
