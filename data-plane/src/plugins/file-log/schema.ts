import { schema } from '@gatehouse/shared';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { customFieldsByLua } from '../log-schema.js';

const { t } = schema;

/**
 * Kong's file name pattern `^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$`: no `*`, `&`, `%` or backquote,
 * no whitespace at either end, at least two characters. Control characters are refused too.
 */
const FILENAME = /^[^\s*&%`][^*&%`\x00-\x1f\x7f]*[^\s*&%`]$/;

/** Kong's file-log schema (kong/plugins/file-log/schema.lua). */
const fileLogSchema = t.record({
  path: t.string({
    required: true,
    len_max: 4096,
    custom_validator: (p: string) => (FILENAME.test(p) && !p.includes('\0') ? null : 'not a valid filename'),
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
