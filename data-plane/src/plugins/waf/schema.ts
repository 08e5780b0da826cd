import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { CATEGORIES, RULE_IDS } from './rules.js';

const { t } = schema;

/** The most `max_body_size` may be (the runtime's body buffer bound, 8 MiB). */
export const MAX_BODY_LIMIT = 8 * 1024 * 1024;

/** `path`, `body`, or `args:` / `headers:` / `cookies:` and a name (case-insensitive for headers). */
const TARGET = /^(?:path|body|(?:args|headers|cookies):[^\s]{1,256})$/;

const ruleId = t.integer({
  custom_validator: (v: number) => (RULE_IDS.has(v) ? null : `unknown rule id ${v}`),
});

const exclusion = t.record({
  target: t.string({
    required: true,
    custom_validator: (v: string) =>
      TARGET.test(v) ? null : "must be 'path', 'body', or 'args:<name>', 'headers:<name>', 'cookies:<name>'",
  }),
  rule_ids: t.array(ruleId, { default: [], len_max: 500 }),
  categories: t.array(t.string({ one_of: CATEGORIES }), { default: [], len_max: CATEGORIES.length }),
});

/**
 * The waf plugin's config (ours: Kong OSS has no WAF). Names follow CRS's settings where it has
 * one (`paranoia_level`, `anomaly_threshold` as `inbound_anomaly_score_threshold`).
 */
const wafSchema = t.record(
  {
    mode: t.string({
      required: true,
      default: 'block',
      one_of: ['block', 'detect'],
      description:
        "'block' answers 403 when the anomaly score reaches the threshold; 'detect' only logs and counts.",
    }),
    paranoia_level: t.integer({
      required: true,
      default: 1,
      between: [1, 4],
      description: 'Rules of this paranoia level and below run (CRS: 1 to 4).',
    }),
    anomaly_threshold: t.integer({
      required: true,
      default: 5,
      between: [1, 10_000],
      description: 'Inbound anomaly score at which a request is blocked (CRS default 5: one critical rule).',
    }),
    max_body_size: t.integer({
      required: true,
      default: 131_072,
      between: [0, MAX_BODY_LIMIT],
      description: 'Bytes of request body inspected at most (0: bodies are not inspected).',
    }),
    body_limit_action: t.string({
      required: true,
      default: 'reject',
      one_of: ['reject', 'skip'],
      description:
        "A body over max_body_size: 'reject' answers 413 (in block mode), 'skip' sends it upstream uninspected.",
    }),
    disabled_rules: t.array(ruleId, {
      required: true,
      default: [],
      len_max: 500,
      description: 'Rule ids that never run.',
    }),
    exclusions: t.array(exclusion, {
      // Required with a default (as body_limit_action): absent means none, an explicit null is a 400.
      required: true,
      default: [],
      len_max: 200,
      description:
        'Rules (by id or category; none named: every rule) that do not inspect one target of the request.',
    }),
  },
  { required: true },
);

/**
 * What the control plane validates and describes. Priority 2200: after bot-detection (2500) and
 * before cors (2000), session (1900) and every authentication plugin, so an attack never reaches
 * an auth backend (LDAP, introspection); see docs/waf.md.
 */
export const wafSpec = definePluginSpec({
  name: 'waf',
  version: '1.0.0',
  priority: 2200,
  noConsumer: true,
  schema: wafSchema,
});

export type WafConfig = PluginConfig<typeof wafSpec.schema>;
