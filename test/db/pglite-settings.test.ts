/**
 * The embedded database keeps its shared buffers small (they live in WebAssembly memory that
 * never shrinks) and a fresh folder is initialised in a child process (initdb's memory goes back
 * to the OS with it); the folder then opens like any other.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../control-plane/src/db/index.js';
import { quietLogger } from '../helpers/db.js';

describe('embedded database (PGlite)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('initialises a fresh folder, runs with 16 MB of shared buffers, and opens it again', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-pglite-'));
    dirs.push(dir);
    const dataDir = path.join(dir, 'pglite');
    const first = await openDatabase({ dataDir, logger: quietLogger() });
    try {
      expect((await stat(path.join(dataDir, 'PG_VERSION'))).isFile()).toBe(true);
      const rows = await first.prisma.$queryRawUnsafe<{ shared_buffers: string }[]>('SHOW shared_buffers');
      expect(rows[0]!.shared_buffers).toBe('16MB');
      await first.prisma.configVersion.create({ data: { id: 1, version: 7n } });
    } finally {
      await first.close();
    }
    const again = await openDatabase({ dataDir, logger: quietLogger() });
    try {
      expect((await again.prisma.configVersion.findUnique({ where: { id: 1 } }))?.version).toBe(7n);
    } finally {
      await again.close();
    }
  });
});
