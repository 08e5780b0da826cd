import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_OAUTH2_REVOCATIONS } from '@gatehouse/proto';
import { MAX_REVOKED_JTI_LENGTH, revokedToken, RevokedTokens } from './revoked-tokens.js';

const NOW = 1_800_000_000;

describe('revoked oauth2 tokens (pushed by the control plane)', () => {
  it('lists a token until it expires; returns only the entries that were new', () => {
    const list = new RevokedTokens();
    expect(list.max).toBe(MAX_OAUTH2_REVOCATIONS);
    const added = list.add(
      [
        { jti: 'a', expiresAt: NOW + 10 },
        { jti: 'forever', expiresAt: 0 },
        { jti: 'gone', expiresAt: NOW - 1 },
        { jti: 'big', expiresAt: BigInt(NOW + 5) },
      ],
      NOW,
    );
    expect(added.map((t) => t.jti)).toEqual(['a', 'forever', 'big']);
    expect(list.add([{ jti: 'a', expiresAt: NOW + 10 }], NOW)).toEqual([]);
    expect(list.has('a', NOW)).toBe(true);
    expect(list.has('gone', NOW)).toBe(false);
    expect(list.has('a', NOW + 10)).toBe(false);
    expect(list.has('forever', NOW + 1e9)).toBe(true);
    expect(list.list(NOW + 10).map((t) => t.jti)).toEqual(['forever']);
  });

  it('stays within its bound: expired entries go first, then the soonest to expire; never-expiring ones last', () => {
    const list = new RevokedTokens(10);
    list.add(
      Array.from({ length: 5 }, (_, i) => ({ jti: `old-${i}`, expiresAt: NOW + 1 })),
      NOW,
    );
    // Later, those five have expired: room without evicting a live entry.
    list.add(
      Array.from({ length: 8 }, (_, i) => ({ jti: `live-${i}`, expiresAt: NOW + 100 + i })),
      NOW + 2,
    );
    expect(list.size).toBe(8);
    expect(list.evicted).toBe(0);
    list.add(
      [
        { jti: 'forever', expiresAt: 0 },
        ...[0, 1, 2].map((i) => ({ jti: `late-${i}`, expiresAt: NOW + 500 })),
      ],
      NOW + 2,
    );
    expect(list.size).toBeLessThanOrEqual(10);
    expect(list.evicted).toBe(12 - list.size);
    expect(list.has('forever', NOW + 2)).toBe(true);
    expect(list.has('late-2', NOW + 2)).toBe(true);
    expect(list.has('live-0', NOW + 2)).toBe(false);
  });

  it('holds MAX_OAUTH2_REVOCATIONS entries at most', () => {
    const list = new RevokedTokens();
    const batch = Array.from({ length: MAX_OAUTH2_REVOCATIONS + 5_000 }, (_, i) => ({
      jti: `j${i}`,
      expiresAt: NOW + 1 + i,
    }));
    list.add(batch, NOW);
    expect(list.size).toBeLessThanOrEqual(MAX_OAUTH2_REVOCATIONS);
    // The latest to expire are the ones kept.
    expect(list.has(`j${batch.length - 1}`, NOW)).toBe(true);
    expect(list.has('j0', NOW)).toBe(false);
  });

  it('ignores hostile input without throwing; whatever it keeps is a well-formed live entry (fast-check)', () => {
    const entry = fc.oneof(
      fc.anything(),
      fc.record(
        {
          jti: fc.oneof(
            fc.string({ maxLength: 300 }),
            fc.constant(''),
            fc.integer(),
            fc.constant('x'.repeat(201)),
          ),
          expiresAt: fc.oneof(
            fc.integer(),
            fc.double(),
            fc.bigInt(),
            fc.constant(Number.NaN),
            fc.constant(-1),
            fc.string(),
            fc.constant(NOW + 60),
          ),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 60 }), (values) => {
        const list = new RevokedTokens(20);
        list.add(values, NOW);
        expect(list.size).toBeLessThanOrEqual(20);
        for (const t of list.list(NOW)) {
          expect(revokedToken(t)).toEqual(t);
          expect(t.jti.length).toBeLessThanOrEqual(MAX_REVOKED_JTI_LENGTH);
          expect(t.expiresAt === 0 || t.expiresAt > NOW).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
