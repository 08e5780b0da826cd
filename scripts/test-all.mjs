#!/usr/bin/env node
// The whole test suite, in order: lint + format check, type checks, unit, integration, e2e.
// Integration tests need Postgres at 127.0.0.1:5432 and NATS at 127.0.0.1:4222 (.ci/run makes
// sure they are up); set GATEHOUSE_TEST_DATABASE_URL / GATEHOUSE_TEST_NATS_URL to use others.
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
// The pinned pnpm that bootstrap may have put in .tools/ (turbo runs package scripts through it).
const env = {
  ...process.env,
  PATH: `${join(root, '.tools', 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}`,
  TURBO_TELEMETRY_DISABLED: '1',
  NODE_ENV: 'test',
};

const steps = [
  ['lint', bin('eslint'), ['.', '--max-warnings=0']],
  ['format', bin('prettier'), ['--check', '**/*.{ts,mjs,js,json,yaml,yml}', '--log-level=warn']],
  ['typecheck', bin('turbo'), ['run', 'typecheck', '--output-logs=errors-only']],
  ['typecheck tests', bin('tsc'), ['-p', 'tsconfig.json']],
  ['unit', bin('vitest'), ['run', '--project', 'unit']],
  ['integration', bin('vitest'), ['run', '--project', 'integration']],
  ['e2e', bin('vitest'), ['run', '--project', 'e2e']],
];

const only = process.argv.slice(2);
for (const [name, cmd, args] of steps) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`\n✗ ${name} failed`);
    process.exit(r.status ?? 1);
  }
}
console.log('\n✓ all test steps passed');
