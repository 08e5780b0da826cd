/**
 * The packages a module's static imports reach, for the tests that keep start paths light (the
 * data plane's entries, data-plane/src/workers/start-imports.test.ts; the `gatehouse` commands,
 * control-plane/src/cli-imports.test.ts): the walk reads TypeScript sources, follows relative
 * imports and the workspace packages' subpath imports into their sources, and stops at every other
 * package. A development tool: nothing in a running process imports it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Value imports and re-exports (`import type` / `export type` are erased, so not followed). */
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;

export interface WalkOptions {
  /** Paths in the chains are given relative to this folder. */
  readonly base: string;
  /**
   * Workspace packages whose subpaths are followed into their sources: `@gatehouse/shared` →
   * its `src` folder (`@gatehouse/shared/<path>` is `<folder>/<path>.ts`, the package's `./*`
   * export). The bare name (a barrel) is reported as a package, not followed.
   */
  readonly sources: Readonly<Record<string, string>>;
}

/**
 * Every package the static imports from `entry` (a .ts file) reach, with the chain of files that
 * reaches it first (dynamic `import()` and `require` are not followed; `node:` built-ins are left
 * out).
 */
export function packagesReached(entry: string, options: WalkOptions): Map<string, string> {
  const sources = Object.entries(options.sources);
  const parent = new Map<string, string | null>([[entry, null]]);
  const reached = new Map<string, string>();
  const chain = (file: string): string => {
    const files: string[] = [];
    for (let f: string | null | undefined = file; f; f = parent.get(f))
      files.unshift(relative(options.base, f));
    return files.join(' > ');
  };
  const sourceOf = (spec: string): string | null => {
    if (spec.startsWith('.')) return null;
    for (const [name, folder] of sources)
      if (spec.startsWith(`${name}/`)) return join(folder, `${spec.slice(name.length + 1)}.ts`);
    return null;
  };
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const [, , typeOnly, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (typeOnly || spec === undefined || spec.startsWith('node:')) continue;
      const local = spec.startsWith('.') ? join(dirname(file), spec.replace(/\.js$/, '.ts')) : sourceOf(spec);
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
