import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import { loadPluginSchemas } from '../schemas.js';
import { oauth2Spec } from './schema.js';

const BASE = {
  provision_key: 'pk',
  token_signing_secrets: ['s'.repeat(32)],
  enable_client_credentials: true,
};
const check = (config: unknown) => schema.check(oauth2Spec.schema, config);

describe('oauth2 schema (Kong kong/plugins/oauth2/schema.lua, spec/03-plugins/25-oauth2/01-schema_spec.lua)', () => {
  it("fills Kong's defaults", () => {
    expect(check(BASE)).toEqual({
      errors: null,
      value: {
        ...BASE,
        scopes: null,
        mandatory_scope: false,
        token_expiration: 7200,
        enable_authorization_code: false,
        enable_implicit_grant: false,
        enable_password_grant: false,
        hide_credentials: false,
        accept_http_if_already_terminated: false,
        anonymous: null,
        global_credentials: false,
        auth_header_name: 'authorization',
        refresh_token_ttl: 1209600,
        reuse_refresh_token: false,
        pkce: 'lax',
        persistent_refresh_token: false,
        realm: null,
      },
    });
  });

  it("has Kong's priority (1400) and refuses consumer scopes (no_consumer)", async () => {
    expect(oauth2Spec.priority).toBe(1400);
    const catalog = await loadPluginSchemas();
    expect(() =>
      catalog.validateConfig('oauth2', BASE, {
        consumer: { id: 'c' },
        consumer_group: null,
        protocols: ['http'],
      }),
    ).toThrow('schema violation (consumer: value must be null)');
  });

  it('Kong: "errors when no flows are enabled"', () => {
    const { errors } = check({ ...BASE, enable_client_credentials: false });
    expect(JSON.stringify(errors)).toContain(
      'at least one of these fields must be true: enable_authorization_code, enable_implicit_grant, enable_client_credentials, enable_password_grant',
    );
  });

  it('Kong: "requires `scopes` when `mandatory_scope` is true"', () => {
    expect(check({ ...BASE, mandatory_scope: true }).errors).not.toBeNull();
    expect(check({ ...BASE, mandatory_scope: true, scopes: ['email'] }).errors).toBeNull();
  });

  it('refuses a missing provision_key, a short or missing signing secret, and an unknown pkce mode', () => {
    for (const bad of [
      { ...BASE, provision_key: undefined },
      { ...BASE, token_signing_secrets: ['short'] },
      { ...BASE, token_signing_secrets: [] },
      { ...BASE, token_signing_secrets: undefined },
      { ...BASE, pkce: 'sometimes' },
      { ...BASE, scopes: ['has space'] },
    ])
      expect(check(bad).errors, JSON.stringify(bad)).not.toBeNull();
  });
});
