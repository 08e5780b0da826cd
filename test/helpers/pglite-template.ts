/**
 * A migrated PGlite folder made once and copied for each test that needs a fresh embedded
 * database. Creating one from nothing (initdb in a child process, then every migration) takes
 * about 10 s of CPU on this machine; copying the folder and opening it takes about 2 s. The
 * product's own first-start path (initdb, migrations) stays covered by the tests that start a
 * control plane on a folder of their own (`freshDatabase`) and by the data-folder tests.
 *
 * The template is keyed by the migrations' contents and PGlite's version, so a new migration or a
 * PGlite upgrade makes a new one. Several test processes may ask at once: each builds in a folder
 * of its own and renames it into place; the first rename wins and the others remove theirs.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../control-plane/src/db/index.js';
import { createLogger } from '@gatehouse/shared';

const MIGRATIONS = fileURLToPath(new URL('../../control-plane/prisma/migrations', import.meta.url));

async function templateKey(): Promise<string> {
  const hash = createHash('sha256');
  const require = createRequire(fileURLToPath(new URL('../../control-plane/package.json', import.meta.url)));
  const pglite = JSON.parse(
    await readFile(
      path.join(path.dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json'),
      'utf8',
    ),
  ) as { version: string };
  hash.update(`pglite ${pglite.version}\n`);
  for (const dir of (await readdir(MIGRATIONS)).sort()) {
    const sql = path.join(MIGRATIONS, dir, 'migration.sql');
    const exists = await stat(sql).then(
      () => true,
      () => false,
    );
    if (exists) hash.update(`${dir}\n`).update(await readFile(sql));
  }
  return hash.digest('hex').slice(0, 16);
}

let template: Promise<string> | undefined;

/** The folder of a migrated, closed PGlite database (made on first use). */
export function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const final = path.join(tmpdir(), `gatehouse-pglite-template-${await templateKey()}`);
    const ready = await stat(path.join(final, 'PG_VERSION')).then(
      () => true,
      () => false,
    );
    if (ready) return final;
    const building = await mkdtemp(path.join(tmpdir(), 'gatehouse-pglite-building-'));
    const db = await openDatabase({
      dataDir: building,
      logger: createLogger('pglite-template', { level: 'silent' }),
    });
    await db.close();
    try {
      await rename(building, final);
    } catch {
      // Another test process put its template in place first.
      await rm(building, { recursive: true, force: true });
    }
    return final;
  })();
  // A failed build is not remembered: the next caller tries again.
  template.catch(() => (template = undefined));
  return template;
}

/** Makes `dir` (absent or empty) a copy of the migrated template. */
export async function seedPglite(dir: string): Promise<void> {
  await cp(await pgliteTemplate(), dir, { recursive: true });
}
