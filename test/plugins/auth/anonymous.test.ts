/**
 * Every auth plugin with `anonymous`: a value naming no consumer answers Kong's 500 with Kong's
 * message (`kong.response.error(500, "anonymous consumer <anonymous> is configured but doesn't
 * exist")` in each plugin's access code), on the request that would have fallen back to it.
 * spec/03-plugins/09-key-auth, 10-basic-auth, 16-jwt, 19-hmac-auth, 20-ldap-auth 02/03-access_spec.lua
 * "errors when anonymous user doesn't exist".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, consumer, plugin, startGateway, type Gateway } from './helpers.js';

const MISSING = '00000000-0000-4000-8000-0000000000ff';

const PLUGINS: [string, Record<string, unknown>][] = [
  ['key-auth', {}],
  ['basic-auth', {}],
  ['jwt', {}],
  ['hmac-auth', {}],
  [
    'oauth2-introspection',
    { introspection_url: 'http://127.0.0.1:9/introspect', authorization_value: 'Basic x' },
  ],
  ['openid-connect', { issuer: 'https://idp.invalid/' }],
  ['ldap-auth', { ldap_host: '127.0.0.1', ldap_port: 9, base_dn: 'dc=example,dc=org', attribute: 'uid' }],
];

describe('Plugin: every auth plugin, anonymous naming no consumer (real ProxyServer)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  for (const [name, config] of PLUGINS) {
    it(`${name}: 500 "anonymous consumer <id> is configured but doesn't exist"`, async () => {
      for (const anonymous of [MISSING, 'ghost-username']) {
        gw.apply({
          consumers: [consumer('alice')],
          plugins: [plugin(name, { ...config, anonymous }, { route: { id: 'r' } })],
        });
        const r = await call(gw.port, '/x');
        expect(r.status, anonymous).toBe(500);
        expect(JSON.parse(r.body.toString())).toEqual({
          message: `anonymous consumer ${anonymous} is configured but doesn't exist`,
        });
        expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PLUGIN_ANONYMOUS_NOT_FOUND');
      }
    });
  }
});
