/**
 * The chaos suite's test-only snapshot hook (control-plane/src/testing/) is compiled out of the
 * production build, and a built control plane given the hook's variable refuses to start.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_HOOK_ENV } from '../../control-plane/src/cluster/test-hook.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CP = join(ROOT, 'control-plane');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe('the test snapshot hook and the production build', () => {
  it('is not among the files the production build compiles; its loader is', () => {
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.build.json', '--listFilesOnly'], {
      cwd: CP,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const ours = r.stdout.split('\n').filter((f) => f.includes('/control-plane/src/'));
    expect(ours.some((f) => f.endsWith('/control-plane/src/cluster/test-hook.ts'))).toBe(true);
    expect(ours.filter((f) => f.includes('/control-plane/src/testing/'))).toEqual([]);
    // The sources do have it (what the chaos suite runs).
    expect(existsSync(join(CP, 'src', 'testing', 'snapshot-hook.ts'))).toBe(true);
  }, 120_000);

  it('is absent from the built dist/, and the built CP refuses to start with the variable set', () => {
    const cli = join(CP, 'dist', 'cli.js');
    expect(existsSync(cli), 'control-plane/dist is built before the integration tests').toBe(true);
    expect(
      filesUnder(join(CP, 'dist')).filter((f) => f.startsWith('testing/') || f.includes('snapshot-hook')),
    ).toEqual([]);
    const dataDir = mkdtempSync(join(tmpdir(), 'gh-hook-build-'));
    try {
      const r = spawnSync(
        process.execPath,
        [
          cli,
          'cp',
          '--dev',
          '--data-dir',
          dataDir,
          '--admin-listen',
          '127.0.0.1:0',
          '--cluster-listen',
          '127.0.0.1:0',
        ],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, [SNAPSHOT_HOOK_ENV]: '127.0.0.1:0', GATEHOUSE_ADMIN_GUI_LISTEN: 'off' },
        },
      );
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/compiled out of production builds/);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/control plane ready/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
