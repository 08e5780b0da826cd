import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig, PROTOCOLS_HTTP_WS } from '../api.js';

const { t } = schema;

/** Kong's basic-auth schema (kong/plugins/basic-auth/schema.lua). */
const basicAuthSchema = t.record(
  {
    anonymous: t.anonymous(),
    hide_credentials: t.boolean({ required: true, default: false }),
    realm: t.string({
      required: true,
      default: 'service',
      description: 'Realm of the WWW-Authenticate header.',
    }),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const basicAuthSpec = definePluginSpec({
  name: 'basic-auth',
  version: '1.0.0',
  priority: 1100,
  noConsumer: true,
  protocols: PROTOCOLS_HTTP_WS,
  schema: basicAuthSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type BasicAuthConfig = PluginConfig<typeof basicAuthSpec.schema>;
