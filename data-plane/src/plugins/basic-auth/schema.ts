import { schema } from '@gatehouse/shared';

const { t } = schema;

/** Kong's basic-auth schema (kong/plugins/basic-auth/schema.lua). */
export const basicAuthSchema = t.record(
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

export interface BasicAuthConfig {
  anonymous: string | null;
  hide_credentials: boolean;
  realm: string;
}
