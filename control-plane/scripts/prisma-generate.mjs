#!/usr/bin/env node
// Runs `prisma generate` (client into src/generated/prisma). The Prisma CLI insists that a native
// schema-engine binary exists even though generate never runs it, and that binary's download host
// is not reachable everywhere. If PRISMA_SCHEMA_ENGINE_BINARY is unset we point it at an existing
// file (the wasm engine shipped inside the CLI) so generate works offline; where the binary was
// downloaded, set the variable yourself or leave this fallback in place — generate ignores it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const prismaPkg = path.dirname(require.resolve('prisma/package.json'));
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = path.join(prismaPkg, 'build', 'schema_engine_bg.wasm');
}
const cli = path.join(prismaPkg, 'build', 'index.js');
const result = spawnSync(
  process.execPath,
  [cli, 'generate', '--schema', path.join(root, 'prisma', 'schema.prisma')],
  {
    cwd: root,
    env,
    stdio: 'inherit',
  },
);
// Keep generated code out of git even where the root .gitignore does not list it.
mkdirSync(path.join(root, 'src', 'generated'), { recursive: true });
writeFileSync(path.join(root, 'src', 'generated', '.gitignore'), '*\n');
process.exit(result.status ?? 1);
