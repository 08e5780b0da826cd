import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import {
  decodeSnapshotManifest,
  encodeSnapshotManifest,
  MAX_MANIFEST_BYTES,
  snapshotChunkKey,
  snapshotHeadKey,
  sliceToken,
  type StoredSnapshotManifest,
} from './jetstream-layout.js';

const KV_KEY = /^[-/_=.a-zA-Z0-9]+$/;
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const manifest: fc.Arbitrary<StoredSnapshotManifest> = fc
  .record({
    version: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    hash: hex64,
    id: fc.stringMatching(/^[A-Za-z0-9]{8,64}$/),
    size: fc.integer({ min: 1, max: 64 * 1024 * 1024 }),
    sha256: hex64,
  })
  .chain((m) => fc.integer({ min: 1, max: Math.ceil(m.size / 1024) }).map((chunks) => ({ ...m, chunks })));

describe('JetStream snapshot layout', () => {
  it('a manifest round-trips', () => {
    fc.assert(
      fc.property(manifest, (m) => {
        expect(decodeSnapshotManifest(encodeSnapshotManifest(m))).toEqual(m);
      }),
    );
  });

  it('hostile head bytes: a manifest or GH_ERR_SNAPSHOT_STORE_MALFORMED, nothing else', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: MAX_MANIFEST_BYTES + 16 }),
      fc.jsonValue().map((j) => new TextEncoder().encode(JSON.stringify(j))),
      // A real manifest with one field replaced by anything.
      fc
        .tuple(
          manifest,
          fc.constantFrom('v', 'version', 'hash', 'id', 'chunks', 'size', 'sha256'),
          fc.jsonValue(),
        )
        .map(([m, k, v]) => {
          const o = JSON.parse(new TextDecoder().decode(encodeSnapshotManifest(m))) as Record<
            string,
            unknown
          >;
          o[k] = v;
          return new TextEncoder().encode(JSON.stringify(o));
        }),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        try {
          const m = decodeSnapshotManifest(b);
          expect(m.size).toBeGreaterThan(0);
          expect(m.chunks).toBeGreaterThan(0);
          expect(m.chunks).toBeLessThanOrEqual(Math.ceil(m.size / 1024));
        } catch (e) {
          expect(isGatehouseError(e) && e.code).toBe('GH_ERR_SNAPSHOT_STORE_MALFORMED');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a manifest that names more chunks than its size allows, or a size over the limit', () => {
    const m = {
      version: 1n,
      hash: 'a'.repeat(64),
      id: 'abcdefgh',
      chunks: 3,
      size: 2048,
      sha256: 'b'.repeat(64),
    };
    expect(() => decodeSnapshotManifest(encodeSnapshotManifest(m))).toThrow(/chunk count must be 1..2/);
    expect(() => decodeSnapshotManifest(encodeSnapshotManifest({ ...m, chunks: 1, size: 10 }), 5)).toThrow(
      /size must be 1..5/,
    );
  });

  it('any slice key maps to one KV key token; distinct keys to distinct tokens', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), (a, b) => {
        for (const k of [snapshotHeadKey(a), snapshotChunkKey(a, 'abcdefgh', 3)]) expect(k).toMatch(KV_KEY);
        expect(sliceToken(a)).not.toContain('.');
        if (a !== b) expect(sliceToken(a)).not.toBe(sliceToken(b));
      }),
    );
    expect(snapshotHeadKey('default')).toBe('snap.default.head');
    expect(sliceToken('eu/region=1')).toMatch(/^=[0-9a-f]{40}$/);
  });
});
