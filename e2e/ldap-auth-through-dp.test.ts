/**
 * ldap-auth through a real data plane process (`gatehouse dp --config`, DB-less, one worker) in
 * front of an echo upstream, against a real OpenLDAP (`slapd`, started by the test in a temp
 * folder). slapd's log counts the binds: a repeat within cache_ttl does not reach it.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSlapd, type Slapd } from '../test/helpers/slapd.js';
import { tempDir, type Proc, startDblessDp } from './helpers/processes.js';

const ldap = (user: string, pass: string) => `ldap ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('ldap-auth through a real data plane process and a real slapd', () => {
  let upstream: Server;
  let slapd: Slapd;
  let dp: Proc;
  let proxy: string;

  beforeAll(async () => {
    slapd = await startSlapd([
      { uid: 'einstein', password: 'password' },
      { uid: 'newton', password: 'gravity' },
    ]);
    upstream = createServer((req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ headers: req.headers }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const up = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const config = (extra: Record<string, unknown> = {}) => ({
      ldap_host: '127.0.0.1',
      ldap_port: slapd.port,
      base_dn: slapd.baseDn,
      attribute: 'uid',
      ...extra,
    });
    const dir = tempDir('ldap');
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      stringify({
        _format_version: '3.0',
        services: [
          {
            name: 'echo',
            url: up,
            routes: [
              { name: 'ldap', paths: ['/ldap'], plugins: [{ name: 'ldap-auth', config: config() }] },
              {
                name: 'hidden',
                paths: ['/hidden'],
                plugins: [{ name: 'ldap-auth', config: config({ hide_credentials: true }) }],
              },
              {
                name: 'anon',
                paths: ['/anon'],
                plugins: [{ name: 'ldap-auth', config: config({ anonymous: 'guest' }) }],
              },
            ],
          },
        ],
        consumers: [{ username: 'guest' }],
      }),
    );
    ({ proc: dp, proxy } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 1 }));
  });

  afterAll(async () => {
    await dp?.stop();
    await slapd?.close();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${proxy}${path}`, { headers, signal: AbortSignal.timeout(15_000) });
    return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, unknown> };
  };
  const seen = (b: Record<string, unknown>) => b.headers as Record<string, string>;

  it('answers 401 with `WWW-Authenticate: LDAP` for no, a wrong or an unknown credential', async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: ldap('einstein', 'nope') },
      { authorization: ldap('nobody', 'x') },
    ];
    for (const headers of cases) {
      const r = await get('/ldap', headers);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ message: 'Unauthorized' });
      expect(r.headers.get('www-authenticate')).toBe('LDAP');
    }
  });

  it('proxies the right password with X-Credential-Identifier; hide_credentials strips it', async () => {
    const ok = await get('/ldap', { authorization: ldap('einstein', 'password') });
    expect(ok.status).toBe(200);
    expect(seen(ok.body)['x-credential-identifier']).toBe('einstein');
    expect(seen(ok.body).authorization).toBe(ldap('einstein', 'password'));
    const hidden = await get('/hidden', { authorization: ldap('einstein', 'password') });
    expect(hidden.status).toBe(200);
    expect(seen(hidden.body).authorization).toBeUndefined();
  });

  it('falls back to the anonymous consumer', async () => {
    const r = await get('/anon', { authorization: ldap('einstein', 'nope') });
    expect(r.status).toBe(200);
    expect(seen(r.body)['x-anonymous-consumer']).toBe('true');
    expect(seen(r.body)['x-consumer-username']).toBe('guest');
  });

  it('serves a repeat within cache_ttl without LDAP; a new credential with LDAP down gets 500', async () => {
    const dn = `uid=newton,${slapd.baseDn}`;
    const binds = () => slapd.binds().filter((b) => b === dn).length;
    expect((await get('/ldap', { authorization: ldap('newton', 'gravity') })).status).toBe(200);
    expect((await get('/ldap', { authorization: ldap('newton', 'gravity') })).status).toBe(200);
    expect(binds()).toBe(1);
    await slapd.stop();
    try {
      expect((await get('/ldap', { authorization: ldap('newton', 'gravity') })).status).toBe(200);
      const down = await get('/ldap', { authorization: ldap('einstein', 'other') });
      expect(down.status).toBe(500);
      expect(down.body).toEqual({ message: 'An unexpected error occurred' });
    } finally {
      await slapd.start();
    }
    expect(dp.output).toContain('LDAP server unavailable');
    expect(dp.output).not.toContain('gravity');
  });
});
