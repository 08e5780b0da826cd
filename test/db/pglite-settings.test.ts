/**
 * The embedded database keeps its shared buffers small (they live in WebAssembly memory that
 * never shrinks), a fresh folder is initialised in a child process (initdb's memory goes back
 * to the OS with it) and the folder then opens like any other; its WebAssembly runs on V8's
 * baseline compiler only (the optimizing one's memory stays resident in malloc arenas).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { getHeapStatistics } from 'node:v8';
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

  it("runs PGlite's WebAssembly without the optimizing compiler (its peak compiler memory stays small)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-pglite-'));
    dirs.push(dir);
    const db = await openDatabase({ dataDir: path.join(dir, 'pglite'), logger: quietLogger() });
    try {
      // Enough work for V8 to tier Postgres's hot functions up, were TurboFan allowed: with it,
      // V8's malloc'ed (compiler) memory peaks at ~90 MB; with the baseline compiler only, ~16 MB.
      for (let i = 0; i < 150; i++) {
        await db.prisma.configVersion.upsert({
          where: { id: 1 },
          create: { id: 1, version: BigInt(i) },
          update: { version: BigInt(i) },
        });
        await db.prisma.$queryRawUnsafe('SELECT relname FROM pg_class ORDER BY relname LIMIT 50');
      }
      expect(getHeapStatistics().peak_malloced_memory).toBeLessThan(48 * 1024 * 1024);
    } finally {
      await db.close();
    }
  }, 180_000);
});
