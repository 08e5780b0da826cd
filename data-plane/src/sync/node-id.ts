/**
 * The stable id of this data plane node: a UUID kept in `<dataDir>/node-id`, generated on first
 * start and regenerated when the file holds something that is not a UUID (as Kong does).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@gatehouse/shared';

export const NODE_ID_FILE = 'node-id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function loadOrCreateNodeId(dataDir: string, logger: Logger): Promise<string> {
  const file = join(dataDir, NODE_ID_FILE);
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (UUID.test(text)) return text.toLowerCase();
    logger.warn({ file }, 'node id file does not hold a UUID; generating a new id');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const id = randomUUID();
  await mkdir(dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(`${id}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  return id;
}
