import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { DETECTORS } from './detectors.js';
import { selectorError } from './selectors.js';

const { t } = schema;

export const MODES = ['redact', 'hash', 'partial'] as const;
/** The largest body a masking instance may buffer (64 MiB). */
export const MAX_BODY_SIZE_LIMIT = 64 * 1024 * 1024;

const side = (what: string) =>
  t.record(
    {
      json: t.array(t.string({ custom_validator: selectorError }), {
        required: true,
        default: [],
        len_max: 256,
        description: `JSONPath-like selectors (\`$.user.email\`, \`$..card_number\`, \`$.items[*].ssn\`, \`$.a[0]\`) of the ${what} JSON body values to mask.`,
      }),
      headers: t.array(t.headerName(), {
        required: true,
        default: [],
        len_max: 256,
        description: `Names of ${what} headers whose values are masked.`,
      }),
    },
    { required: true },
  );

/** Gatehouse's own data-masking plugin (no Kong equivalent; Kong's field conventions). */
const dataMaskingSchema = t.record(
  {
    mode: t.string({
      required: true,
      default: 'redact',
      one_of: MODES,
      description:
        '`redact` replaces a value with `redaction`; `hash` with the hex HMAC-SHA-256 of it under `hash_secret` (equal values stay joinable); `partial` keeps its last `keep_last` characters.',
    }),
    redaction: t.string({
      required: true,
      default: '****',
      len_max: 256,
      description: 'The text that replaces a value in `redact` mode.',
    }),
    hash_secret: t.string({
      len_min: 16,
      encrypted: true,
      referenceable: true,
      description: 'The HMAC key of `hash` mode (at least 16 characters). Required when `mode` is `hash`.',
    }),
    keep_last: t.integer({
      required: true,
      default: 4,
      between: [0, 64],
      description: 'How many trailing characters `partial` mode keeps visible.',
    }),
    detectors: t.set(t.string({ one_of: DETECTORS }), {
      required: true,
      default: [],
      description:
        'Built-in detectors scanning every string of a JSON body: `email`, `card` (Luhn-checked), `iban` (mod-97 checked).',
    }),
    max_body_size: t.integer({
      required: true,
      default: 1048576,
      between: [1, MAX_BODY_SIZE_LIMIT],
      description:
        'The largest JSON body (bytes) buffered for masking: a larger request is refused with 413, a larger response with 502.',
    }),
    request: side('request'),
    response: side('response'),
  },
  {
    entity_checks: [
      {
        conditional: {
          if_field: 'mode',
          if_match: { eq: 'hash' },
          then_field: 'hash_secret',
          then_match: { required: true },
        },
      },
      {
        custom_entity_check: {
          field_sources: ['request', 'response', 'detectors'],
          fn: (r) => {
            const sides = [r['request'], r['response']] as ({
              json?: unknown[];
              headers?: unknown[];
            } | null)[];
            const some = sides.some((s) => (s?.json?.length ?? 0) > 0 || (s?.headers?.length ?? 0) > 0);
            const detectors = (r['detectors'] as unknown[] | null)?.length ?? 0;
            return some || detectors > 0
              ? null
              : 'at least one of these fields must be non-empty: request.json, request.headers, response.json, response.headers, detectors';
          },
        },
      },
    ],
  },
);

export const dataMaskingSpec = definePluginSpec({
  name: 'data-masking',
  version: '1.0.0',
  // After request-/response-transformer (801/800), so it masks the final bodies; after
  // request-validator (999), which sees the values as sent.
  priority: 799,
  schema: dataMaskingSchema,
});

export type DataMaskingConfig = PluginConfig<typeof dataMaskingSpec.schema>;
