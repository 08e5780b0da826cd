import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { parseSettings } from '../settings.js';
import {
  jetstreamSnapshotsOn,
  jetstreamSnapshotsSetting,
  NATS_TLS_SETTINGS,
  natsSettings,
  natsUrlSetting,
} from './settings.js';

const SPECS = [natsUrlSetting('test'), ...NATS_TLS_SETTINGS];
const read = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  natsSettings(parseSettings(SPECS, argv, env).values, (f) => `/abs/${f}`);

describe('NATS settings (both planes)', () => {
  it('reads the URL and TLS files from flags or the environment, paths resolved', () => {
    expect(read([])).toBeUndefined();
    expect(read(['--nats-url', 'nats://u:p@h:4222', '--nats-tls-ca', 'ca.pem'])).toEqual({
      url: 'nats://u:p@h:4222',
      tls: { caFile: '/abs/ca.pem', certFile: undefined, keyFile: undefined },
    });
    expect(
      read([], {
        NATS_URL: 'tls://h:4443',
        GATEHOUSE_NATS_TLS_CERT: 'c.pem',
        GATEHOUSE_NATS_TLS_KEY: 'k.pem',
      }),
    ).toEqual({
      url: 'tls://h:4443',
      tls: { caFile: undefined, certFile: '/abs/c.pem', keyFile: '/abs/k.pem' },
    });
  });

  it('refuses, naming the setting: a certificate without its key, TLS files without a URL', () => {
    const problem = (argv: string[]) => {
      try {
        read(argv);
        return null;
      } catch (e) {
        expect(isGatehouseError(e) && e.code === 'GH_ERR_CONFIG_INVALID_SETTING').toBe(true);
        return (e as Error).message;
      }
    };
    expect(problem(['--nats-url', 'h:1', '--nats-tls-cert', 'c.pem'])).toMatch(/--nats-tls-key go together/);
    expect(problem(['--nats-tls-ca', 'ca.pem'])).toMatch(/need --nats-url/);
    expect(problem(['--nats-url', 'nats://u:hunter2@h:1/x'])).toMatch(/--nats-url .*no path/);
    expect(problem(['--nats-url', 'nats://u:hunter2@h:1/x'])).not.toMatch(/hunter2/);
  });

  it('either reads or throws a typed error for any values (fast-check)', () => {
    const value = fc.option(fc.string({ maxLength: 60 }), { nil: undefined });
    fc.assert(
      fc.property(value, value, value, value, (natsUrl, natsTlsCa, natsTlsCert, natsTlsKey) => {
        try {
          const s = natsSettings({ natsUrl, natsTlsCa, natsTlsCert, natsTlsKey });
          if (s) expect(s.url).toBe(natsUrl);
        } catch (e) {
          expect(isGatehouseError(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('--jetstream-snapshots (one definition for both planes)', () => {
  const spec = jetstreamSnapshotsSetting('what it does here');
  const on = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
    jetstreamSnapshotsOn(parseSettings([spec], argv, env).values);

  it('is on by default, off by flag or GATEHOUSE_JETSTREAM_SNAPSHOTS, with the description given', () => {
    expect(spec.description).toBe('what it does here');
    expect(on([])).toBe(true);
    expect(on(['--jetstream-snapshots', 'off'])).toBe(false);
    expect(on([], { GATEHOUSE_JETSTREAM_SNAPSHOTS: 'off' })).toBe(false);
    expect(on(['--jetstream-snapshots', 'on'], { GATEHOUSE_JETSTREAM_SNAPSHOTS: 'off' })).toBe(true);
  });

  it('refuses any other value with the setting named, never a crash (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => s !== 'on' && s !== 'off'),
        (value) => {
          try {
            // The = form: a value starting with '-' is otherwise parseArgs' own (also clear) error.
            on([`--jetstream-snapshots=${value}`]);
          } catch (e) {
            expect((e as Error).name).toBe('SettingsError');
            expect((e as Error).message).toMatch(/--jetstream-snapshots: must be one of on, off/);
            return;
          }
          throw new Error(`accepted ${JSON.stringify(value)}`);
        },
      ),
      { examples: [['-x'], [' on'], ['OFF'], ['']] },
    );
  });
});
