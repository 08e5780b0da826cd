import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

/** Kong Enterprise's oauth2-introspection schema (RFC 7662), the fields we support. */
const introspectionSchema = t.record(
  {
    introspection_url: t.url({ required: true }),
    authorization_value: t.string({
      required: true,
      encrypted: true,
      referenceable: true,
      description: 'Authorization header value sent to the introspection endpoint.',
    }),
    token_type_hint: t.string(),
    ttl: t.number({
      default: 30,
      between: [0, 86400],
      description: 'Seconds an active result is cached (0: not cached).',
    }),
    hide_credentials: t.boolean({ default: false }),
    timeout: t.integer({ default: 10000, gt: 0 }),
    keepalive: t.integer({ default: 60000 }),
    introspect_request: t.boolean({ required: true, default: false }),
    custom_introspection_headers: t.map(t.string(), t.string(), { required: true, default: {} }),
    custom_claims_forward: t.set(t.string(), { required: true, default: [] }),
    consumer_by: t.string({ required: true, default: 'username', one_of: ['username', 'client_id'] }),
    anonymous: t.anonymous(),
    run_on_preflight: t.boolean({ default: true }),
  },
  { required: true },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const introspectionSpec = definePluginSpec({
  name: 'oauth2-introspection',
  version: '1.0.0',
  priority: 1700,
  noConsumer: true,
  protocols: ['http', 'https'],
  schema: introspectionSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type IntrospectionConfig = PluginConfig<typeof introspectionSpec.schema>;
