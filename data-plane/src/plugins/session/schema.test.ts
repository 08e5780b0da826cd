import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import { loadPluginSchemas } from '../schemas.js';
import { sessionSpec } from './schema.js';

const SECRET = 'x'.repeat(32);

const check = (config: unknown) => schema.check(sessionSpec.schema, config);

describe('session schema (Kong kong/plugins/session/schema.lua)', () => {
  it("fills Kong's defaults", () => {
    expect(check({ secret: SECRET })).toEqual({
      errors: null,
      value: {
        secret: SECRET,
        storage: 'cookie',
        audience: 'default',
        idling_timeout: 900,
        rolling_timeout: 3600,
        absolute_timeout: 86400,
        stale_ttl: 10,
        cookie_name: 'session',
        cookie_path: '/',
        cookie_domain: null,
        cookie_same_site: 'Strict',
        cookie_http_only: true,
        cookie_secure: true,
        remember: false,
        remember_cookie_name: 'remember',
        remember_rolling_timeout: 604800,
        remember_absolute_timeout: 2592000,
        response_headers: null,
        request_headers: null,
        read_body_for_logout: false,
        logout_methods: ['POST', 'DELETE'],
        logout_query_arg: 'session_logout',
        logout_post_arg: 'session_logout',
        hash_subject: false,
        store_metadata: false,
      },
    });
  });

  it("has Kong's priority (1900) and refuses consumer scopes (no_consumer)", async () => {
    expect(sessionSpec.priority).toBe(1900);
    const catalog = await loadPluginSchemas();
    expect(() =>
      catalog.validateConfig(
        'session',
        { secret: SECRET },
        { consumer: { id: 'c' }, consumer_group: null, protocols: ['http'] },
      ),
    ).toThrow('schema violation (consumer: value must be null)');
  });

  it('requires a secret of at least 32 characters (the same on every data plane)', () => {
    expect(check({}).errors).toEqual({ secret: 'required field missing' });
    expect(check({ secret: 'short' }).errors).toEqual({ secret: 'length must be at least 32' });
  });

  it("refuses storage 'kong' with the reason, and values outside Kong's sets", () => {
    expect(check({ secret: SECRET, storage: 'kong' }).errors?.storage).toMatch(/needs a database/);
    expect(check({ secret: SECRET, storage: 'redis' }).errors?.storage).toBe('expected one of: cookie, kong');
    expect(check({ secret: SECRET, cookie_same_site: 'lax' }).errors?.cookie_same_site).toBe(
      'expected one of: Strict, Lax, None, Default',
    );
    expect(check({ secret: SECRET, logout_methods: ['PUT'] }).errors?.logout_methods).toEqual([
      'expected one of: GET, POST, DELETE',
    ]);
    expect(check({ secret: SECRET, response_headers: ['id', 'nope'] }).errors?.response_headers).toEqual([
      null,
      'expected one of: id, audience, subject, timeout, idling-timeout, rolling-timeout, absolute-timeout',
    ]);
  });

  it('refuses cookie names, paths and domains that would inject Set-Cookie attributes', () => {
    for (const [field, value] of [
      ['cookie_name', 'a=b'],
      ['cookie_name', 'a; Domain=evil.test'],
      ['remember_cookie_name', 'x y'],
      ['cookie_path', 'no-slash'],
      ['cookie_path', '/; Secure'],
      ['cookie_domain', 'evil.test; Path=/'],
      ['cookie_domain', 'a\r\nSet-Cookie: x=y'],
    ] as const) {
      expect(check({ secret: SECRET, [field]: value }).errors?.[field], `${field}=${value}`).toMatch(/must/);
    }
  });

  it('refuses negative timeouts and timeouts over 400 days', () => {
    expect(check({ secret: SECRET, rolling_timeout: -1 }).errors?.rolling_timeout).toBeTruthy();
    expect(check({ secret: SECRET, absolute_timeout: 34_560_001 }).errors?.absolute_timeout).toBeTruthy();
    expect(check({ secret: SECRET, idling_timeout: 0 }).errors).toBeNull();
  });
});
