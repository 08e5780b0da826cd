import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

export const SIZE_UNITS = ['megabytes', 'kilobytes', 'bytes'] as const;
export type SizeUnit = (typeof SIZE_UNITS)[number];

/** Kong's factors: a kilobyte is 2^10 bytes, a megabyte 2^20. */
export const UNIT_BYTES: Record<SizeUnit, number> = { bytes: 1, kilobytes: 1024, megabytes: 1048576 };

/** Kong's request-size-limiting schema (kong/plugins/request-size-limiting/schema.lua). */
const requestSizeLimitingSchema = t.record({
  allowed_payload_size: t.integer({
    default: 128,
    description: 'Allowed request payload size in megabytes. Default is `128` megabytes (128000000 bytes).',
  }),
  size_unit: t.string({
    required: true,
    default: 'megabytes',
    one_of: SIZE_UNITS,
    description:
      'Size unit can be set either in `bytes`, `kilobytes`, or `megabytes` (default). This configuration is not available in versions prior to Kong Gateway 1.3 and Kong Gateway (OSS) 2.0.',
  }),
  require_content_length: t.boolean({
    required: true,
    default: false,
    description:
      'Set to `true` to ensure a valid `Content-Length` header exists before reading the request body.',
  }),
});

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const requestSizeLimitingSpec = definePluginSpec({
  name: 'request-size-limiting',
  version: '1.0.0',
  priority: 951,
  schema: requestSizeLimitingSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type RequestSizeLimitingConfig = PluginConfig<typeof requestSizeLimitingSpec.schema>;
