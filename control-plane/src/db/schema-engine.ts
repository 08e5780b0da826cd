import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';

type Bindings = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

/** The slice of the WebAssembly global we use (@types/node 20 does not declare it). */
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

let bindings: Promise<Bindings> | undefined;

/**
 * Loads the WebAssembly schema engine. The package's ESM entry imports the `.wasm` file directly,
 * which a plain `node` process (and vitest) cannot do without --experimental-wasm-modules, so we
 * instantiate `schema_engine_bg.wasm` ourselves against the package's JS glue.
 */
function loadBindings(): Promise<Bindings> {
  bindings ??= (async () => {
    const require = createRequire(import.meta.url);
    const glueUrl = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = (await import(pathToFileURL(glueUrl).href)) as Bindings & {
      __wbg_set_wasm(wasm: unknown): void;
    };
    const bytes = await readFile(path.join(path.dirname(glueUrl), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, {
      './schema_engine_bg.js': glue,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
    return glue;
  })();
  return bindings;
}

/** A schema engine over a driver adapter (Postgres or PGlite), with `schema.prisma` loaded. */
export async function createSchemaEngine(
  adapter: SqlMigrationAwareDriverAdapterFactory,
  schemaPath: string,
  log: (message: string) => void = () => {},
): Promise<SchemaEngine> {
  const { SchemaEngine: Engine } = await loadBindings();
  const schema = await readFile(schemaPath, 'utf8');
  return Engine.new(
    { datamodels: [[path.basename(schemaPath), schema]] },
    log,
    bindMigrationAwareSqlAdapterFactory(adapter),
  );
}

/** Reads `prisma/migrations` in Prisma's folder layout into the engine's MigrationList. */
export async function readMigrations(migrationsDir: string): Promise<MigrationList> {
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch(() => []);
  const dirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    dirs.map(async (dir) => {
      const file = path.join(migrationsDir, dir, 'migration.sql');
      const content = await readFile(file, 'utf8').then(
        (value) => ({ tag: 'ok' as const, value }),
        (e: Error) => ({ tag: 'error' as const, value: e.message }),
      );
      return { path: dir, migrationFile: { path: 'migration.sql', content } };
    }),
  );
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  const lockContent = await readFile(lockPath, 'utf8').catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

export const NO_FILTERS = { externalTables: [], externalEnums: [] };
