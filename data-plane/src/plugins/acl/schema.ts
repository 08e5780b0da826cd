import * as schema from '@gatehouse/shared/schema/index';
import { definePluginSpec, type PluginConfig } from '../api.js';

const { t } = schema;

/**
 * Kong's acl schema (kong/plugins/acl/schema.lua), plus Kong Enterprise's
 * `include_consumer_groups` (consumer group names count as ACL groups).
 */
const aclSchema = t.record(
  {
    allow: t.array(t.string(), {
      description:
        'Arbitrary group names that are allowed to consume the service or route. One of `config.allow` or `config.deny` must be specified.',
    }),
    deny: t.array(t.string(), {
      description:
        'Arbitrary group names that are not allowed to consume the service or route. One of `config.allow` or `config.deny` must be specified.',
    }),
    hide_groups_header: t.boolean({
      required: true,
      default: false,
      description:
        'If enabled (`true`), prevents the `X-Consumer-Groups` header from being sent in the request to the upstream service.',
    }),
    always_use_authenticated_groups: t.boolean({
      required: true,
      default: false,
      description:
        "If enabled (`true`), the authenticated groups will always be used even when an authenticated consumer already exists. If the authenticated groups don't exist, it will fallback to use the groups associated with the consumer. By default the authenticated groups will only be used when there is no consumer or the consumer is anonymous.",
    }),
    include_consumer_groups: t.boolean({
      required: true,
      default: false,
      description:
        'If enabled (`true`), the names of the consumer groups a consumer belongs to are used as ACL groups too.',
    }),
  },
  { entity_checks: [{ only_one_of: ['allow', 'deny'] }, { at_least_one_of: ['allow', 'deny'] }] },
);

/** What the control plane validates and describes (the handlers are in plugin.ts). */
export const aclSpec = definePluginSpec({
  name: 'acl',
  version: '1.0.0',
  priority: 950,
  protocols: ['grpc', 'grpcs', 'http', 'https'],
  noConsumer: true,
  schema: aclSchema,
});

/** The validated config the handlers receive (inferred from the schema). */
export type AclConfig = PluginConfig<typeof aclSpec.schema>;
