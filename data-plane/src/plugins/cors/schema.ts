import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

export const CORS_METHODS = [
  'GET',
  'HEAD',
  'PUT',
  'PATCH',
  'POST',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
] as const;

function asteriskOrRegex(value: string): string | null {
  if (value === '*') return null;
  try {
    new RegExp(value);
    return null;
  } catch {
    return `'${value}' is not a valid regex`;
  }
}

/** Kong's cors schema (kong/plugins/cors/schema.lua). */
const corsSchema = t.record({
  origins: t.array(t.string({ custom_validator: asteriskOrRegex }), {
    description:
      "List of allowed domains for the `Access-Control-Allow-Origin` header. If you want to allow all origins, add `*` as a single value to this configuration field. The accepted values can either be flat strings or regexes. NOTE: If you don't specify any allowed domains, all origins are allowed.",
  }),
  headers: t.array(t.string(), { description: 'Value for the `Access-Control-Allow-Headers` header.' }),
  exposed_headers: t.array(t.string(), {
    description:
      'Value for the `Access-Control-Expose-Headers` header. If not specified, no custom headers are exposed.',
  }),
  methods: t.array(t.string({ one_of: CORS_METHODS }), {
    default: [...CORS_METHODS],
    description:
      "'Value for the `Access-Control-Allow-Methods` header. Available options include `GET`, `HEAD`, `PUT`, `PATCH`, `POST`, `DELETE`, `OPTIONS`, `TRACE`, `CONNECT`. By default, all options are allowed.'",
  }),
  max_age: t.number({
    description: 'Indicates how long the results of the preflight request can be cached, in `seconds`.',
  }),
  credentials: t.boolean({
    required: true,
    default: false,
    description:
      'Flag to determine whether the `Access-Control-Allow-Credentials` header should be sent with `true` as the value.',
  }),
  private_network: t.boolean({
    required: true,
    default: false,
    description:
      'Flag to determine whether the `Access-Control-Allow-Private-Network` header should be sent with `true` as the value.',
  }),
  preflight_continue: t.boolean({
    required: true,
    default: false,
    description:
      'A boolean value that instructs the plugin to proxy the `OPTIONS` preflight request to the Upstream service.',
  }),
  allow_origin_absent: t.boolean({
    required: true,
    default: true,
    description: 'A boolean value that skip cors response headers when origin header of request is empty',
  }),
});

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const corsSpec = definePluginSpec({
  name: 'cors',
  version: '1.0.0',
  priority: 2000,
  noConsumer: true,
  schema: corsSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type CorsConfig = PluginConfig<typeof corsSpec.schema>;
