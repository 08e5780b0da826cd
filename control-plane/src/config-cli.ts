/**
 * `gatehouse config validate|export|import|diff`: Kong 3.0 declarative files against the control
 * plane's database (`--database-url` / DATABASE_URL, or the embedded database in the CP data folder
 * `--data-dir`) or a running control plane's Admin API (`--admin-url`). `validate` needs neither.
 * Without either URL, a CP running on the data folder is found there and used through its Admin
 * API; only when none runs is the embedded database opened, holding the folder's lock.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import {
  createLogger,
  defineError,
  fromConfig,
  isGatehouseError,
  parseDeclarative,
  parseSettings,
  settingsHelp,
  SettingsError,
  toConfig,
  type PluginSchemas,
  type SettingSpec,
} from '@gatehouse/shared';
import {
  ADMIN_CLIENT_SETTINGS,
  ADMIN_TOKEN,
  resolveAdminToken,
  settingName,
} from './admin/access-settings.js';
import {
  checkDataFolder,
  databaseDir,
  DataFolderErrors,
  DataFolderLock,
  findLockHolder,
  type LockHolder,
} from './data-folder.js';
import { openDatabase } from './db/index.js';
import { ConfigStore, type PluginSchemas as StorePluginSchemas } from './store/index.js';
import { storedPayload } from './audit/middleware.js';
import { recordRequest } from './audit/requests.js';
import { cliAuditSource, withAuditSource } from './audit/source.js';
import { formatChanges, type Change } from './declarative/diff.js';
import { importDeclarative } from './declarative/import.js';

type Out = (text: string) => void;

export interface ConfigCommandIo {
  stdout?: Out;
  stderr?: Out;
  /** The plugin schemas (default: the bundled ones of @gatehouse/data-plane/schemas, plus --custom-plugins-dir). */
  loadPlugins?: (customDirs: string[]) => Promise<PluginSchemas>;
}

/** `--database-url` of the commands that open the CP database themselves (config, audit verify). */
export const DATABASE_URL: SettingSpec = {
  key: 'databaseUrl',
  flag: 'database-url',
  env: ['GATEHOUSE_DATABASE_URL', 'DATABASE_URL'],
  kind: 'string',
  description: 'Postgres URL of the control plane database; unset = embedded PGlite in --data-dir.',
};

const CONNECTION: SettingSpec[] = [
  {
    key: 'adminUrl',
    flag: 'admin-url',
    env: ['GATEHOUSE_ADMIN_URL'],
    kind: 'string',
    description:
      'Talk to a running control plane through its Admin API (e.g. http://127.0.0.1:8001) instead of the database.',
  },
  ...ADMIN_CLIENT_SETTINGS,
  DATABASE_URL,
  {
    key: 'dataDir',
    flag: 'data-dir',
    env: ['GATEHOUSE_DATA_DIR'],
    kind: 'string',
    default: '.gatehouse/cp',
    description:
      "The control plane's data folder (as 'gatehouse cp --data-dir'). A CP running on it is used through " +
      'its Admin API (its address is in the folder); when none runs, its embedded database is opened.',
  },
];

const SKIP: SettingSpec = {
  key: 'skipUnsupported',
  flag: 'skip-unsupported',
  env: [],
  kind: 'bool',
  default: 'false',
  description:
    'Drop (and list) entities, fields and plugins Gatehouse does not support instead of refusing the file.',
};

const PLUGIN_DIRS: SettingSpec = {
  key: 'customPluginsDir',
  flag: 'custom-plugins-dir',
  env: ['GATEHOUSE_CUSTOM_PLUGINS_DIR'],
  kind: 'list',
  description: 'Folders with custom plugins (comma-separated), so their configs validate.',
};

export const LOG: SettingSpec = {
  key: 'logLevel',
  flag: 'log-level',
  env: ['GATEHOUSE_LOG_LEVEL'],
  kind: 'enum',
  values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
  default: 'warn',
  description: 'Log level.',
};

const COMMANDS: Record<string, { usage: string; summary: string; specs: SettingSpec[] }> = {
  validate: {
    usage: 'gatehouse config validate FILE [options]',
    summary: 'Checks a declarative file (YAML or JSON, _format_version "3.0") without touching any database.',
    specs: [SKIP, PLUGIN_DIRS],
  },
  export: {
    usage: 'gatehouse config export [FILE] [options]',
    summary: 'Writes the current configuration as a declarative file (stdout when FILE is omitted or "-").',
    specs: [
      ...CONNECTION,
      {
        key: 'format',
        flag: 'format',
        env: [],
        kind: 'enum',
        values: ['yaml', 'json'],
        default: 'yaml',
        description: 'Output format.',
      },
      LOG,
    ],
  },
  import: {
    usage: 'gatehouse config import FILE [options]',
    summary:
      'Makes the configuration match FILE (creates, updates, deletes) in one transaction and prints the changes.',
    specs: [
      ...CONNECTION,
      SKIP,
      {
        key: 'dryRun',
        flag: 'dry-run',
        env: [],
        kind: 'bool',
        default: 'false',
        description: 'Print the changes without applying them.',
      },
      PLUGIN_DIRS,
      LOG,
    ],
  },
  diff: {
    usage: 'gatehouse config diff FILE [options]',
    summary: 'Prints what `import FILE` would change, entity by entity.',
    specs: [...CONNECTION, SKIP, PLUGIN_DIRS, LOG],
  },
};

const HELP = `Usage: gatehouse config <validate|export|import|diff> [FILE] [options]

  validate FILE   check a declarative file (no database needed)
  export [FILE]   write the current configuration as a declarative file
  import FILE     make the configuration match FILE (one transaction); --dry-run prints the changes
  diff FILE       print the changes import would make

Run 'gatehouse config <command> --help' for the options.
`;

async function defaultPlugins(customDirs: string[]): Promise<PluginSchemas> {
  const { loadPluginSchemas } = await import('@gatehouse/data-plane/schemas');
  return loadPluginSchemas({ customDirs });
}

const ConfigCliErrors = {
  /** The Admin API could not be reached at all (nothing was sent). */
  adminUnreachable: defineError('GH_ERR_ADMIN_UNREACHABLE', 503),
} as const;

interface WireChange {
  action: Change['action'];
  label: string;
  fields: string[] | null;
}

/** A running control plane's Admin API: its base URL and the admin token, if one is set. */
interface AdminTarget {
  url: string;
  token?: string;
}

/**
 * Calls `path` on the Admin API with the token (Kong-Admin-Token); a 4xx/5xx becomes an Error with
 * Kong's message and each problem's path.
 */
async function adminCall(target: AdminTarget, path: string, init: RequestInit = {}): Promise<unknown> {
  const url = `${target.url}${path}`;
  const headers = new Headers(init.headers);
  if (target.token !== undefined) headers.set('kong-admin-token', target.token);
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers });
  } catch (e) {
    const reason = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    throw ConfigCliErrors.adminUnreachable(
      `cannot reach the Admin API at ${url}: ${reason}`,
      { url },
      { cause: e },
    );
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? (JSON.parse(text) as unknown) : null;
  } catch {
    // not JSON: reported as text below
  }
  if (!res.ok) {
    const b = body as {
      message?: string;
      flattened_errors?: { errors: { path?: string; message: string }[] }[];
    } | null;
    const lines = b?.flattened_errors?.flatMap((f) => f.errors.map((e) => `${e.path ?? ''}: ${e.message}`));
    if (res.status === 401)
      throw new Error(
        `401 ${b?.message ?? text} — ${target.token === undefined ? 'this control plane wants an admin token: set' : 'check'} ${settingName(ADMIN_TOKEN)}`,
      );
    throw new Error(
      lines?.length
        ? `declarative config is invalid:\n${lines.join('\n')}`
        : `${res.status} ${b?.message ?? text}`,
    );
  }
  return body;
}

/**
 * Runs `gatehouse config …` with `argv` after `config`. Returns the exit code: 0 done, 1 the file
 * or the operation failed (message on stderr), 2 bad usage.
 */
export async function runConfigCommand(argv: string[], io: ConfigCommandIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((t: string) => process.stdout.write(t));
  const stderr = io.stderr ?? ((t: string) => process.stderr.write(t));
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    stdout(HELP);
    return command === undefined ? 2 : 0;
  }
  const def = COMMANDS[command];
  if (!def) {
    stderr(`gatehouse: unknown config command "${command}"\n${HELP}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseSettings(def.specs, rest);
  } catch (e) {
    if (e instanceof SettingsError) {
      stderr(`gatehouse: ${e.message}\nRun 'gatehouse config ${command} --help' for the options.\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    stdout(settingsHelp(def.usage, def.summary, def.specs));
    return 0;
  }
  const v = parsed.values;
  const [file, extra] = parsed.positionals;
  if (extra !== undefined) {
    stderr(`gatehouse: unexpected argument "${extra}"\n`);
    return 2;
  }
  if (command !== 'export' && file === undefined) {
    stderr(`gatehouse: missing FILE\nUsage: ${def.usage}\n`);
    return 2;
  }
  const loadPlugins = io.loadPlugins ?? defaultPlugins;
  const customDirs = ((v.customPluginsDir as string[] | undefined) ?? []).map((d) => resolve(d));

  try {
    if (command === 'validate') {
      const text = await readFile(file!, 'utf8');
      const result = toConfig(parseDeclarative(text, { filename: file }), {
        filename: file,
        skipUnsupported: v.skipUnsupported as boolean,
        plugins: await loadPlugins(customDirs),
      });
      for (const u of result.unsupported) stderr(`skipped (unsupported): ${u}\n`);
      const counts = Object.entries(result.config)
        .filter(([, list]) => (list as unknown[]).length > 0)
        .map(([kind, list]) => `${(list as unknown[]).length} ${kind}`);
      stdout(`${file}: valid (${counts.join(', ') || 'empty'})\n`);
      return 0;
    }

    const adminUrl = (v.adminUrl as string | undefined)?.replace(/\/+$/, '');
    if (adminUrl) {
      const target = { url: adminUrl, token: await resolveAdminToken(v) };
      return await viaAdmin(target, command, file, v, stdout, stderr);
    }

    const logger = createLogger('gatehouse-config', { level: v.logLevel as string });
    const databaseUrl = v.databaseUrl as string | undefined;
    const dataDir = resolve(v.dataDir as string);
    // The embedded database allows one process: hold the folder's lock while it is open, or go
    // through the control plane that holds it. Postgres needs no lock.
    let lock: DataFolderLock | null = null;
    if (!databaseUrl) {
      await checkDataFolder(dataDir);
      try {
        lock = await DataFolderLock.acquire(dataDir, logger);
      } catch (e) {
        const holder =
          isGatehouseError(e) && e.code === 'GH_ERR_DATA_FOLDER_LOCKED' && (await findLockHolder(dataDir));
        if (!holder || !holder.address) throw e;
        return await viaRunningControlPlane(holder, dataDir, command, file, v, stdout, stderr);
      }
    }
    let db;
    try {
      db = await openDatabase({ databaseUrl, dataDir: databaseDir(dataDir), logger });
    } catch (e) {
      await lock?.release();
      throw e;
    }
    try {
      if (command === 'export') {
        const { config } = await new ConfigStore(db, { logger }).readConfig();
        await writeOut(fromConfig(config, { format: v.format as 'yaml' | 'json' }), file, stdout);
        return 0;
      }
      const plugins = await loadPlugins(customDirs);
      // The plugin schemas also tell the audit log which plugin fields are secret.
      const store = new ConfigStore(db, { logger, author: 'cli', plugins: plugins as StorePluginSchemas });
      const text = await readFile(file!, 'utf8');
      const dryRun = command === 'diff' || (v.dryRun as boolean);
      const result = await importAudited(store, text, dryRun, () =>
        importDeclarative(store, text, {
          filename: file,
          dryRun,
          skipUnsupported: v.skipUnsupported as boolean,
          plugins,
        }),
      );
      for (const u of result.unsupported) stderr(`skipped (unsupported): ${u}\n`);
      stdout(formatChanges(result.changes));
      if (!dryRun && result.version !== null) stdout(`applied (config version ${result.version})\n`);
      return 0;
    } finally {
      await db.close();
      await lock?.release();
    }
  } catch (e) {
    if (isGatehouseError(e)) stderr(`gatehouse: ${e.message}\n`);
    else if ((e as NodeJS.ErrnoException).code === 'ENOENT') stderr(`gatehouse: ${(e as Error).message}\n`);
    else stderr(`gatehouse: ${(e as Error).message}\n`);
    return 1;
  }
}

/**
 * Runs an import on the database as the `cli` audit source (the OS user): its entity changes and
 * a `POST /config` request entry (`request_source: cli`) go to the audit log. A dry run writes nothing.
 */
async function importAudited<T>(
  store: ConfigStore,
  text: string,
  dryRun: boolean,
  run: () => Promise<T>,
): Promise<T> {
  if (dryRun) return run();
  let user = 'cli';
  try {
    user = userInfo().username || 'cli';
  } catch {
    // no user name (a uid without a passwd entry): 'cli'
  }
  const source = cliAuditSource(user);
  let status = 201;
  try {
    return await withAuditSource(source, run);
  } catch (e) {
    status = isGatehouseError(e) && e.status < 500 ? e.status : 500;
    throw e;
  } finally {
    const { payload, removed } = storedPayload(text, store.auditRedactor);
    await recordRequest(store.prisma, source, { method: 'POST', path: '/config', payload, removed, status });
  }
}

async function writeOut(text: string, file: string | undefined, stdout: Out) {
  if (file === undefined || file === '-') stdout(text);
  else await writeFile(file, text);
}

/**
 * The data folder's database is held by a running control plane: go through its Admin API, at the
 * address it published in the folder, with the same client as `--admin-url`.
 */
async function viaRunningControlPlane(
  holder: LockHolder,
  dataDir: string,
  command: string,
  file: string | undefined,
  v: Parameters<typeof resolveAdminToken>[0],
  stdout: Out,
  stderr: Out,
): Promise<number> {
  const url = holder.address!.adminUrl;
  // The same target as --admin-url: the token (if set) goes with it. The address is one of this
  // host's (parseAddressFile), so a forged cp.json cannot send the token elsewhere.
  const target = { url, token: await resolveAdminToken(v) };
  stderr(`using the running control plane at ${url} (pid ${holder.pid}, data folder ${dataDir})\n`);
  try {
    return await viaAdmin(target, command, file, v, stdout, stderr);
  } catch (e) {
    if (!isGatehouseError(e) || e.code !== 'GH_ERR_ADMIN_UNREACHABLE') throw e;
    throw DataFolderErrors.locked(
      `${e.message}. The control plane (pid ${holder.pid}) holds ${dataDir}, so its database cannot be ` +
        `opened here; pass its Admin API address with --admin-url URL`,
      { dataDir, pid: holder.pid },
      { cause: e },
    );
  }
}

async function viaAdmin(
  target: AdminTarget,
  command: string,
  file: string | undefined,
  v: Record<string, unknown>,
  stdout: Out,
  stderr: Out,
): Promise<number> {
  if (command === 'export') {
    const body = (await adminCall(target, '/config')) as { config: string };
    let text = body.config;
    if (v.format === 'json') {
      const { config } = toConfig(parseDeclarative(text), {});
      text = fromConfig(config, { format: 'json' });
    }
    await writeOut(text, file, stdout);
    return 0;
  }
  const text = await readFile(file!, 'utf8');
  parseDeclarative(text, { filename: file });
  const query = v.skipUnsupported ? '?skip_unsupported=1' : '';
  const init = (): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config: text }),
  });
  const diff = (await adminCall(target, `/config/diff${query}`, init())) as {
    changes: WireChange[];
    unsupported: string[];
  };
  for (const u of diff.unsupported) stderr(`skipped (unsupported): ${u}\n`);
  stdout(
    formatChanges(
      diff.changes.map((c) => ({ ...c, kind: 'services', id: '', fields: c.fields ?? undefined })),
    ),
  );
  if (command === 'diff' || v.dryRun || diff.changes.length === 0) return 0;
  await adminCall(target, `/config${query}`, init());
  stdout('applied\n');
  return 0;
}
