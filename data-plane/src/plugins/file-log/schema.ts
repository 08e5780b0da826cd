import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { customFieldsByLua } from '../log-schema.js';

const { t } = schema;

/**
 * Kong's file name pattern `^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$`: no `*`, `&`, `%` or backquote,
 * no whitespace at either end, at least two characters. Control characters are refused too.
 */
const FILENAME = /^[^\s*&%`][^*&%`]*[^\s*&%`]$/;
/** ASCII control characters (C0 and DEL). */
const hasControl = (s: string): boolean =>
  [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** Kong's file-log schema (kong/plugins/file-log/schema.lua). */
const fileLogSchema = t.record({
  path: t.string({
    required: true,
    len_max: 4096,
    custom_validator: (p: string) => (FILENAME.test(p) && !hasControl(p) ? null : 'not a valid filename'),
    description:
      "The file path of the output log file. The plugin creates the log file if it doesn't exist yet.",
  }),
  reopen: t.boolean({
    required: true,
    default: false,
    description: 'Determines whether the log file is closed and reopened on every request.',
  }),
  custom_fields_by_lua: customFieldsByLua(),
});

export const fileLogSpec = definePluginSpec({
  name: 'file-log',
  version: '1.0.0',
  priority: 9,
  schema: fileLogSchema,
});

export type FileLogConfig = PluginConfig<typeof fileLogSpec.schema>;
