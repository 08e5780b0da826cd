import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, PROTOCOLS_HTTP_WS, type PluginConfig } from '../api.js';

const { t } = schema;

/** Kong's redirect schema (kong/plugins/redirect/schema.lua, Kong 3.9). */
const redirectSchema = t.record(
  {
    status_code: t.integer({
      required: true,
      default: 301,
      between: [100, 599],
      description: 'The response code to send. Must be an integer between 100 and 599.',
    }),
    location: t.url({ required: true, description: 'The URL to redirect to' }),
    keep_incoming_path: t.boolean({
      required: true,
      default: false,
      description: "Use the incoming request's path and query string in the redirect URL",
    }),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const redirectSpec = definePluginSpec({
  name: 'redirect',
  version: '1.0.0',
  priority: 779,
  protocols: PROTOCOLS_HTTP_WS,
  schema: redirectSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type RedirectConfig = PluginConfig<typeof redirectSpec.schema>;
