import { describe, expect, it } from 'vitest';
import { createLogger } from '@gatehouse/shared';
import type { InitContext } from '../api.js';
import plugin, { rfc5424 } from './plugin.js';
import { syslogSpec } from './schema.js';
import { schema } from '@gatehouse/shared';

const init = (config: Record<string, unknown>) =>
  plugin.init!(
    schema.validate(syslogSpec.schema, config).value as never,
    {
      log: createLogger('test', { level: 'silent' }),
    } as unknown as InitContext,
  ) as { pri: readonly [number, number, number] };

describe('plugin syslog (priorities)', () => {
  it("picks the facility and each status class's severity (Kong's PRI = facility * 8 + severity)", () => {
    const s = init({
      facility: 'local3',
      log_level: 'debug',
      server_errors_severity: 'crit',
      client_errors_severity: 'warning',
      successful_severity: 'info',
    });
    expect(s.pri).toEqual([19 * 8 + 2, 19 * 8 + 4, 19 * 8 + 6]);
  });

  it('sends nothing for a severity less severe than log_level', () => {
    const s = init({ log_level: 'warning', server_errors_severity: 'err', successful_severity: 'info' });
    expect(s.pri).toEqual([1 * 8 + 3, -1, -1]);
  });

  it('formats RFC 5424 with the app name kong', () => {
    expect(rfc5424(14, '{"a":1}', new Date('2026-01-02T03:04:05.678Z'))).toMatch(
      /^<14>1 2026-01-02T03:04:05\.678Z \S+ kong \d+ - - \{"a":1\}$/,
    );
  });
});
