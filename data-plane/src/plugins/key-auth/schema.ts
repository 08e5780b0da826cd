import { schema } from '@gatehouse/shared';

const { t } = schema;

/** Kong's key-auth schema (kong/plugins/key-auth/schema.lua), same fields and defaults. */
export const keyAuthSchema = t.record(
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

export interface KeyAuthConfig {
  key_names: string[];
  hide_credentials: boolean;
  anonymous: string | null;
  key_in_header: boolean;
  key_in_query: boolean;
  key_in_body: boolean;
  run_on_preflight: boolean;
  realm: string | null;
}
