import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { findTokens } from './tokens.js';
import { pluginRequest, snapshotOf } from '../runtime/test-support.js';

describe('jwt', () => {
  it("has Kong's defaults", () => {
    expect(schema.validate(plugin.schema, {}).value).toEqual({
      uri_param_names: ['jwt'],
      cookie_names: [],
      key_claim_name: 'iss',
      secret_is_base64: false,
      claims_to_verify: null,
      anonymous: null,
      run_on_preflight: true,
      maximum_expiration: 0,
      header_names: ['authorization'],
      realm: null,
    });
  });

  it('refuses maximum_expiration without exp in claims_to_verify', () => {
    expect(() => schema.validate(plugin.schema, { maximum_expiration: 10 })).toThrow(/must contain 'exp'/);
  });

  it('collects tokens from query, cookies and Bearer headers (duplicates merged)', () => {
    const ctx = pluginRequest(snapshotOf({}), {
      query: 'jwt=t1',
      headers: [
        ['Cookie', 'a=1; s=t2'],
        ['Authorization', 'Bearer t1'],
        ['X-Token', 'raw'],
      ],
    });
    expect(
      findTokens(ctx, {
        uri_param_names: ['jwt'],
        cookie_names: ['s'],
        header_names: ['authorization', 'x-token'],
      }),
    ).toEqual(['t1', 't2']);
  });
});

describe('bearerToken', () => {
  it('takes the token after a case-insensitive Bearer scheme', async () => {
    const { bearerToken } = await import('./tokens.js');
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('  bearer\tabc  ')).toBe('abc');
    expect(bearerToken('Bearerabc')).toBeNull();
    expect(bearerToken('Basic abc')).toBeNull();
    expect(bearerToken('Bearer ')).toBeNull();
  });
});
