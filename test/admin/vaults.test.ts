/**
 * /vaults and vault references through the Admin API (Kong: spec/02-integration/04-admin_api/
 * 19-vaults_spec.lua; references in `referenceable` fields): the `file` backend's config and
 * Kong's ttls are validated, references are checked for syntax at write time (a 400 naming the
 * field) and stored as written: the database and the config the CP ships hold the reference only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { withCredentialDigests } from '@gatehouse/shared';
import { useAdminServer } from './contract-server.js';

describe('Admin API: vaults and vault references (pglite)', () => {
  const admin = useAdminServer('pglite');

  it('creates a file vault with a prefix and Kong’s ttl, neg_ttl and resurrect_ttl', async () => {
    const v = await admin.ok('POST', '/vaults', {
      prefix: 'disk',
      name: 'file',
      description: 'secrets volume',
      config: { prefix: 'gw-', ttl: 30, neg_ttl: 5, resurrect_ttl: 60 },
      tags: ['t'],
    });
    expect(v).toMatchObject({
      prefix: 'disk',
      name: 'file',
      description: 'secrets volume',
      config: { prefix: 'gw-', ttl: 30, neg_ttl: 5, resurrect_ttl: 60 },
      tags: ['t'],
    });
    expect((await admin.call('GET', '/vaults/disk')).body.id).toBe(v.id);
  });

  it('refuses a backend name as a prefix, a bad ttl and a file prefix that is a dot segment', async () => {
    const reserved = await admin.call('POST', '/vaults', { prefix: 'file', name: 'file' });
    expect(reserved.status).toBe(400);
    expect(reserved.body.fields).toEqual({ prefix: 'must not be one of: env, file' });
    const ttl = await admin.call('POST', '/vaults', { prefix: 'e1', name: 'env', config: { ttl: -1 } });
    expect(ttl.status).toBe(400);
    expect(ttl.body.fields.config.ttl).toMatch(/between/);
    const dots = await admin.call('POST', '/vaults', {
      prefix: 'f1',
      name: 'file',
      config: { prefix: '..' },
    });
    expect(dots.status).toBe(400);
    expect(dots.body.fields.config.prefix).toMatch(/invalid value/);
  });

  it('stores a key-auth key given as a reference as written; the config the CP ships holds only the reference', async () => {
    await admin.ok('POST', '/consumers', { username: 'alice' });
    const c = await admin.ok('POST', '/consumers/alice/key-auth', { key: '{vault://env/partner-key}' });
    expect(c.key).toBe('{vault://env/partner-key}');
    const { config } = await admin.store.readConfig();
    expect(config.keyauth_credentials.map((k) => k.key)).toEqual(['{vault://env/partner-key}']);
    const shipped = JSON.stringify(withCredentialDigests(config));
    expect(shipped).toContain('{vault://env/partner-key}');
  });

  it('refuses a malformed reference with a 400 naming the field', async () => {
    await admin.ok('POST', '/consumers', { username: 'bob' });
    const bad = await admin.call('POST', '/consumers/bob/key-auth', { key: '{vault://env/../etc/passwd}' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual({
      key: 'invalid vault reference: reference url has invalid path [{vault://env/../etc/passwd}]',
    });
    const plugin = await admin.call('POST', '/plugins', {
      name: 'rate-limiting',
      config: { minute: 1, policy: 'redis', redis: { host: 'localhost', password: '{vault://}' } },
    });
    expect(plugin.status).toBe(400);
    expect(plugin.body.fields.config.redis.password).toBe(
      'invalid vault reference: reference url is missing host [{vault://}]',
    );
    const ok = await admin.call('POST', '/plugins', {
      name: 'rate-limiting',
      config: {
        minute: 1,
        policy: 'redis',
        redis: { host: 'localhost', password: '{vault://env/redis-pass}' },
      },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.config.redis.password).toBe('{vault://env/redis-pass}');
  });

  it('answers 201 or a 400 naming `key`, never a 500, for hostile references', async () => {
    await admin.ok('POST', '/consumers', { username: 'carol' });
    const piece = fc.constantFrom(
      '..',
      '/',
      '%2e',
      '%',
      '?',
      '#',
      '&',
      '=',
      '__proto__',
      'env',
      '}',
      '{',
      '\\',
      'é',
      ' ',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(piece, fc.string({ maxLength: 3 })), { maxLength: 8 }),
        async (parts) => {
          const key = `{vault://${parts.join('')}}`;
          const r = await admin.call('POST', '/consumers/carol/key-auth', { key });
          if (r.status === 201) {
            expect(r.body.key).toBe(key);
            expect((await admin.call('DELETE', `/consumers/carol/key-auth/${r.body.id}`)).status).toBe(204);
          } else {
            expect(r.status === 400 || r.status === 409).toBe(true);
            if (r.status === 400) expect(Object.keys(r.body.fields ?? {})).toContain('key');
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 60 },
    );
  });
});
