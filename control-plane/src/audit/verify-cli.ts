/**
 * `gatehouse audit verify [--database-url URL | --data-dir DIR]`: walks both audit chains
 * (chain.ts) and prints what it checked. Exit 0: every row's hash and link hold; 1: a row does not
 * (its table, seq and request id are named) or the database cannot be read; 2: bad usage.
 * The embedded database (PGlite) can be read only while no control plane holds its data folder.
 */
import { resolve } from 'node:path';
import {
  createLogger,
  isGatehouseError,
  parseSettings,
  settingsHelp,
  SettingsError,
  type SettingSpec,
} from '@gatehouse/shared';
import { DATABASE_URL, LOG } from '../config-cli.js';
import { checkDataFolder, databaseDir, DataFolderLock } from '../data-folder.js';
import { openDatabase } from '../db/index.js';
import { verifyChain, type AuditTable } from './chain.js';

type Out = (text: string) => void;

const SETTINGS: SettingSpec[] = [
  DATABASE_URL,
  {
    key: 'dataDir',
    flag: 'data-dir',
    env: ['GATEHOUSE_DATA_DIR'],
    kind: 'string',
    default: '.gatehouse/cp',
    description:
      "The control plane's data folder (its embedded database; the control plane must be stopped).",
  },
  LOG,
];

const USAGE = 'gatehouse audit verify [options]';
const SUMMARY =
  'Checks the audit log hash chains (audit_requests, audit_objects) from the oldest kept row; exits 1 naming the first row that was altered or removed.';
const TABLES: readonly AuditTable[] = ['audit_requests', 'audit_objects'];

export async function runAuditCommand(
  argv: string[],
  io: { stdout?: Out; stderr?: Out } = {},
): Promise<number> {
  const stdout = io.stdout ?? ((t: string) => process.stdout.write(t));
  const stderr = io.stderr ?? ((t: string) => process.stderr.write(t));
  const [command, ...rest] = argv;
  if (command !== 'verify') {
    if (command === '--help' || command === '-h' || command === 'help') {
      stdout(`Usage: ${USAGE}\n`);
      return 0;
    }
    stderr(
      `gatehouse: ${command ? `unknown audit command "${command}"` : 'missing audit command'}\nUsage: ${USAGE}\n`,
    );
    return 2;
  }
  let parsed;
  try {
    parsed = parseSettings(SETTINGS, rest);
  } catch (e) {
    if (e instanceof SettingsError) {
      stderr(`gatehouse: ${e.message}\nRun 'gatehouse audit verify --help' for the options.\n`);
      return 2;
    }
    throw e;
  }
  if (parsed.help) {
    stdout(settingsHelp(USAGE, SUMMARY, SETTINGS));
    return 0;
  }
  if (parsed.positionals.length) {
    stderr(`gatehouse: unexpected argument "${parsed.positionals[0]}"\n`);
    return 2;
  }
  const v = parsed.values;
  const logger = createLogger('gatehouse-audit', { level: v.logLevel as string });
  const databaseUrl = v.databaseUrl as string | undefined;
  const dataDir = resolve(v.dataDir as string);
  let lock: DataFolderLock | null = null;
  try {
    if (!databaseUrl) {
      await checkDataFolder(dataDir);
      lock = await DataFolderLock.acquire(dataDir, logger);
    }
    const db = await openDatabase({ databaseUrl, dataDir: databaseDir(dataDir), logger });
    try {
      let broken = false;
      for (const table of TABLES) {
        const report = await verifyChain(db.prisma, table);
        if (report.broken) {
          const b = report.broken;
          stderr(
            `${table}: row seq ${b.seq} (request_id ${b.request_id}) fails: ${b.reason}; ${report.rows} rows before it verified\n`,
          );
          broken = true;
        } else
          stdout(
            `${table}: ${report.rows} rows verified${report.first === null ? '' : ` (from seq ${report.first})`}\n`,
          );
      }
      return broken ? 1 : 0;
    } finally {
      await db.close();
    }
  } catch (e) {
    stderr(`gatehouse: ${isGatehouseError(e) ? e.message : (e as Error).message}\n`);
    return 1;
  } finally {
    await lock?.release();
  }
}
