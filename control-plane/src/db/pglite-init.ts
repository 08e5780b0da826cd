/**
 * Creates a new embedded database folder in a short-lived child process. PGlite runs initdb in
 * the process that opens a fresh folder, and the memory that takes (two WebAssembly instances and
 * their in-memory file systems) stays in the process's allocator after it is freed: a control
 * plane's first start sat at ~750 MB RSS where a restart on the same folder sits at ~300 MB.
 * In a child process that memory goes back to the OS when the child exits.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How long creating the folder may take (initdb of an empty cluster takes a few seconds). */
const INIT_TIMEOUT_MS = 120_000;

/** Initialises `dir` as a PGlite data folder unless it already is one (it holds PG_VERSION). */
export async function initPgliteDir(dir: string): Promise<void> {
  try {
    await access(path.join(dir, 'PG_VERSION'));
    return;
  } catch {
    // not initialised yet
  }
  // The CommonJS entry, so the child can `require` it by path whatever its working directory.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(entry)}).PGlite.create(process.argv[1]).then((db) => db.close())`;
  await run(process.execPath, ['-e', script, dir], { timeout: INIT_TIMEOUT_MS });
}
