#!/usr/bin/env node
// Makes a fresh clone runnable with nothing but Node 20 and npm: installs the pinned pnpm
// into .tools/ (unless that exact version is already on PATH), installs the workspace from the
// lockfile, and builds every package (proto and Prisma client generation included).
// Idempotent and quick when nothing changed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 10)) {
  console.error(`gatehouse: Node.js >= 20.10 is required (this is ${process.version}).`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`gatehouse: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status ?? 1);
  }
}

function pnpmOnPath() {
  try {
    return execFileSync('pnpm', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export function pnpmCommand() {
  if (pnpmOnPath() === PNPM_VERSION) return 'pnpm';
  const local = join(root, '.tools', 'node_modules', '.bin', 'pnpm');
  if (!existsSync(local)) {
    console.error(`gatehouse: installing pnpm ${PNPM_VERSION} into .tools/ ...`);
    run('npm', [
      'install',
      '--prefix',
      join(root, '.tools'),
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `pnpm@${PNPM_VERSION}`,
    ]);
  }
  return local;
}

const pnpm = pnpmCommand();
// turbo runs each package's scripts through `pnpm`, so the pinned one must be first on PATH.
const toolsBin = join(root, '.tools', 'node_modules', '.bin');
const env = {
  ...process.env,
  PATH: `${toolsBin}${delimiter}${process.env.PATH ?? ''}`,
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
};
run(pnpm, ['install', '--frozen-lockfile', '--reporter=append-only'], { env });
run(pnpm, ['run', 'build'], { env });
