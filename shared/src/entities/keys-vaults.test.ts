/**
 * Kong's keys, key_sets and vaults schemas (kong/db/schema/entities/{keys,key_sets,vaults}.lua;
 * cases from spec/02-integration/04-admin_api/21-admin-api-keys_spec.lua and 19-vaults_spec.lua).
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kongErrorBody } from './errors.js';
import { validateKey, validateKeySet, validateVault } from './index.js';
import { EC_KEY, RSA_KEY, RSA_PUBLIC_KEY } from './test-fixtures.js';

function violation(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return kongErrorBody(e);
  }
  throw new Error('expected a schema violation');
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateJwk = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'k1' };
const publicJwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1' };

describe('keys', () => {
  it('takes a JWK (private or public) whose kid matches, and a PEM pair or either half', () => {
    for (const jwk of [privateJwk, publicJwk])
      expect(validateKey({ kid: 'k1', jwk: JSON.stringify(jwk) })).toMatchObject({
        kid: 'k1',
        jwk: JSON.stringify(jwk),
        pem: null,
        set: null,
        name: null,
      });
    expect(validateKey({ kid: 'p', pem: { private_key: RSA_KEY, public_key: RSA_PUBLIC_KEY } }).pem).toEqual({
      private_key: RSA_KEY,
      public_key: RSA_PUBLIC_KEY,
    });
    expect(validateKey({ kid: 'p', pem: { public_key: RSA_PUBLIC_KEY } }).pem).toEqual({
      private_key: null,
      public_key: RSA_PUBLIC_KEY,
    });
    expect(
      validateKey({
        kid: 'p',
        name: 'unique pem key',
        set: { id: '8e0a7d0e-1c7e-4a53-9c59-8f4c2b1e7f00' },
        pem: { private_key: EC_KEY },
      }),
    ).toMatchObject({
      name: 'unique pem key',
      set: { id: '8e0a7d0e-1c7e-4a53-9c59-8f4c2b1e7f00' },
    });
  });

  it("refuses an invalid JWK with Kong's message", () => {
    expect(violation(() => validateKey({ name: 'jwk invalid', jwk: '{"kid": "36"}', kid: '36' }))).toEqual({
      name: 'schema violation',
      code: 2,
      message: 'schema violation (could not load JWK, likely not a valid key)',
      fields: { '@entity': ['could not load JWK, likely not a valid key'] },
    });
    expect(violation(() => validateKey({ jwk: '{nope', kid: 'a' }))).toMatchObject({
      fields: { '@entity': ['could not json decode jwk string'] },
    });
    expect(violation(() => validateKey({ jwk: JSON.stringify(publicJwk), kid: 'other' }))).toMatchObject({
      fields: { '@entity': ['kid in jwk.kid must be equal to keys.kid'] },
    });
  });

  it('needs exactly one of jwk and pem, and a kid', () => {
    expect(violation(() => validateKey({ kid: 'a' }))).toMatchObject({
      fields: { '@entity': ["at least one of these fields must be non-empty: 'jwk', 'pem'"] },
    });
    expect(
      violation(() =>
        validateKey({ kid: 'k1', jwk: JSON.stringify(publicJwk), pem: { public_key: RSA_PUBLIC_KEY } }),
      ),
    ).toMatchObject({ fields: { '@entity': [expect.stringContaining("'jwk', 'pem'")] } });
    expect(violation(() => validateKey({ pem: { public_key: RSA_PUBLIC_KEY } }))).toMatchObject({
      fields: { kid: 'required field missing' },
    });
  });

  it("refuses PEM material that does not load or does not pair, with Kong's messages", () => {
    expect(violation(() => validateKey({ kid: 'a', pem: {} }))).toMatchObject({
      fields: {
        pem: { '@entity': ["at least one of these fields must be non-empty: 'private_key', 'public_key'"] },
      },
    });
    expect(violation(() => validateKey({ kid: 'a', pem: { public_key: 'nope' } }))).toMatchObject({
      fields: { pem: 'could not load public key' },
    });
    expect(violation(() => validateKey({ kid: 'a', pem: { private_key: 'nope' } }))).toMatchObject({
      fields: { pem: 'could not load private key' },
    });
    expect(
      violation(() => validateKey({ kid: 'a', pem: { private_key: EC_KEY, public_key: RSA_PUBLIC_KEY } })),
    ).toMatchObject({
      fields: { pem: 'public key does not match private key' },
    });
  });
});

describe('key sets', () => {
  it('take an optional name and tags', () => {
    expect(validateKeySet({})).toEqual({ name: null, tags: null });
    expect(validateKeySet({ name: 'test', tags: ['a'] })).toEqual({ name: 'test', tags: ['a'] });
    expect(violation(() => validateKeySet({ name: 1 }))).toMatchObject({
      fields: { name: 'expected a string' },
    });
  });
});

describe('vaults', () => {
  it('take the env backend with its config, filled as Kong fills it', () => {
    expect(validateVault({ prefix: 'env-1', name: 'env' })).toEqual({
      prefix: 'env-1',
      name: 'env',
      description: null,
      config: { prefix: null, ttl: null, neg_ttl: null, resurrect_ttl: null },
      tags: null,
    });
    for (const prefix of ['secrets_', 'secrets-', 'SSL_'])
      expect(validateVault({ prefix: 'put-env-prefix', name: 'env', config: { prefix } }).config).toEqual({
        prefix,
        ttl: null,
        neg_ttl: null,
        resurrect_ttl: null,
      });
  });

  it("refuses a prefix that names a backend, an unknown backend and a bad config, with Kong's messages", () => {
    expect(violation(() => validateVault({ name: 'env', prefix: 'env' }))).toEqual({
      name: 'schema violation',
      code: 2,
      message: 'schema violation (prefix: must not be one of: env, file)',
      fields: { prefix: 'must not be one of: env, file' },
    });
    expect(violation(() => validateVault({ name: 'aws', prefix: 'my-aws' }))).toMatchObject({
      fields: { name: "vault 'aws' is not installed" },
    });
    expect(violation(() => validateVault({ name: 'env', prefix: 'Bad_Prefix' }))).toMatchObject({
      fields: { prefix: 'invalid value: Bad_Prefix' },
    });
    expect(
      violation(() => validateVault({ name: 'env', prefix: 'ok', config: { prefix: 'a b' } })),
    ).toMatchObject({
      fields: { config: { prefix: 'invalid value: a b' } },
    });
    expect(violation(() => validateVault({ name: 'env', prefix: 'ok', config: { nope: 1 } }))).toMatchObject({
      fields: { config: { nope: 'unknown field' } },
    });
    expect(violation(() => validateVault({ prefix: 'ok' }))).toMatchObject({
      fields: { name: 'required field missing' },
    });
  });
});
