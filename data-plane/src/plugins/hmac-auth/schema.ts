import { schema } from '@gatehouse/shared';

const { t } = schema;

export const HMAC_ALGORITHMS = ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;

/** Kong's hmac-auth schema (kong/plugins/hmac-auth/schema.lua). */
export const hmacAuthSchema = t.record(
  {
    hide_credentials: t.boolean({ required: true, default: false }),
    clock_skew: t.number({
      default: 300,
      gt: 0,
      description: 'Allowed clock skew in seconds (replay window).',
    }),
    anonymous: t.anonymous(),
    validate_request_body: t.boolean({ required: true, default: false }),
    enforce_headers: t.array(t.string(), { default: [] }),
    algorithms: t.array(t.string({ one_of: HMAC_ALGORITHMS }), { default: [...HMAC_ALGORITHMS] }),
    realm: t.string(),
  },
  { required: true },
);

export interface HmacAuthConfig {
  hide_credentials: boolean;
  clock_skew: number;
  anonymous: string | null;
  validate_request_body: boolean;
  enforce_headers: string[];
  algorithms: (typeof HMAC_ALGORITHMS)[number][];
  realm: string | null;
}
