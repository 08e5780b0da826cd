/** Small file helpers the control plane's data-folder code shares (certificates, keys, the data folder). */
import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `text` to a temporary file beside `file` (created with `mode`, its folder made if missing)
 * and renames it over `file`: a reader sees the old content or the new, never half of it.
 */
export async function writeFileAtomic(file: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, file);
}
