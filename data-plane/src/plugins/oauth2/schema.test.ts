import fc from 'fast-check';
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

  it('refuses a missing provision_key (a DB-less file must give it), a short signing secret, an empty list and an unknown pkce mode', () => {
    for (const bad of [
      { ...BASE, provision_key: undefined },
      { ...BASE, token_signing_secrets: ['short'] },
      { ...BASE, token_signing_secrets: [] },
      { ...BASE, pkce: 'sometimes' },
      { ...BASE, scopes: ['has space'] },
    ])
      expect(check(bad).errors, JSON.stringify(bad)).not.toBeNull();
  });

  it("accepts no token_signing_secrets (the control plane's keys sign)", () => {
    expect(check({ ...BASE, token_signing_secrets: undefined }).errors).toBeNull();
    expect(check({ ...BASE, token_signing_secrets: null }).errors).toBeNull();
  });

  it('generates provision_key when a control plane write leaves it out (Kong generates it), keeps a given one', () => {
    const generate = oauth2Spec.generate!;
    const filled = generate({ enable_client_credentials: true });
    expect(filled.provision_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generate({ enable_client_credentials: true }).provision_key).not.toBe(filled.provision_key);
    expect(generate({ provision_key: 'mine' }).provision_key).toBe('mine');
    expect(generate({ provision_key: null }).provision_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(check(filled).errors).toBeNull();
  });

  it('generate never throws and never changes anything but a missing provision_key (fast-check)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.anything()), (config) => {
        const out = oauth2Spec.generate!(config);
        const given = config.provision_key !== undefined && config.provision_key !== null;
        if (given) expect(out).toBe(config);
        else
          expect(Object.keys(out).sort()).toEqual(
            [...new Set([...Object.keys(config), 'provision_key'])].sort(),
          );
      }),
      { numRuns: 200 },
    );
  });
});
