/**
 * Vault references on the data plane (docs/vaults.md): the backends this node has and the
 * resolver that caches what they read. The backend list is the one place a backend is installed.
 */
import { envBackend } from './env.js';
import { fileBackend } from './file.js';
import { VaultResolver } from './resolver.js';

export { VaultResolver, type Resolution } from './resolver.js';
export type { VaultBackend } from './backend.js';
export { referencesOf, resolveConfig } from './resolve-config.js';

/** The folder the `file` vault reads (unset: the file vault is off). */
export const VAULT_FILE_ROOT_ENV = 'GATEHOUSE_VAULT_FILE_ROOT';

/** The resolver of a DP process: `env` over its environment, `file` over GATEHOUSE_VAULT_FILE_ROOT. */
export function vaultResolverFromEnv(env: NodeJS.ProcessEnv): VaultResolver {
  const root = env[VAULT_FILE_ROOT_ENV];
  return new VaultResolver({
    backends: [envBackend(env), fileBackend(root === undefined || root === '' ? null : root)],
  });
}
