/**
 * What each `gatehouse` command of this package loads before it runs: cli.ts imports every
 * command's module on demand, so `gatehouse keys rotate|revoke` (run on a CP's host while it
 * serves, and beside data planes in chaos F28) loads the key files and jose, not the control
 * plane's database, gRPC, NATS or Admin API. The whole CLI used to load for it: 1.9–2.4 s of CPU
 * per command against 0.4 s now (docs/chaos.md, "Where the time goes").
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));
/** `@gatehouse/shared/<path>` is `shared/src/<path>.ts` (its package.json's `./*` export). */
const SHARED_SRC = join(SRC, '..', '..', 'shared', 'src');
const SHARED = '@gatehouse/shared';

/** Value imports and re-exports (`import type` / `export type` are erased, so not followed). */
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;

/**
 * Every package the static imports from `entry` reach (dynamic `import()` is not followed), with
 * the chain of files that reaches it; `@gatehouse/shared/<path>` is followed into its sources,
 * the bare barrel reported as a package.
 */
function packagesReached(entry: string): Map<string, string> {
  const parent = new Map<string, string | null>([[entry, null]]);
  const reached = new Map<string, string>();
  const chain = (file: string): string => {
    const files: string[] = [];
    for (let f: string | null | undefined = file; f; f = parent.get(f)) files.unshift(relative(SRC, f));
    return files.join(' > ');
  };
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const [, , typeOnly, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (typeOnly || spec === undefined || spec.startsWith('node:')) continue;
      const local = spec.startsWith('.')
        ? join(dirname(file), spec.replace(/\.js$/, '.ts'))
        : spec.startsWith(`${SHARED}/`)
          ? join(SHARED_SRC, `${spec.slice(SHARED.length + 1)}.ts`)
          : null;
      if (local !== null) {
        if (!parent.has(local)) {
          parent.set(local, file);
          queue.push(local);
        }
        continue;
      }
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      if (!reached.has(name)) reached.set(name, chain(file));
    }
  }
  return reached;
}

const packages = (entry: string) => [...packagesReached(join(SRC, entry)).keys()].sort();

describe('gatehouse command imports', () => {
  it('the entry loads no command: each loads on demand', () => {
    expect(packages('cli.ts')).toEqual([]);
  });

  it('gatehouse keys loads jose and nothing of the running control plane', () => {
    expect(packages('keys-cli.ts')).toEqual(['jose']);
  });

  it('gatehouse certs loads the X.509 library and nothing of the running control plane', () => {
    expect(packages('certs-cli.ts')).toEqual(['@peculiar/x509', 'reflect-metadata']);
  });

  it('gatehouse cp does load the control plane (the walk follows its imports)', () => {
    const reached = packages('cp-cli.ts');
    expect(reached).toContain('@grpc/grpc-js');
    expect(reached).toContain('@electric-sql/pglite');
  });
});
