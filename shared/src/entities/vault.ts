import type { Vault } from '../config/model.js';
import * as td from '../schema/typedefs.js';
import type { RecordField } from '../schema/types.js';
import { checkRecord } from '../schema/validate.js';
import { isPlainObject } from '../schema/values.js';
import { stripReadOnly } from './common.js';
import { checkEntity, throwIfErrors } from './validate.js';

export type VaultInput = Omit<Vault, 'id' | 'created_at' | 'updated_at'> & { id?: string };

/** Kong's `typedefs.ttl` (seconds, 0 … 100000000). */
const ttl = (description: string): RecordField['fields'][string] => ({
  type: 'number',
  between: [0, 100_000_000],
  description,
});

/**
 * Kong's secret-cache settings every backend's config carries (the fields Kong's vaults give
 * their `config`; kong/pdk/vault.lua reads them): how long a value, and a miss, are cached, and how
 * long a value stays served while the backend fails to give a fresh one.
 */
const CACHE_FIELDS: RecordField['fields'] = {
  ttl: ttl(
    'Time-to-live (in seconds) of a secret read from the vault. 0 or unset: cached until the configuration changes (no rotation).',
  ),
  neg_ttl: ttl(
    'Time-to-live (in seconds) of a vault miss or failure. 0 or unset: retried at the next refresh (about every second).',
  ),
  resurrect_ttl: ttl(
    'Time (in seconds) a secret stays in use after its ttl when the vault cannot give a fresh one.',
  ),
};

/**
 * The vault backends a vault entity may name, with their `config` schemas: Kong OSS bundles
 * `env` (kong/vaults/env/schema.lua); `file` is ours (secrets as files in a folder the data plane
 * is given, GATEHOUSE_VAULT_FILE_ROOT: the folder is the DP's setting, never the CP's, so no
 * Admin API user can make a DP read an arbitrary file). The backends themselves live on the data
 * plane (data-plane/src/vaults/); a new one is a record here and a backend there (docs/vaults.md).
 */
export const VAULT_BACKENDS: Readonly<Record<string, RecordField>> = {
  env: {
    type: 'record',
    fields: {
      prefix: {
        type: 'string',
        match: '^[A-Za-z_-][A-Za-z0-9_-]*$',
        description: 'The prefix for the environment variable that the value will be stored in.',
      },
      ...CACHE_FIELDS,
    },
  },
  file: {
    type: 'record',
    fields: {
      prefix: {
        type: 'string',
        match: '^[A-Za-z0-9_.-]+$',
        not_match: '^[.]{1,2}$',
        description: 'A prefix for the file name (within the data plane folder) the value is read from.',
      },
      ...CACHE_FIELDS,
    },
  },
};

const BACKEND_NAMES = Object.keys(VAULT_BACKENDS);

/** Kong's vaults schema (kong/db/schema/entities/vaults.lua); `config` is checked by the backend's schema. */
export const vaultSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    // Kong's Lua pattern ^[a-z][a-z%d-]-[a-z%d]+$ (a valid host part of a vault reference).
    prefix: td.indexedText({
      required: true,
      match: '^[a-z][a-z0-9-]*[a-z0-9]$',
      custom_validator: (v) =>
        BACKEND_NAMES.includes(v) ? `must not be one of: ${BACKEND_NAMES.join(', ')}` : null,
      description: 'The unique prefix (or identifier) for this Vault configuration.',
    }),
    name: {
      type: 'string',
      required: true,
      custom_validator: (v) => (Object.hasOwn(VAULT_BACKENDS, v) ? null : `vault '${v}' is not installed`),
      description: "The name of the Vault that's going to be added.",
    },
    description: { type: 'string', description: 'The description of the Vault entity.' },
    config: {
      type: 'record',
      fields: {},
      parse: (v) => (isPlainObject(v) ? { value: v } : { error: 'expected a record' }),
      description:
        "The configuration properties for the Vault which can be found on the vaults' documentation page.",
    },
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    tags: td.tags(),
  },
};

export function validateVault(input: unknown, options: { base?: Partial<Vault> } = {}): VaultInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(vaultSchema, input, base);
  const v = values as unknown as VaultInput & { config: Record<string, unknown> | null };
  let config: Record<string, unknown> = v.config ?? {};
  const backend = !errors.name && typeof v.name === 'string' ? VAULT_BACKENDS[v.name] : undefined;
  if (backend && !errors.config) {
    const checked = checkRecord(backend, config, { rules: 'entity' });
    if (checked.errors) errors.config = checked.errors;
    else config = checked.value;
  }
  throwIfErrors(errors);
  const out: VaultInput = {
    prefix: v.prefix,
    name: v.name,
    description: v.description ?? null,
    config,
    tags: v.tags ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}
