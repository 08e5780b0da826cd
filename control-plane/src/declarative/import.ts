import {
  parseDeclarative,
  toConfig,
  type DeclarativeDocument,
  type GatehouseConfig,
  type PluginSchemas,
} from '@gatehouse/shared';
import type { ConfigStore } from '../store/index.js';
import { carryStoredValues, describeChanges, type Change } from './diff.js';

export interface ImportOptions {
  /** Compute and return the changes without writing. */
  dryRun?: boolean;
  /** Drop unsupported entities/fields instead of refusing the document. */
  skipUnsupported?: boolean;
  /** Validates plugin configs; unknown plugin names are unsupported. */
  plugins?: PluginSchemas;
  /** Named in error messages. */
  filename?: string;
}

export interface ImportResult {
  changes: Change[];
  /** `path: reason` for what skipUnsupported dropped. */
  unsupported: string[];
  /** The configuration the database holds after the import (or would, with dryRun). */
  config: GatehouseConfig;
  /** The config version the import committed (null for a dry run or when nothing changed). */
  version: bigint | null;
}

/**
 * Makes the database match a declarative document (text or parsed): creates, updates and deletes
 * in ONE transaction (the store's `replaceAll`, which diffs against the config read here, and
 * again inside its transaction only if another write committed in between), or nothing at all.
 * Every declarative error (GH_ERR_DECLARATIVE_*) is thrown before the database is touched.
 */
export async function importDeclarative(
  store: ConfigStore,
  input: string | DeclarativeDocument,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const doc = typeof input === 'string' ? parseDeclarative(input, { filename: options.filename }) : input;
  const resolved = toConfig(doc, {
    skipUnsupported: options.skipUnsupported,
    plugins: options.plugins,
    filename: options.filename,
  });
  const read = await store.readConfig();
  const current = read.config;
  const desired = carryStoredValues(current, resolved);
  const result = await store.replaceAll(desired, { dryRun: options.dryRun, current: read });
  return {
    changes: describeChanges(result.changes, current, desired),
    unsupported: resolved.unsupported,
    config: desired,
    version: result.version,
  };
}

/** The changes an import of `input` would make (no write). */
export async function diffDeclarative(
  store: ConfigStore,
  input: string | DeclarativeDocument,
  options: Omit<ImportOptions, 'dryRun'> = {},
): Promise<ImportResult> {
  return importDeclarative(store, input, { ...options, dryRun: true });
}
