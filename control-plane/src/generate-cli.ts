/** What the `gatehouse keys` and `gatehouse certs` commands share: failing, and `<noun> generate`. */
import { isGatehouseError } from '@gatehouse/shared/errors';
import {
  parseSettings,
  settingsHelp,
  SettingsError,
  type SettingSpec,
  type SettingValue,
} from '@gatehouse/shared/settings';

/** Says `gatehouse: <message>` on stderr and exits (2: a usage error). */
export function fail(message: string, code = 2): never {
  process.stderr.write(`gatehouse: ${message}\n`);
  process.exit(code);
}

/** What a `gatehouse <noun> generate` command is: its settings, its help and what it writes. */
export interface GenerateCommand {
  noun: string;
  usage: string;
  description: string;
  settings: readonly SettingSpec[];
  /** Writes the files; returns the lines that say what was written and where each goes. */
  write(values: Record<string, SettingValue>): Promise<string[]>;
}

/** `gatehouse <noun> generate [options]`: parse, help, write, print; a Gatehouse error exits 1. */
export async function runGenerate(argv: string[], cmd: GenerateCommand): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'generate') {
    process.stdout.write(`Usage: ${cmd.usage}\n`);
    if (sub === '--help' || sub === '-h') return;
    fail(sub ? `unknown ${cmd.noun} command "${sub}"` : `missing ${cmd.noun} command`);
  }
  let parsed;
  try {
    parsed = parseSettings(cmd.settings, rest);
  } catch (e) {
    if (e instanceof SettingsError) fail(e.message);
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(
      settingsHelp(`gatehouse ${cmd.noun} generate [options]`, cmd.description, cmd.settings),
    );
    return;
  }
  if (parsed.positionals.length) fail(`unexpected argument "${parsed.positionals[0]}"`);
  try {
    process.stdout.write((await cmd.write(parsed.values)).join('\n') + '\n');
  } catch (e) {
    if (isGatehouseError(e)) fail(e.message, 1);
    throw e;
  }
}
