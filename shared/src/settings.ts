/**
 * Process settings from command-line flags and GATEHOUSE_* environment variables, validated
 * once at start. A bad setting stops the process with a message naming the flag and variable.
 * Flags win over the environment, the environment over defaults.
 */
import { parseArgs } from 'node:util';

export interface Listen {
  host: string;
  port: number;
}

type Kind = 'string' | 'int' | 'listen' | 'bool' | 'list' | 'labels' | 'enum';

export interface SettingSpec {
  /** camelCase key in the result. */
  key: string;
  /** --flag-name (without dashes). */
  flag: string;
  /** Environment variables read, first set wins. */
  env: string[];
  kind: Kind;
  description: string;
  default?: string;
  /** For `int`: inclusive bounds. For `enum`: allowed values. */
  min?: number;
  max?: number;
  values?: string[];
  /**
   * The flag may be repeated (`--label a=1 --label b=2`); for `labels` and `list` the values are
   * merged. The environment variable still holds one value (comma-separated).
   */
  multiple?: boolean;
}

export type SettingValue = string | number | boolean | Listen | string[] | Record<string, string> | undefined;

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SettingsError';
  }
}

export function parseListen(text: string): Listen | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function convert(spec: SettingSpec, raw: string): { value?: SettingValue; problem?: string } {
  switch (spec.kind) {
    case 'string':
      return raw === '' ? { problem: 'must not be empty' } : { value: raw };
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) return { problem: `must be an integer, got "${raw}"` };
      const n = Number(raw);
      if (spec.min !== undefined && n < spec.min) return { problem: `must be >= ${spec.min}, got ${n}` };
      if (spec.max !== undefined && n > spec.max) return { problem: `must be <= ${spec.max}, got ${n}` };
      return { value: n };
    }
    case 'listen': {
      const l = parseListen(raw);
      return l ? { value: l } : { problem: `must be host:port with a port 0-65535, got "${raw}"` };
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on', ''].includes(v)) return { value: true };
      if (['0', 'false', 'no', 'off'].includes(v)) return { value: false };
      return { problem: `must be true or false, got "${raw}"` };
    }
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      return { value: items };
    }
    case 'labels': {
      const out: Record<string, string> = {};
      for (const part of raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const eq = part.indexOf('=');
        if (eq <= 0) return { problem: `must be key=value pairs separated by commas, got "${part}"` };
        out[part.slice(0, eq)] = part.slice(eq + 1);
      }
      return { value: out };
    }
    case 'enum':
      return spec.values?.includes(raw)
        ? { value: raw }
        : { problem: `must be one of ${spec.values?.join(', ')}, got "${raw}"` };
  }
}

/** Each occurrence of a repeated flag converted, then merged (a label key given twice with two values is a problem). */
function mergeRepeated(spec: SettingSpec, raws: string[]): { value: SettingValue } | { problem: string } {
  const parts: SettingValue[] = [];
  for (const raw of raws) {
    const { value, problem } = convert(spec, raw);
    if (problem) return { problem };
    parts.push(value);
  }
  if (spec.kind === 'list') return { value: parts.flatMap((p) => p as string[]) };
  if (spec.kind !== 'labels') return { value: parts.at(-1) };
  const out: Record<string, string> = {};
  for (const p of parts as Record<string, string>[])
    for (const [k, v] of Object.entries(p)) {
      if (Object.hasOwn(out, k) && out[k] !== v)
        return { problem: `label '${k}' given twice with different values` };
      out[k] = v;
    }
  return { value: out };
}

/** Parses argv + env against the specs. Throws SettingsError listing every bad setting. */
export function parseSettings(
  specs: readonly SettingSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { values: Record<string, SettingValue>; help: boolean; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    help: { type: 'boolean' },
  };
  for (const s of specs)
    options[s.flag] = {
      type: s.kind === 'bool' ? 'boolean' : 'string',
      ...(s.multiple ? { multiple: true } : {}),
    };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new SettingsError([(e as Error).message.replace(/\. To specify.*$/s, '')]);
  }
  const problems: string[] = [];
  const values: Record<string, SettingValue> = {};
  for (const s of specs) {
    const fromFlag = parsed.values[s.flag];
    let raw: string | undefined;
    let source = '';
    if (Array.isArray(fromFlag)) {
      const merged = mergeRepeated(s, fromFlag.map(String));
      if ('problem' in merged) problems.push(`invalid setting --${s.flag}: ${merged.problem}`);
      else values[s.key] = merged.value;
      continue;
    }
    if (fromFlag !== undefined) {
      raw = typeof fromFlag === 'boolean' ? String(fromFlag) : String(fromFlag);
      source = `--${s.flag}`;
    } else {
      for (const name of s.env) {
        if (env[name] !== undefined) {
          raw = env[name];
          source = name;
          break;
        }
      }
    }
    if (raw === undefined) {
      if (s.default === undefined) continue;
      raw = s.default;
      source = `default of --${s.flag}`;
    }
    const { value, problem } = convert(s, raw);
    if (problem)
      problems.push(
        `invalid setting ${source}${source.startsWith('--') ? '' : ` (--${s.flag})`}: ${problem}`,
      );
    else values[s.key] = value;
  }
  if (problems.length) throw new SettingsError(problems);
  return { values, help: parsed.values.help === true, positionals: parsed.positionals };
}

export function settingsHelp(usage: string, summary: string, specs: readonly SettingSpec[]): string {
  const lines = [`Usage: ${usage}`, '', summary, '', 'Options:'];
  for (const s of specs) {
    const flag = `  --${s.flag}${s.kind === 'bool' ? '' : ' <value>'}`;
    const env = s.env.length ? ` [env ${s.env.join(', ')}]` : '';
    const def = s.default !== undefined ? ` (default: ${s.default === '' ? '""' : s.default})` : '';
    lines.push(flag, `      ${s.description}${env}${def}`);
  }
  lines.push('  --help', '      Show this help.');
  return lines.join('\n') + '\n';
}
