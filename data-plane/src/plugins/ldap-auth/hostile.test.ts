/**
 * Properties over hostile input: any config validates to a value or field errors (never a
 * throw, never a polluted prototype); any Authorization / Proxy-Authorization value ends in a 401
 * or, once it parses as a credential, in the bind (here refused by an unreachable server: Kong's
 * 500), never in an exception; any username becomes exactly one escaped RDN value of the bind DN.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schema } from '@gatehouse/shared';
import plugin from './plugin.js';
import { ldapAuthSpec } from './schema.js';
import { parseLdapCredentials } from './credentials.js';
import { bindDn } from './dn.js';
import { initialise, outcome, pluginRequest, run, snapshotOf } from '../runtime/test-support.js';

const BASE = 'ou=people,dc=example,dc=org';

const hostileValue = fc.oneof(
  fc.anything(),
  fc.constant('__proto__'),
  fc.constant({ ['__proto__']: { polluted: true } }),
  fc.string(),
  fc.integer(),
  fc.boolean(),
);
const configKeys = [...Object.keys(ldapAuthSpec.schema.fields), '__proto__', 'constructor', 'unknown'];

/** Splits a DN at its unescaped commas and unescapes the first RDN's value (RFC 4514). */
function parseDn(dn: string): { rdns: string[]; firstValue: string; firstAttr: string } {
  const rdns: string[] = [];
  let cur = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\') {
      cur += dn.slice(i, i + 3);
      i += 2;
    } else if (c === ',') {
      rdns.push(cur);
      cur = '';
    } else cur += c;
  }
  rdns.push(cur);
  const first = rdns[0]!;
  const eq = first.indexOf('=');
  const raw = first.slice(eq + 1);
  expect(raw).not.toMatch(/(^|[^\\])[=+,;<>"]/);
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\') {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const ch = String.fromCodePoint(raw.codePointAt(i)!);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length - 1;
    }
  }
  return { rdns, firstAttr: first.slice(0, eq), firstValue: Buffer.from(bytes).toString('utf8') };
}

describe('ldap-auth over hostile input', () => {
  it('validates any config to a value or field errors, without throwing or polluting prototypes', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...configKeys), hostileValue, { maxKeys: 8 }), (config) => {
        const result = schema.check(
          ldapAuthSpec.schema,
          JSON.parse(JSON.stringify(config ?? null)) as unknown,
        );
        if (result.errors !== null) expect(Object.keys(result.errors).length).toBeGreaterThan(0);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('makes any username exactly one RDN value of the bind DN, under the configured base', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.fullUnicodeString(), fc.constantFrom(',', '=', '\\', ' #', 'a,uid=b')),
        (user) => {
          const dn = bindDn('uid', user, BASE);
          const parsed = parseDn(dn);
          expect(parsed.rdns.length).toBe(BASE.split(',').length + 1);
          expect(parsed.firstAttr).toBe('uid');
          expect(parsed.rdns.slice(1).join(',')).toBe(BASE);
          // Lone surrogates do not survive UTF-8; every other string round-trips.
          if (Buffer.from(user, 'utf8').toString('utf8') === user) expect(parsed.firstValue).toBe(user);
        },
      ),
      { numRuns: 500 },
    );
  });

  const credential = fc
    .tuple(fc.string(), fc.string(), fc.constantFrom(':', ''))
    .map(([u, p, sep]) => `${u}${sep}${p}`);
  const headerValue = fc.oneof(
    fc.string(),
    fc.constantFrom('ldap', 'ldap ', 'LDAP\t', ' ldap  ', 'basic ', 'ldap ===='),
    fc
      .tuple(
        fc.constantFrom('ldap ', 'LDAP ', ' ldap\t', 'ldapx '),
        credential,
        fc.constantFrom('', ' ', '=', '\n'),
      )
      .map(([s, c, tail]) => `${s}${Buffer.from(c).toString('base64')}${tail}`),
  );

  it('parses any header value to null or a non-empty password, without throwing', () => {
    fc.assert(
      fc.property(headerValue, fc.constantFrom('ldap', 'Basic'), (v, type) => {
        const c = parseLdapCredentials(v, type);
        if (c !== null) expect(c.password.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('answers any Authorization / Proxy-Authorization with 401, or 500 from an unreachable server', async () => {
    const snapshot = snapshotOf({});
    const state = initialise(plugin, snapshot, {
      ldap_host: '127.0.0.1',
      ldap_port: 1,
      base_dn: BASE,
      attribute: 'uid',
      timeout: 1000,
    });
    await fc.assert(
      fc.asyncProperty(
        fc.option(headerValue, { nil: undefined }),
        fc.option(headerValue, { nil: undefined }),
        async (auth, proxyAuth) => {
          const headers: [string, string][] = [];
          if (auth !== undefined) headers.push(['Authorization', auth]);
          if (proxyAuth !== undefined) headers.push(['Proxy-Authorization', proxyAuth]);
          const ctx = pluginRequest(snapshot, { headers });
          await run(plugin.access!(ctx, state));
          const answer = outcome(ctx).answer;
          const parses = [auth, proxyAuth].some(
            (v) => v !== undefined && parseLdapCredentials(v, 'ldap') !== null,
          );
          expect(answer?.status).toBe(parses ? 500 : 401);
        },
      ),
      { numRuns: 200 },
    );
  });
});
