/**
 * The `file` vault (ours; Kong has none): `{vault://file/db/password}` reads the file
 * `<root>/<config.prefix><resource>` on the data plane, `root` being the DP's
 * GATEHOUSE_VAULT_FILE_ROOT (a Kubernetes secret volume, a Docker secrets folder). The folder is
 * the DP's setting, never a vault entity's: no Admin API user can point a DP at another file.
 * The path never leaves the folder: the reference parser refuses `.`/`..`/empty segments, the
 * resolved path is checked against the folder, and so is its real path (a symlink out is refused).
 * One trailing newline is dropped (`echo secret > file`). Read at each resolution, so a file
 * replaced on disk is picked up once the cached value's `ttl` has passed.
 */
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { VaultBackend } from './backend.js';

/** Larger secret files are refused (a secret, not a data file). */
export const FILE_SECRET_MAX_BYTES = 64 * 1024;

function inside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export function fileBackend(root: string | null): VaultBackend {
  return {
    name: 'file',
    async get(config, resource, version) {
      if (root === null)
        throw new Error('the file vault is off on this data plane (GATEHOUSE_VAULT_FILE_ROOT is not set)');
      if (version !== null && version !== 1) throw new Error('the file vault has no versions');
      const prefix = typeof config.prefix === 'string' ? config.prefix : '';
      const base = path.resolve(root);
      const candidate = path.resolve(base, prefix + resource);
      if (!inside(base, candidate)) throw new Error('the secret path leaves the vault folder');
      let real: string;
      try {
        real = await realpath(candidate);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`cannot read the secret file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (!inside(await realpath(base), real)) throw new Error('the secret path leaves the vault folder');
      const handle = await open(real, 'r');
      try {
        const stat = await handle.stat();
        if (!stat.isFile()) throw new Error('the secret path is not a file');
        if (stat.size > FILE_SECRET_MAX_BYTES)
          throw new Error(`the secret file is larger than ${FILE_SECRET_MAX_BYTES} bytes`);
        const text = (await handle.readFile()).toString('utf8');
        return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
      } finally {
        await handle.close();
      }
    },
  };
}
