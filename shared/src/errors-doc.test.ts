import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'generated') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

describe('docs/errors.md', () => {
  it('lists every error code the source raises', () => {
    const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    const codes = new Set<string>();
    for (const pkg of ['shared', 'control-plane', 'data-plane']) {
      for (const file of sources(join(root, pkg, 'src'))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/GH_ERR_[A-Z_]*[A-Z](?![A-Z_*])/g))
          codes.add(m[0]);
      }
    }
    expect(codes.size).toBeGreaterThan(20);
    const missing = [...codes].filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });
});
