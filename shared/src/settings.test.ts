import { describe, expect, it } from 'vitest';
import { parseListen, parseSettings, SettingsError, settingsHelp, type SettingSpec } from './settings.js';

const SPECS: SettingSpec[] = [
  {
    key: 'listen',
    flag: 'listen',
    env: ['GH_TEST_LISTEN'],
    kind: 'listen',
    default: '127.0.0.1:8001',
    description: 'addr',
  },
  {
    key: 'workers',
    flag: 'workers',
    env: ['GH_TEST_WORKERS'],
    kind: 'int',
    min: 1,
    max: 64,
    default: '2',
    description: 'n',
  },
  { key: 'dev', flag: 'dev', env: ['GH_TEST_DEV'], kind: 'bool', default: 'false', description: 'dev' },
  { key: 'labels', flag: 'labels', env: ['GH_TEST_LABELS'], kind: 'labels', description: 'labels' },
  {
    key: 'label',
    flag: 'label',
    env: ['GH_TEST_LABEL'],
    kind: 'labels',
    multiple: true,
    description: 'label',
  },
  { key: 'keys', flag: 'keys', env: ['GH_TEST_KEYS'], kind: 'list', description: 'keys' },
  {
    key: 'level',
    flag: 'level',
    env: [],
    kind: 'enum',
    values: ['info', 'debug'],
    default: 'info',
    description: 'lvl',
  },
];

describe('parseSettings', () => {
  it('applies defaults when neither flag nor environment is set', () => {
    const { values } = parseSettings(SPECS, [], {});
    expect(values).toMatchObject({
      listen: { host: '127.0.0.1', port: 8001 },
      workers: 2,
      dev: false,
      level: 'info',
    });
  });

  it('lets flags win over environment variables', () => {
    const { values } = parseSettings(SPECS, ['--workers', '4'], { GH_TEST_WORKERS: '8' });
    expect(values.workers).toBe(4);
  });

  it('reads environment variables when no flag is given', () => {
    const { values } = parseSettings(SPECS, [], {
      GH_TEST_WORKERS: '8',
      GH_TEST_LABELS: 'zone=a,tier=edge',
      GH_TEST_KEYS: 'a.json, b.json',
    });
    expect(values.workers).toBe(8);
    expect(values.labels).toEqual({ zone: 'a', tier: 'edge' });
    expect(values.keys).toEqual(['a.json', 'b.json']);
  });

  it('merges a repeated flag, and refuses one label key given two values', () => {
    const { values } = parseSettings(SPECS, ['--label', 'zone=a', '--label', 'tier=edge,x=y'], {
      GH_TEST_LABEL: 'ignored=1',
    });
    expect(values.label).toEqual({ zone: 'a', tier: 'edge', x: 'y' });
    expect(parseSettings(SPECS, [], { GH_TEST_LABEL: 'a=1,b=2' }).values.label).toEqual({ a: '1', b: '2' });
    expect(() => parseSettings(SPECS, ['--label', 'a=1', '--label', 'a=2'], {})).toThrow(
      /--label: label 'a' given twice/,
    );
    expect(() => parseSettings(SPECS, ['--label', 'nope'], {})).toThrow(/--label: must be key=value/);
  });

  it('names the flag and the variable of every bad setting', () => {
    try {
      parseSettings(SPECS, ['--listen', 'nope'], { GH_TEST_WORKERS: 'many' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SettingsError);
      const msg = (e as SettingsError).message;
      expect(msg).toContain('--listen');
      expect(msg).toContain('GH_TEST_WORKERS (--workers): must be an integer');
      expect((e as SettingsError).problems).toHaveLength(2);
    }
  });

  it('rejects out-of-range integers, bad enums and unknown flags', () => {
    expect(() => parseSettings(SPECS, ['--workers', '0'], {})).toThrow(/must be >= 1/);
    expect(() => parseSettings(SPECS, ['--level', 'loud'], {})).toThrow(/one of info, debug/);
    expect(() => parseSettings(SPECS, ['--bogus'], {})).toThrow(/bogus/);
    expect(() => parseSettings(SPECS, [], { GH_TEST_LABELS: 'novalue' })).toThrow(/key=value/);
  });

  it('reports --help and positionals', () => {
    const r = parseSettings(SPECS, ['--help', 'extra'], {});
    expect(r.help).toBe(true);
    expect(r.positionals).toEqual(['extra']);
    expect(settingsHelp('x', 'y', SPECS)).toContain('[env GH_TEST_WORKERS] (default: 2)');
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8000', { host: '127.0.0.1', port: 8000 }],
    [':8000', { host: '0.0.0.0', port: 8000 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('parses %s', (text, want) => expect(parseListen(text)).toEqual(want));

  it.each(['8000', 'host:99999', 'host:port', ''])('refuses %s', (text) =>
    expect(parseListen(text)).toBeNull(),
  );
});
