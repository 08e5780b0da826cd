import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CacheKeyFormatError,
  isEncryptedCache,
  openCache,
  parseCacheKey,
  sealCache,
} from './cache-crypto.js';

describe('cache key', () => {
  it('reads 32 bytes as hex, base64 or base64url', () => {
    const key = randomBytes(32);
    expect(parseCacheKey(key.toString('hex'))).toEqual(key);
    expect(parseCacheKey(key.toString('hex').toUpperCase())).toEqual(key);
    expect(parseCacheKey(key.toString('base64'))).toEqual(key);
    expect(parseCacheKey(` ${key.toString('base64url')}\n`)).toEqual(key);
  });

  it('refuses anything else with a message that does not echo the value', () => {
    for (const bad of [
      '',
      'secret',
      randomBytes(16).toString('hex'),
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
    ]) {
      expect(() => parseCacheKey(bad)).toThrow(CacheKeyFormatError);
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        try {
          expect(parseCacheKey(text)).toHaveLength(32);
        } catch (e) {
          expect(e).toBeInstanceOf(CacheKeyFormatError);
          if (text.trim().length >= 8) expect((e as Error).message).not.toContain(text.trim());
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('cache sealing (AES-256-GCM)', () => {
  it('round-trips, and the clear bytes are not in the file', () => {
    const key = randomBytes(32);
    const plain = Buffer.from('hmac secret: alice-hmac-secret');
    const sealed = sealCache(key, plain);
    expect(isEncryptedCache(sealed)).toBe(true);
    expect(sealed.includes(Buffer.from('alice-hmac-secret'))).toBe(false);
    expect(openCache(key, sealed)).toEqual(plain);
  });

  it('gives nothing for another key or any altered byte', () => {
    const key = randomBytes(32);
    const sealed = sealCache(key, Buffer.from('payload'));
    expect(openCache(randomBytes(32), sealed)).toBeNull();
    for (let i = 0; i < sealed.length; i++) {
      const altered = Buffer.from(sealed);
      altered[i]! ^= 1;
      expect(openCache(key, altered)).toBeNull();
    }
  });

  it('never throws on hostile bytes', () => {
    const key = randomBytes(32);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withMagic) => {
        const input = withMagic ? Buffer.concat([Buffer.from('GHCACHE1'), bytes]) : Buffer.from(bytes);
        expect(openCache(key, input)).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });
});
