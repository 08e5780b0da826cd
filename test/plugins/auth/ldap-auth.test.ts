/**
 * ldap-auth through a real ProxyServer against a real OpenLDAP (`slapd`, started here on a free
 * port with its own config and database; `.ci/run` installs it). slapd's `stats` log counts the
 * binds it served, which proves when a request did (or did not) reach LDAP.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeIdleLdapConnections } from '../../../data-plane/src/plugins/ldap-auth/plugin.js';
import { FAILED_BINDS_BURST } from '../../../data-plane/src/plugins/ldap-auth/cache.js';
import { startSlapd, type Slapd } from '../../helpers/slapd.js';
import { until } from '../../helpers/until.js';
import { call, consumer, plugin, startGateway, type Gateway, type SeenRequest } from './helpers.js';

const ldap = (user: string, pass: string, scheme = 'ldap') =>
  `${scheme} ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('Plugin: ldap-auth (real ProxyServer, real slapd)', () => {
  let gw: Gateway;
  let slapd: Slapd;
  let ttl = 600;
  beforeAll(async () => {
    slapd = await startSlapd([
      { uid: 'einstein', password: 'password' },
      { uid: 'newton', password: 'gravity' },
      { uid: 'curie', password: 'radium' },
      { uid: 'tesla', password: 'ac-dc' },
      { uid: 'bohr', password: 'atom' },
      { uid: 'smith, j', dnValue: 'smith\\2C j', password: 'comma' },
    ]);
    gw = await startGateway();
  });
  afterAll(async () => {
    closeIdleLdapConnections();
    await gw?.close();
    await slapd?.close();
  });

  /** A route with ldap-auth; each call gets its own cache_ttl so no test sees another's cache. */
  const apply = (config: Record<string, unknown> = {}) => {
    ttl++;
    gw.apply({
      consumers: [consumer('anon')],
      plugins: [
        plugin(
          'ldap-auth',
          {
            ldap_host: '127.0.0.1',
            ldap_port: slapd.port,
            base_dn: slapd.baseDn,
            attribute: 'uid',
            cache_ttl: ttl,
            ...config,
          },
          { route: { id: 'r' } },
        ),
      ],
    });
  };
  const get = (headers: Record<string, string> = {}) => call(gw.port, '/x', { headers });

  it('answers 401 "Unauthorized" with `WWW-Authenticate: LDAP` when no credential is sent', async () => {
    apply();
    const r = await get();
    expect(r.status).toBe(401);
    expect(r.json()).toEqual({ message: 'Unauthorized' });
    expect(r.headers['www-authenticate']).toBe('LDAP');
  });

  it('proxies a right password with X-Credential-Identifier and no consumer (as Kong)', async () => {
    apply();
    const r = await get({ authorization: ldap('einstein', 'password'), 'x-consumer-id': 'spoofed' });
    expect(r.status).toBe(200);
    const seen = r.json<SeenRequest>().headers;
    expect(seen['x-credential-identifier']).toBe('einstein');
    expect(seen['x-consumer-id']).toBeUndefined();
    expect(seen['x-anonymous-consumer']).toBeUndefined();
    expect(seen.authorization).toBe(ldap('einstein', 'password'));
    expect(slapd.binds()).toContain(`uid=einstein,${slapd.baseDn}`);
  });

  it('accepts the scheme in any case after leading spaces, and Proxy-Authorization', async () => {
    apply();
    const cases: Record<string, string>[] = [
      { authorization: ` LDAP ${Buffer.from('einstein:password').toString('base64')}` },
      { 'proxy-authorization': ldap('einstein', 'password') },
      // Proxy-Authorization fails, Authorization is tried next (Kong).
      { 'proxy-authorization': ldap('einstein', 'nope'), authorization: ldap('einstein', 'password') },
    ];
    for (const headers of cases) {
      const r = await get(headers);
      expect(r.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('answers 401 for a wrong password, an unknown user, a malformed or empty credential', async () => {
    apply({ realm: 'test-ldap' });
    for (const authorization of [
      ldap('einstein', 'wrong_password'),
      ldap('nobody', 'password'),
      ldap('einstein', 'password:another_password'),
      ldap('einstein', ''),
      'ldap ',
      'abcd',
      ldap('einstein', 'password', 'invalidldap'),
      'ldap !!!!',
    ]) {
      const r = await get({ authorization });
      expect(r.status, authorization).toBe(401);
      expect(r.json()).toEqual({ message: 'Unauthorized' });
      expect(r.headers['www-authenticate']).toBe('LDAP realm="test-ldap"');
    }
  });

  it('escapes the username in the bind DN: no RDN, attribute or base can be injected', async () => {
    apply();
    const before = slapd.binds().length;
    for (const user of ['einstein,ou=people', 'x,uid=einstein', 'einstein\\', '*', '#einstein ']) {
      const r = await get({ authorization: ldap(user, 'password') });
      expect(r.status, user).toBe(401);
    }
    const binds = slapd.binds().slice(before);
    expect(binds).toContain(`uid=einstein\\2Cou\\3Dpeople,${slapd.baseDn}`);
    expect(binds).toContain(`uid=x\\2Cuid\\3Deinstein,${slapd.baseDn}`);
    // A real uid with a comma binds, escaped.
    const r = await get({ authorization: ldap('smith, j', 'comma') });
    expect(r.status).toBe(200);
    expect(r.json<SeenRequest>().headers['x-credential-identifier']).toBe('smith, j');
  });

  it('uses header_type as the scheme and the challenge', async () => {
    apply({ header_type: 'Basic', realm: 'test-ldap' });
    const none = await get();
    expect(none.headers['www-authenticate']).toBe('Basic realm="test-ldap"');
    expect((await get({ authorization: ldap('einstein', 'password', 'basic') })).status).toBe(200);
    expect((await get({ authorization: ldap('einstein', 'password') })).status).toBe(401);
  });

  it('strips Authorization and Proxy-Authorization upstream with hide_credentials', async () => {
    apply({ hide_credentials: true });
    const r = await get({ authorization: ldap('einstein', 'password'), 'proxy-authorization': 'x' });
    expect(r.status).toBe(200);
    const seen = r.json<SeenRequest>().headers;
    expect(seen.authorization).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
  });

  it('falls back to the anonymous consumer on a wrong or missing credential', async () => {
    apply({ anonymous: 'anon' });
    const cases: Record<string, string>[] = [{}, { authorization: ldap('einstein', 'bad') }];
    for (const headers of cases) {
      const r = await get(headers);
      expect(r.status).toBe(200);
      const seen = r.json<SeenRequest>().headers;
      expect(seen['x-anonymous-consumer']).toBe('true');
      expect(seen['x-consumer-username']).toBe('anon');
      expect(seen['x-credential-identifier']).toBeUndefined();
    }
    const ok = await get({ authorization: ldap('einstein', 'password') });
    expect(ok.json<SeenRequest>().headers['x-credential-identifier']).toBe('einstein');
    expect(ok.json<SeenRequest>().headers['x-anonymous-consumer']).toBeUndefined();
  });

  it('answers a second request within cache_ttl without binding, even with LDAP stopped', async () => {
    apply();
    const dn = `uid=newton,${slapd.baseDn}`;
    const count = () => slapd.binds().filter((b) => b === dn).length;
    expect((await get({ authorization: ldap('newton', 'gravity') })).status).toBe(200);
    expect((await get({ authorization: ldap('newton', 'wrong') })).status).toBe(401);
    expect(count()).toBe(2);
    expect((await get({ authorization: ldap('newton', 'gravity') })).status).toBe(200);
    expect((await get({ authorization: ldap('newton', 'wrong') })).status).toBe(401);
    expect(count()).toBe(2);
    await slapd.stop();
    try {
      expect((await get({ authorization: ldap('newton', 'gravity') })).status).toBe(200);
      expect((await get({ authorization: ldap('newton', 'wrong') })).status).toBe(401);
    } finally {
      await slapd.start();
    }
  });

  it("answers Kong's 500 when the LDAP server cannot be reached (anonymous or not), and recovers", async () => {
    await slapd.stop();
    try {
      for (const config of [{}, { anonymous: 'anon' }]) {
        apply(config);
        const r = await get({ authorization: ldap('curie', 'radium') });
        expect(r.status).toBe(500);
        expect(r.json()).toEqual({ message: 'An unexpected error occurred' });
      }
      expect(gw.logs.text).toContain('LDAP server unavailable');
    } finally {
      await slapd.start();
    }
    // Failures to reach the server are not cached.
    expect((await get({ authorization: ldap('curie', 'radium') })).status).toBe(200);
  });

  it('answers 500 on a timeout too (a server that accepts and never answers)', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      ttl++;
      gw.apply({
        plugins: [
          plugin(
            'ldap-auth',
            {
              ldap_host: '127.0.0.1',
              ldap_port: (silent.address() as { port: number }).port,
              base_dn: slapd.baseDn,
              attribute: 'uid',
              timeout: 200,
              cache_ttl: ttl,
            },
            { route: { id: 'r' } },
          ),
        ],
      });
      const r = await get({ authorization: ldap('curie', 'radium') });
      expect(r.status).toBe(500);
    } finally {
      closeIdleLdapConnections();
      silent.close();
    }
  });

  it('binds again once cache_ttl has passed', async () => {
    apply({ cache_ttl: 0.3 });
    const dn = `uid=bohr,${slapd.baseDn}`;
    const count = () => slapd.binds().filter((b) => b === dn).length;
    expect((await get({ authorization: ldap('bohr', 'atom') })).status).toBe(200);
    expect((await get({ authorization: ldap('bohr', 'atom') })).status).toBe(200);
    expect(count()).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect((await get({ authorization: ldap('bohr', 'atom') })).status).toBe(200);
    expect(count()).toBe(2);
  });

  it(`stops binding for a user after ${FAILED_BINDS_BURST} failed binds (401 without asking LDAP)`, async () => {
    apply();
    const dn = `uid=tesla,${slapd.baseDn}`;
    const count = () => slapd.binds().filter((b) => b === dn).length;
    for (let i = 0; i < FAILED_BINDS_BURST; i++)
      expect((await get({ authorization: ldap('tesla', `guess-${i}`) })).status).toBe(401);
    expect(count()).toBe(FAILED_BINDS_BURST);
    expect((await get({ authorization: ldap('tesla', 'guess-more') })).status).toBe(401);
    // Even the right password is not tried while the user is throttled.
    expect((await get({ authorization: ldap('tesla', 'ac-dc') })).status).toBe(401);
    expect(count()).toBe(FAILED_BINDS_BURST);
    // Other users are not affected.
    expect((await get({ authorization: ldap('einstein', 'password') })).status).toBe(200);
  });

  it('shares one bind between concurrent requests with the same credential', async () => {
    apply();
    const dn = `uid=curie,${slapd.baseDn}`;
    const before = slapd.binds().filter((b) => b === dn).length;
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => get({ authorization: ldap('curie', 'radium') })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
    await until(async () => slapd.binds().filter((b) => b === dn).length > before, 'the bind in the log');
    expect(slapd.binds().filter((b) => b === dn).length).toBe(before + 1);
  });

  it('answers any hostile username and password with 200 or 401, binding only under base_dn', async () => {
    apply();
    const before = slapd.binds().length;
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.fullUnicodeString({ maxLength: 20 }),
      fc.constantFrom('*', ')(uid=*', 'einstein,ou=people', '\\', ' ', '#', 'a\u0000b', 'x'.repeat(2000)),
    );
    await fc.assert(
      fc.asyncProperty(text, text, async (user, pass) => {
        const r = await get({ authorization: ldap(user, pass) });
        expect([200, 401]).toContain(r.status);
      }),
      { numRuns: 60 },
    );
    for (const dn of slapd.binds().slice(before)) expect(dn.endsWith(`,${slapd.baseDn}`), dn).toBe(true);
  });

  it('never logs the password or the Authorization value', async () => {
    apply();
    gw.logs.text = '';
    await get({ authorization: ldap('einstein', 'LEAKED-PASSWORD') });
    expect(gw.logs.text).not.toContain('LEAKED-PASSWORD');
    expect(gw.logs.text).not.toContain(Buffer.from('einstein:LEAKED-PASSWORD').toString('base64'));
  });
});
