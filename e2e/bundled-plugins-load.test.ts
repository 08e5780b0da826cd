/**
 * Every bundled plugin's handler module loads the way a data plane worker loads it: a plain
 * `node` process (no tsx, no vitest resolver) importing the built registry
 * (data-plane/dist/plugins/registry.js, what dist/workers/worker-main.js imports) and calling each
 * plugin's loader. Node's own resolver through the pnpm layout is what a worker meets, so a
 * dependency missing from data-plane/package.json or from the lockfile, or one of a dependency's
 * own dependencies not found, fails here for every plugin at once rather than in the one
 * configuration that happens to use it. The process's environment is PATH and HOME only: vitest
 * sets NODE_PATH to pnpm's hoisted folder, which hides a dependency that plain node cannot find.
 * It found one: with the access log on a piped stdout, file-log's `import 'pino'` failed with
 * `Cannot find module 'pino-std-serializers'` (nodejs/node#51142; data-plane/src/observe/line-writer.ts).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PHASES } from '../data-plane/src/plugins/api.js';
import { BUNDLED_SPECS } from '../data-plane/src/plugins/schemas.js';
import { ROOT } from './helpers/processes.js';

const dist = (path: string): string => pathToFileURL(join(ROOT, path)).href;

/**
 * Loads every bundled plugin in a fresh node process, as a worker does after its start: its
 * logger made and its access log opened on stdout (`--access-log stdout`; stdout is a pipe here,
 * as under a supervisor or the chaos runner). Per plugin, its loaded name and phases or the error.
 */
const SCRIPT = `
const { createLogger } = await import(${JSON.stringify(dist('shared/dist/index.js'))});
const { openAccessLog } = await import(${JSON.stringify(dist('data-plane/dist/observe/access-log.js'))});
openAccessLog({ destination: 'stdout', sample: 1, redact: [] }, { logger: createLogger('probe') });
const { BUNDLED_PLUGINS } = await import(${JSON.stringify(dist('data-plane/dist/plugins/registry.js'))});
const out = {};
for (const [name, load] of Object.entries(BUNDLED_PLUGINS)) {
  try {
    const m = await load();
    out[name] = { name: m.default.name, phases: ${JSON.stringify(PHASES)}.filter((p) => typeof m.default[p] === 'function') };
  } catch (err) {
    out[name] = { error: String(err && err.stack || err) };
  }
}
process.stdout.write(JSON.stringify(out));
`;

describe('bundled plugins in a plain node process', () => {
  it("loads every bundled plugin's handler module from the build, each exporting its own definition", () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: ROOT,
      encoding: 'utf8',
      // Only what a data plane is started with: no tsx loader, no NODE_OPTIONS of the runner.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout) as Record<
      string,
      { name?: string; phases?: string[]; error?: string }
    >;
    const names = BUNDLED_SPECS.map((s) => s.name).sort();
    expect(Object.keys(loaded).sort()).toEqual(names);
    const failed = Object.entries(loaded).filter(([, v]) => v.error !== undefined);
    expect(failed, failed.map(([n, v]) => `${n}: ${v.error}`).join('\n')).toEqual([]);
    for (const name of names) {
      expect(loaded[name]?.name).toBe(name);
      expect(loaded[name]?.phases?.length, `${name} has no handler`).toBeGreaterThan(0);
    }
  });
});
