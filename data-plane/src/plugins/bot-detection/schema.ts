import { schema } from '@gatehouse/shared';

const { t } = schema;

export interface BotDetectionConfig {
  allow: string[];
  deny: string[];
}

/** Kong's bot-detection schema (kong/plugins/bot-detection/schema.lua); regexes are JavaScript's. */
export const botDetectionSchema = t.record({
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
