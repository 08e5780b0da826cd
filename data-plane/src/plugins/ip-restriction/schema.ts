import { schema } from '@gatehouse/shared';
import { isIpOrCidr } from '../../net/cidr.js';

const { t } = schema;

const ipOrCidr = t.string({
  custom_validator: (v) => (isIpOrCidr(v) ? null : `invalid ip or cidr range: '${v}'`),
});

export interface IpRestrictionConfig {
  allow: string[] | null;
  deny: string[] | null;
  status: number | null;
  message: string | null;
}

/** Kong's ip-restriction schema (kong/plugins/ip-restriction/schema.lua). */
export const ipRestrictionSchema = t.record(
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
