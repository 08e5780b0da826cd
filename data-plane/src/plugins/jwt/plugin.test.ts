import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin, { claimErrors } from './plugin.js';
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

  it("has the log plugins' entry write a token's header, cookie and query argument as REDACTED", () => {
    const ctx = pluginRequest(snapshotOf({}), {
      query: 'jwt=q-token&page=2',
      headers: [
        ['Cookie', 'a=1; s=c-token'],
        ['X-Token', 'Bearer h-token'],
        ['X-Other', 'kept'],
      ],
    });
    findTokens(ctx, { uri_param_names: ['jwt'], cookie_names: ['s'], header_names: ['x-token'] });
    const entry = ctx.serialize();
    expect(entry.request.headers).toMatchObject({
      cookie: 'REDACTED',
      'x-token': 'REDACTED',
      'x-other': 'kept',
    });
    expect(entry.request.querystring).toEqual({ jwt: 'REDACTED', page: '2' });
    for (const token of ['q-token', 'c-token', 'h-token']) expect(JSON.stringify(entry)).not.toContain(token);
  });
});

// kong/plugins/jwt/jwt_parser.lua verify_registered_claims + check_maximum_expiration;
// spec/03-plugins/16-jwt/03-access_spec.lua "JWT private claims checks".
describe('jwt claimErrors', () => {
  const NOW = 1_000_000;
  const conf = (claims_to_verify: ('exp' | 'nbf')[] | null, maximum_expiration = 0) => ({
    claims_to_verify,
    maximum_expiration,
  });

  it('reports every failing claim of claims_to_verify', () => {
    expect(claimErrors(conf(['nbf', 'exp']), {}, NOW)).toEqual({
      nbf: 'must be a number',
      exp: 'must be a number',
    });
    expect(claimErrors(conf(['nbf', 'exp']), { exp: NOW - 1, nbf: NOW + 5 }, NOW)).toEqual({
      exp: 'token expired',
      nbf: 'token not valid yet',
    });
    expect(claimErrors(conf(['exp']), { exp: '1' }, NOW)).toEqual({ exp: 'must be a number' });
  });

  it('checks a present exp/nbf even when claims_to_verify omits it (our difference), not an absent one', () => {
    expect(claimErrors(conf(null), {}, NOW)).toBeNull();
    expect(claimErrors(conf(null), { exp: NOW }, NOW)).toEqual({ exp: 'token expired' });
    expect(claimErrors(conf(['nbf']), { nbf: NOW + 1, exp: NOW - 1 }, NOW)).toEqual({
      nbf: 'token not valid yet',
      exp: 'token expired',
    });
  });

  it('checks maximum_expiration once the claims pass', () => {
    expect(claimErrors(conf(['exp'], 300), { exp: NOW + 301 }, NOW)).toEqual({
      exp: 'exceeds maximum allowed expiration',
    });
    expect(claimErrors(conf(['exp'], 300), { exp: NOW + 300 }, NOW)).toBeNull();
    expect(claimErrors(conf(['exp'], 300), { exp: NOW - 1 }, NOW)).toEqual({ exp: 'token expired' });
  });

  it('reads own claims only', () => {
    const claims = JSON.parse('{"__proto__":{"exp":1}}') as Record<string, unknown>;
    expect(claimErrors(conf(null), claims, NOW)).toBeNull();
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
