import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { customFieldsByLua } from '../log-schema.js';

const { t } = schema;

/** Kong's syslog severities, most to least severe (their RFC 5424 numbers are the index). */
export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

/** Kong's facilities, with their RFC 5424 numbers. */
export const FACILITIES = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;

const severity = () => t.string({ default: 'info', required: true, one_of: [...SEVERITIES].reverse() });

/** Kong's syslog schema (kong/plugins/syslog/schema.lua). */
const syslogSchema = t.record({
  log_level: severity(),
  successful_severity: severity(),
  client_errors_severity: severity(),
  server_errors_severity: severity(),
  custom_fields_by_lua: customFieldsByLua(),
  facility: t.string({
    default: 'user',
    required: true,
    // Kong's order.
    one_of: [
      'auth',
      'authpriv',
      'cron',
      'daemon',
      'ftp',
      'kern',
      'lpr',
      'mail',
      'news',
      'syslog',
      'user',
      'uucp',
      'local0',
      'local1',
      'local2',
      'local3',
      'local4',
      'local5',
      'local6',
      'local7',
    ] satisfies (keyof typeof FACILITIES)[],
    description: 'The facility is used by the operating system to decide how to handle each log message.',
  }),
});

export const syslogSpec = definePluginSpec({
  name: 'syslog',
  version: '1.0.0',
  priority: 4,
  schema: syslogSchema,
});

export type SyslogConfig = PluginConfig<typeof syslogSpec.schema>;
