import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';
import { isIpOrCidr } from '../../net/cidr.js';

const { t } = schema;

const ipOrCidr = t.string({
  custom_validator: (v) => (isIpOrCidr(v) ? null : `invalid ip or cidr range: '${v}'`),
});

/** Kong's ip-restriction schema (kong/plugins/ip-restriction/schema.lua). */
const ipRestrictionSchema = t.record(
  {
    allow: t.array(ipOrCidr, {
      description:
        'List of IPs or CIDR ranges to allow. One of `config.allow` or `config.deny` must be specified.',
    }),
    deny: t.array(ipOrCidr, {
      description:
        'List of IPs or CIDR ranges to deny. One of `config.allow` or `config.deny` must be specified.',
    }),
    status: t.number({
      description: 'The HTTP status of the requests that will be rejected by the plugin.',
      // Kong takes any number; a status node cannot send would fail every rejected request.
      custom_validator: (v) =>
        Number.isInteger(v) && v >= 100 && v <= 599 ? null : 'value should be between 100 and 599',
    }),
    message: t.string({ description: 'The message to send as a response body to rejected requests.' }),
  },
  { entity_checks: [{ at_least_one_of: ['allow', 'deny'] }] },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const ipRestrictionSpec = definePluginSpec({
  name: 'ip-restriction',
  version: '1.0.0',
  priority: 990,
  protocols: ['http', 'https', 'tcp', 'tls', 'grpc', 'grpcs'],
  schema: ipRestrictionSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type IpRestrictionConfig = PluginConfig<typeof ipRestrictionSpec.schema>;
