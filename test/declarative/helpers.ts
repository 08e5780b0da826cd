import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromConfig, type PluginSchemas } from '@gatehouse/shared';
import { loadPluginRegistry, type PluginRegistry } from '@gatehouse/data-plane/plugins';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { createTestDatabase, quietLogger, type DbKind, type TestDatabase } from '../helpers/db.js';

export const CORPUS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'corpus');

export const corpusFiles = (): string[] =>
  readdirSync(CORPUS_DIR)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();

export const readCorpus = (name: string): string => readFileSync(join(CORPUS_DIR, name), 'utf8');

let registry: Promise<PluginRegistry> | undefined;
/** The bundled plugin registry (what the CP validates plugin configs with). */
export function plugins(): Promise<PluginRegistry> {
  registry ??= loadPluginRegistry({});
  return registry;
}

export interface StoreFixture {
  db: TestDatabase;
  store: ConfigStore;
  plugins: PluginSchemas;
}

export async function openStore(kind: DbKind): Promise<StoreFixture> {
  const db = await createTestDatabase(kind);
  const registry = await plugins();
  const store = new ConfigStore(db.db, { logger: quietLogger(), plugins: registry });
  return { db, store, plugins: registry };
}

/** The database's configuration as a declarative document, and its version. */
export async function dbState(store: ConfigStore): Promise<{ version: bigint; text: string }> {
  const { version, config } = await store.readConfig();
  return { version, text: fromConfig(config) };
}
