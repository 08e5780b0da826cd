import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { ldapAuthSpec, type LdapAuthConfig } from './schema.js';
import { parseLdapCredentials } from './credentials.js';
import { bindDn, escapeDnValue } from './dn.js';
import { FAILED_BINDS_BURST, FAILED_BIND_REFILL_MS, LdapAuthCache, resultKey } from './cache.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';

const base = { ldap_host: 'ldap.example', base_dn: 'ou=people,dc=example,dc=org', attribute: 'uid' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('ldap-auth schema (Kong 3.x)', () => {
  it("has Kong's priority, scope rule and defaults", () => {
    expect(ldapAuthSpec.priority).toBe(1200);
    expect(ldapAuthSpec.noConsumer).toBe(true);
    const v = schema.validate(ldapAuthSpec.schema, base).value;
    expect(v).toEqual({
      ...base,
      ldap_port: 389,
      ldaps: false,
      start_tls: false,
      verify_ldap_host: false,
      cache_ttl: 60,
      hide_credentials: false,
      timeout: 10000,
      keepalive: 60000,
      anonymous: null,
      header_type: 'ldap',
      realm: null,
    });
    expect(schema.validate(ldapAuthSpec.schema, { ...base, ldap_port: 12345 }).value.ldap_port).toBe(12345);
  });

  it('requires ldap_host, base_dn and attribute', () => {
    expect(schema.check(ldapAuthSpec.schema, {}).errors).toEqual({
      ldap_host: 'required field missing',
      base_dn: 'required field missing',
      attribute: 'required field missing',
    });
  });

  it("refuses ldaps with start_tls with Kong's message", () => {
    const r = schema.check(ldapAuthSpec.schema, { ...base, ldaps: true, start_tls: true });
    expect(r.errors).toEqual({ '@entity': ["'ldaps' and 'start_tls' cannot be enabled simultaneously"] });
  });

  it('refuses values that would reach a header or a DN unchecked', () => {
    for (const bad of [
      { ldap_host: 'not a host' },
      { ldap_port: 70000 },
      { attribute: 'uid,ou=x' },
      { attribute: 'uid=' },
      { base_dn: 'dc=x\n' },
      { header_type: 'ldap realm' },
      { header_type: 'a\r\nX-Injected: 1' },
      { realm: 'a"b' },
      { realm: 'a\nb' },
      { cache_ttl: -1 },
      { timeout: 0 },
      { anonymous: '' },
    ])
      expect(
        schema.check(ldapAuthSpec.schema, { ...base, ...bad }).errors,
        JSON.stringify(bad),
      ).not.toBeNull();
  });
});

describe('ldap-auth credentials (Kong: `^\\s*<header_type>\\s+` then base64 of `^(.*?):(.+)$`)', () => {
  it('reads the username and password, splitting at the first colon', () => {
    expect(parseLdapCredentials(`ldap ${b64('einstein:pa:ss')}`, 'ldap')).toEqual({
      username: 'einstein',
      password: 'pa:ss',
    });
    expect(parseLdapCredentials(`  LDAP\t${b64('a:b')}  `, 'ldap')).toEqual({ username: 'a', password: 'b' });
    expect(parseLdapCredentials(`basic ${b64('a:b')}`, 'Basic')).toEqual({ username: 'a', password: 'b' });
  });

  it('returns null for another scheme, no separator, an empty password, bad base64 or line breaks', () => {
    for (const v of [
      `invalidldap ${b64('a:b')}`,
      `ldap${b64('a:b')}`,
      'ldap ',
      'ldap',
      `ldap ${b64('ab')}`,
      `ldap ${b64('a:')}`,
      'ldap !!!!',
      'ldap a',
      `ldap ${b64('a\n:b')}`,
      `ldap ${b64('a:b\nc')}`,
    ])
      expect(parseLdapCredentials(v, 'ldap'), v).toBeNull();
  });
});

describe('ldap-auth bind DN (RFC 4514)', () => {
  it("builds Kong's `attribute=user,base_dn` with the user escaped", () => {
    expect(bindDn('uid', 'einstein', 'dc=x')).toBe('uid=einstein,dc=x');
    expect(bindDn('uid', 'a,ou=admins', 'dc=x')).toBe('uid=a\\2Cou\\3Dadmins,dc=x');
    expect(escapeDnValue(' #a+b;c<d>e"f\\g ')).toBe('\\20\\23a\\2Bb\\3Bc\\3Cd\\3Ee\\22f\\5Cg\\20');
    expect(escapeDnValue('a\u0000b')).toBe('a\\00b');
    expect(escapeDnValue('a b#')).toBe('a b\\23');
    expect(escapeDnValue('é')).toBe('é');
  });
});

describe('ldap-auth cache and failed-bind throttle', () => {
  const conf = schema.validate<LdapAuthConfig>(ldapAuthSpec.schema, base).value;

  it('keys results by an HMAC that changes with the password, user and server', () => {
    const k = resultKey(conf, 'u', 'p');
    expect(resultKey(conf, 'u', 'p')).toBe(k);
    expect(resultKey(conf, 'u', 'q')).not.toBe(k);
    expect(resultKey(conf, 'v', 'p')).not.toBe(k);
    expect(resultKey({ ...conf, ldap_port: 636 }, 'u', 'p')).not.toBe(k);
  });

  // Expiry after cache_ttl is proven against slapd (test/plugins/auth/ldap-auth.test.ts).
  it('remembers successes and failures, nothing for a cache_ttl of 0', () => {
    const c = new LdapAuthCache();
    c.remember('k0', true, 0);
    expect(c.result('k0')).toBeUndefined();
    c.remember('k', false, 60);
    expect(c.result('k')).toBe(false);
    c.remember('k1', true, 60);
    expect(c.result('k1')).toBe(true);
  });

  it(`allows ${FAILED_BINDS_BURST} failed binds per user, then one per ${FAILED_BIND_REFILL_MS} ms`, () => {
    let now = 1_000_000;
    const c = new LdapAuthCache(() => now);
    for (let i = 0; i < FAILED_BINDS_BURST; i++) {
      expect(c.mayBind(conf, 'u')).toBe(true);
      c.failed(conf, 'u');
    }
    expect(c.mayBind(conf, 'u')).toBe(false);
    expect(c.mayBind(conf, 'other')).toBe(true);
    now += FAILED_BIND_REFILL_MS - 1;
    expect(c.mayBind(conf, 'u')).toBe(false);
    now += 1;
    expect(c.mayBind(conf, 'u')).toBe(true);
    c.failed(conf, 'u');
    expect(c.mayBind(conf, 'u')).toBe(false);
  });
});

describe('ldap-auth access', () => {
  it("answers 401 with Kong's challenge without a credential, and Kong's 500 when LDAP is unreachable", async () => {
    const snapshot = snapshotOf({});
    const state = initialise(plugin, snapshot, { ...base, ldap_host: '127.0.0.1', ldap_port: 1 });
    const none = pluginRequest(snapshot);
    await run(plugin.access!(none, state));
    expect(outcome(none).answer).toMatchObject({
      status: 401,
      json: { message: 'Unauthorized' },
      headers: { 'WWW-Authenticate': 'LDAP' },
    });
    const ctx = pluginRequest(snapshot, { headers: [['Authorization', `ldap ${b64('u:p')}`]] });
    await run(plugin.access!(ctx, state));
    expect(outcome(ctx).answer).toMatchObject({
      status: 500,
      json: { message: 'An unexpected error occurred' },
    });
  });
});
