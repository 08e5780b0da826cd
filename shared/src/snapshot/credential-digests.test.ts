import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GatehouseConfig } from '../config/model.js';
import { emptyConfig } from '../entities/registry.js';
import { encodeConfig } from './canonical.js';
import {
  deriveKeyAuthDigestKey,
  keyAuthDigester,
  keyAuthLookup,
  withCredentialDigests,
} from './credential-digests.js';

function withKeys(keys: string[]): GatehouseConfig {
  const c = emptyConfig();
  keys.forEach((key, i) => {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    c.keyauth_credentials.push({
      id,
      consumer: { id: 'c' },
      key,
      ttl: null,
      tags: null,
      created_at: 1,
    });
  });
  return c;
}

describe('credential digests', () => {
  it('keyAuthDigester is HMAC-SHA-256, base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 100 }), fc.string({ unit: 'binary' }), (k, m) => {
        const key = Buffer.from(k);
        expect(keyAuthDigester(key)(m)).toBe(createHmac('sha256', key).update(m).digest('base64'));
      }),
    );
  });

  it('sends no clear key, and the DP finds every key a client presents (any key text)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1 }), { maxLength: 8 }), (keys) => {
        const plain = withKeys(keys);
        const digested = withCredentialDigests(plain);
        expect(plain.keyauth_credentials.map((c) => c.key)).toEqual(keys); // input untouched
        const lookup = keyAuthLookup(JSON.parse(encodeConfig(digested).bytes.toString('utf8')));
        const index = new Set(digested.keyauth_credentials.map((c) => lookup.indexKey(c.key)));
        for (const k of keys) {
          expect(index.has(lookup.digest(k))).toBe(true);
          expect(digested.keyauth_credentials.some((c) => c.key === k)).toBe(false);
        }
        expect(index.has(lookup.digest(`${keys[0] ?? ''}x`))).toBe(false);
      }),
    );
  });

  it('the clear key is nowhere in the encoded bytes', () => {
    const bytes = encodeConfig(withCredentialDigests(withKeys(['alice-secret-key']))).bytes.toString();
    expect(bytes).not.toContain('alice-secret-key');
    expect(bytes).toContain('"_credential_digests":{"key_auth":{"algorithm":"hmac-sha256"');
  });

  it('the digest key depends on the config only: same config, same bytes and hash', () => {
    const a = encodeConfig(withCredentialDigests(withKeys(['k1', 'k2'])));
    const b = encodeConfig(withCredentialDigests(withKeys(['k1', 'k2'])));
    expect(a.hash).toBe(b.hash);
    expect(deriveKeyAuthDigestKey(withKeys(['x']))).toHaveLength(32);
    expect(withCredentialDigests(withCredentialDigests(withKeys(['k'])))).toEqual(
      withCredentialDigests(withKeys(['k'])),
    );
  });

  it('a config from an older CP (clear keys) still authenticates', () => {
    const lookup = keyAuthLookup(withKeys(['plain']));
    expect(lookup.indexKey('plain')).toBe(lookup.digest('plain'));
  });

  it('refuses digest parameters it does not know', () => {
    const bad = { ...withKeys([]), _credential_digests: { key_auth: { algorithm: 'md5', key: 'AAAA' } } };
    expect(() => keyAuthLookup(bad as GatehouseConfig)).toThrow(/unknown key-auth digest algorithm "md5"/);
    const short = {
      ...withKeys([]),
      _credential_digests: { key_auth: { algorithm: 'hmac-sha256', key: 'AAAA' } },
    };
    expect(() => keyAuthLookup(short as GatehouseConfig)).toThrow(/shorter than 16 bytes/);
  });
});
