/** The oauth2 token keys: the control plane's keyset from a snapshot, kid selection, hostile input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SNAPSHOT_KEYS, TokenKeys, type TokenClaims } from './tokens.js';

const claims: TokenClaims = {
  iss: 'gatehouse-oauth2',
  sub: 'cred',
  aud: 'svc',
  client_id: 'c',
  use: 'access',
  jti: 'j',
  iat: 1,
};
const key = (kid: string, fill: string, not_before: number) => ({
  kid,
  secret: Buffer.alloc(32, fill).toString('base64url'),
  not_before,
});

describe('oauth2 TokenKeys.fromSnapshot (the control plane keyset)', () => {
  it('signs with the newest started key (by not_before), else the earliest', () => {
    const keys = TokenKeys.fromSnapshot({
      keys: [key('a', '1', 100), key('b', '2', 200), key('c', '3', 300)],
    });
    expect(keys.signingKey(250).kid).toBe('b');
    expect(keys.signingKey(300).kid).toBe('c');
    expect(keys.signingKey(50).kid).toBe('a');
  });

  it('verifies a token of any listed key and refuses one of a key no longer listed', () => {
    const both = TokenKeys.fromSnapshot({ keys: [key('a', '1', 100), key('b', '2', 200)] });
    const t = both.sign(claims, 150);
    expect(both.verify(t, 'access')).toMatchObject({ jti: 'j' });
    expect(TokenKeys.fromSnapshot({ keys: [key('b', '2', 200)] }).verify(t, 'access')).toBeNull();
    // Same kid, other secret: a forgery.
    expect(TokenKeys.fromSnapshot({ keys: [key('a', '9', 100)] }).verify(t, 'access')).toBeNull();
  });

  it('leaves out malformed entries: short secrets, bad kids, duplicates, negative or fractional times', () => {
    const keys = TokenKeys.fromSnapshot({
      keys: [
        key('ok', '1', 0),
        { kid: 'short', secret: Buffer.alloc(16, 1).toString('base64url'), not_before: 0 },
        key('bad kid', '1', 0),
        key('ok', '2', 5),
        key('neg', '1', -1),
        key('frac', '1', 1.5),
        null,
        'x',
      ],
    });
    expect(keys.kids).toEqual(['ok']);
  });

  it(`keeps at most ${MAX_SNAPSHOT_KEYS} keys`, () => {
    const many = Array.from({ length: MAX_SNAPSHOT_KEYS + 10 }, (_, i) => key(`k${i}`, 'a', i));
    expect(TokenKeys.fromSnapshot({ keys: many }).kids).toHaveLength(MAX_SNAPSHOT_KEYS);
  });

  it('never throws on hostile input, and never verifies a token it did not sign', () => {
    const signed = TokenKeys.fromSnapshot({ keys: [key('real', 'r', 0)] }).sign(claims);
    fc.assert(
      fc.property(fc.anything(), fc.string(), (member, token) => {
        const keys = TokenKeys.fromSnapshot(member);
        expect(keys.verify(token, 'access')).toBeNull();
        // A keyset from hostile input has no key 'real' with the real secret.
        expect(keys.verify(signed, 'access')).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('has no key to sign with when empty (the endpoints then answer 503)', () => {
    const empty = TokenKeys.fromSnapshot({ keys: [] });
    expect(empty.canSign).toBe(false);
    expect(() => empty.sign(claims)).toThrow(/no token signing key/);
  });
});
