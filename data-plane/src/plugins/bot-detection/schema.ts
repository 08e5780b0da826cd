import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

/** Kong's bot-detection schema (kong/plugins/bot-detection/schema.lua); regexes are JavaScript's. */
const botDetectionSchema = t.record({
  allow: t.array(t.string({ is_regex: true }), {
    default: [],
    description:
      'An array of regular expressions that should be allowed. The regular expressions will be checked against the `User-Agent` header.',
  }),
  deny: t.array(t.string({ is_regex: true }), {
    default: [],
    description:
      'An array of regular expressions that should be denied. The regular expressions will be checked against the `User-Agent` header.',
  }),
});

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const botDetectionSpec = definePluginSpec({
  name: 'bot-detection',
  version: '1.0.0',
  priority: 2500,
  noConsumer: true,
  schema: botDetectionSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type BotDetectionConfig = PluginConfig<typeof botDetectionSpec.schema>;
