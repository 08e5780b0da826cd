import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, PROTOCOLS_HTTP_WS, type PluginConfig } from '../api.js';

const { t } = schema;

/** Kong's correlation-id schema (kong/plugins/correlation-id/schema.lua). */
const correlationIdSchema = t.record(
  {
    header_name: t.headerName({
      required: true,
      default: 'Kong-Request-ID',
      description: 'The HTTP header name to use for the correlation ID.',
    }),
    generator: t.string({
      required: true,
      default: 'uuid#counter',
      one_of: ['uuid', 'uuid#counter', 'tracker'],
      description:
        'The generator to use for the correlation ID. Accepted values are `uuid`, `uuid#counter`, and `tracker`.',
    }),
    echo_downstream: t.boolean({
      required: true,
      default: false,
      description: 'Whether to echo the header back to downstream (the client).',
    }),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const correlationIdSpec = definePluginSpec({
  name: 'correlation-id',
  version: '1.0.0',
  priority: 100001,
  protocols: PROTOCOLS_HTTP_WS,
  schema: correlationIdSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type CorrelationIdConfig = PluginConfig<typeof correlationIdSpec.schema>;
