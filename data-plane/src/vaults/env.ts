/**
 * Kong's `env` vault (kong/vaults/env/init.lua): `{vault://env/my-secret}` reads MY_SECRET —
 * `config.prefix` prepended, `-` turned into `_`, upper-cased; version 2 reads `<NAME>_PREVIOUS`.
 * Read when resolved (a process's environment does not change while it runs, so env secrets
 * rotate with a restart; the `file` backend rotates in place).
 */
import type { VaultBackend } from './backend.js';

/** Kong's name mapping: prefix + resource, `-` → `_`, upper case. */
export function envName(
  config: Readonly<Record<string, unknown>>,
  resource: string,
  version: number | null,
): string {
  const prefix = typeof config.prefix === 'string' ? config.prefix : '';
  const name = (prefix + resource).replaceAll('-', '_').toUpperCase();
  return version === 2 ? `${name}_PREVIOUS` : name;
}

export function envBackend(env: NodeJS.ProcessEnv = process.env): VaultBackend {
  return {
    name: 'env',
    get(config, resource, version) {
      const name = envName(config, resource, version);
      return Promise.resolve(Object.hasOwn(env, name) ? (env[name] ?? null) : null);
    },
  };
}
