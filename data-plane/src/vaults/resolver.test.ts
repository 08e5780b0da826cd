import type { Vault } from '@gatehouse/shared';
import { describe, expect, it } from 'vitest';
import type { VaultBackend } from './backend.js';
import { envBackend } from './env.js';
import { VaultResolver } from './resolver.js';

/** A backend whose secrets the test sets, counting reads; `fail` makes reads throw. */
function memoryBackend(name = 'env') {
  const secrets = new Map<string, string>();
  const state = { reads: 0, fail: false };
  const backend: VaultBackend = {
    name,
    get(_config, resource) {
      state.reads++;
      if (state.fail) return Promise.reject(new Error('backend down'));
      return Promise.resolve(secrets.get(resource) ?? null);
    },
  };
  return { backend, secrets, state };
}

function vault(prefix: string, name: string, config: Record<string, unknown>): Vault {
  return {
    id: prefix,
    prefix,
    name,
    description: null,
    config,
    created_at: 0,
    updated_at: 0,
    tags: null,
  };
}

describe('vault resolver: cache and ttls (injected clock)', () => {
  it('reads a reference once and serves it from the cache until its ttl passes', async () => {
    let now = 1000;
    const m = memoryBackend();
    m.secrets.set('token', 'v1');
    const r = new VaultResolver({ backends: [m.backend], now: () => now });
    const vaults = [vault('my-env', 'env', { ttl: 10 })];
    const ref = '{vault://my-env/token}';
    expect(r.lookup(ref, vaults)).toBeUndefined();
    expect(await r.refresh([ref], vaults)).toBe(true);
    expect(r.lookup(ref, vaults)).toEqual({ value: 'v1' });
    m.secrets.set('token', 'v2');
    now += 9;
    expect(await r.refresh([ref], vaults)).toBe(false);
    expect(m.state.reads).toBe(1);
    expect(r.lookup(ref, vaults)).toEqual({ value: 'v1' });
    expect(r.nextDue([ref], vaults)).toBe(1);
    now += 1;
    expect(await r.refresh([ref], vaults)).toBe(true);
    expect(r.lookup(ref, vaults)).toEqual({ value: 'v2' });
  });

  it('without a ttl keeps a value until the configuration changes (no re-read)', async () => {
    let now = 0;
    const m = memoryBackend();
    m.secrets.set('a', 'x');
    const r = new VaultResolver({ backends: [m.backend], now: () => now });
    await r.refresh(['{vault://env/a}'], []);
    now += 1e9;
    await r.refresh(['{vault://env/a}'], []);
    expect(m.state.reads).toBe(1);
    expect(r.nextDue(['{vault://env/a}'], [])).toBe(Infinity);
  });

  it('a reference query overrides the vault config (ttl)', async () => {
    let now = 0;
    const m = memoryBackend();
    m.secrets.set('a', 'x');
    const r = new VaultResolver({ backends: [m.backend], now: () => now });
    await r.refresh(['{vault://env/a?ttl=5}'], []);
    expect(r.nextDue(['{vault://env/a?ttl=5}'], [])).toBe(5);
    now += 5;
    await r.refresh(['{vault://env/a?ttl=5}'], []);
    expect(m.state.reads).toBe(2);
  });

  it('a missing secret is an error (never an empty value), cached for neg_ttl', async () => {
    let now = 0;
    const m = memoryBackend();
    const r = new VaultResolver({ backends: [m.backend], now: () => now });
    const vaults = [vault('neg', 'env', { neg_ttl: 30 })];
    await r.refresh(['{vault://neg/nope}'], vaults);
    expect(r.lookup('{vault://neg/nope}', vaults)).toEqual({ error: 'no value found' });
    now += 29;
    await r.refresh(['{vault://neg/nope}'], vaults);
    expect(m.state.reads).toBe(1);
    m.secrets.set('nope', 'here');
    now += 1;
    expect(await r.refresh(['{vault://neg/nope}'], vaults)).toBe(true);
    expect(r.lookup('{vault://neg/nope}', vaults)).toEqual({ value: 'here' });
  });

  it('keeps the last value for resurrect_ttl past its ttl while the backend fails, then errors', async () => {
    let now = 0;
    const m = memoryBackend();
    m.secrets.set('a', 'old');
    const r = new VaultResolver({ backends: [m.backend], now: () => now });
    const vaults = [vault('res', 'env', { ttl: 10, resurrect_ttl: 20 })];
    const ref = '{vault://res/a}';
    await r.refresh([ref], vaults);
    m.state.fail = true;
    now = 15;
    expect(await r.refresh([ref], vaults)).toBe(false);
    expect(r.lookup(ref, vaults)).toEqual({ value: 'old' });
    now = 30;
    expect(await r.refresh([ref], vaults)).toBe(true);
    expect(r.lookup(ref, vaults)).toEqual({ error: 'could not get value from vault (backend down)' });
  });

  it('reads a field of a JSON secret and names a missing field', async () => {
    const m = memoryBackend();
    m.secrets.set('db', JSON.stringify({ password: 'p', n: 1 }));
    const r = new VaultResolver({ backends: [m.backend], now: () => 0 });
    const refs = ['{vault://env/db/password}', '{vault://env/db/user}', '{vault://env/db/n}'];
    await r.refresh(refs, []);
    expect(r.lookup(refs[0]!, [])).toEqual({ value: 'p' });
    expect(r.lookup(refs[1]!, [])).toEqual({
      error: 'could not get subfield value: subfield user not found in JSON secret',
    });
    expect(r.lookup(refs[2]!, [])).toMatchObject({ error: expect.stringContaining('unexpected number') });
  });

  it('names an unknown vault prefix and a bad reference config', async () => {
    const r = new VaultResolver({ backends: [memoryBackend().backend], now: () => 0 });
    expect(r.lookup('{vault://nowhere/a}', [])).toEqual({ error: 'could not find vault (nowhere)' });
    expect(r.lookup('{vault://env/a?ttl=-1}', [])).toMatchObject({
      error: expect.stringContaining('invalid vault config'),
    });
    expect(r.lookup('{vault://env/a?nope=1}', [])).toMatchObject({
      error: expect.stringContaining('unknown field'),
    });
  });

  it("env: Kong's name mapping (prefix, '-' to '_', upper case, version 2 reads _PREVIOUS)", async () => {
    const env = { MY_SECRET: 's', APP_DB_PASS: 'p', MY_SECRET_PREVIOUS: 'old' };
    const r = new VaultResolver({ backends: [envBackend(env)], now: () => 0 });
    const vaults = [vault('app', 'env', { prefix: 'app_' })];
    const refs = [
      '{vault://env/my-secret}',
      '{vault://app/db-pass}',
      '{vault://env/my-secret#2}',
      '{vault://env/toString}',
    ];
    await r.refresh(refs, vaults);
    expect(refs.map((x) => r.lookup(x, vaults))).toEqual([
      { value: 's' },
      { value: 'p' },
      { value: 'old' },
      { error: 'no value found' },
    ]);
  });
});
