import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t } = schema;

/** Kong's key-auth schema (kong/plugins/key-auth/schema.lua), same fields and defaults. */
const keyAuthSchema = t.record(
  {
    key_names: t.array(t.headerName(), {
      required: true,
      default: ['apikey'],
      len_min: 1,
      description: 'Names of headers, query arguments or body fields holding the key.',
    }),
    hide_credentials: t.boolean({
      required: true,
      default: false,
      description: 'Strip the key before proxying.',
    }),
    anonymous: t.anonymous(),
    key_in_header: t.boolean({ required: true, default: true }),
    key_in_query: t.boolean({ required: true, default: true }),
    key_in_body: t.boolean({ required: true, default: false }),
    run_on_preflight: t.boolean({ required: true, default: true }),
    realm: t.string({ description: 'Realm of the WWW-Authenticate header.' }),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const keyAuthSpec = definePluginSpec({
  name: 'key-auth',
  version: '1.0.0',
  priority: 1250,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: keyAuthSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type KeyAuthConfig = PluginConfig<typeof keyAuthSpec.schema>;
