import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeConfig, sha256Hex } from './canonical.js';
import {
  applyDelta,
  diffConfigs,
  indexConfig,
  signDelta,
  signedDeltaFromProto,
  signedDeltaToProto,
  snapshotFromDelta,
  verifyDelta,
  type SignedDelta,
} from './delta.js';
import { generateSigningKeyPair, SNAPSHOT_ALG, type SigningKey, type TrustedKeys } from './keys.js';
import { signEncodedSnapshot, verifySnapshotBytes } from './signed-snapshot.js';

let signing: SigningKey;
let trusted: TrustedKeys;
let other: SigningKey;

beforeAll(async () => {
  const pair = await generateSigningKeyPair();
  signing = { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) };
  trusted = new Map([[pair.kid, await importJWK(pair.publicJwk, SNAPSHOT_ALG)]]);
  const o = await generateSigningKeyPair();
  other = { kid: pair.kid, key: await importJWK(o.privateJwk, SNAPSHOT_ALG) };
});

type Config = Record<string, unknown>;

const route = (id: string, path: string) => ({ id, name: id, paths: [path], service: { id: 's1' } });
const base: Config = {
  services: [{ id: 's1', name: 'echo', host: 'echo.local' }],
  routes: [route('r1', '/a'), route('r2', '/b'), route('r3', '/c')],
  plugins: [],
  _credential_digests: { key_auth: { algorithm: 'hmac-sha256', key: 'k1' } },
};

/** The ops from a to b, applied to a: must give b's bytes. */
function roundTrip(a: Config, b: Config): { ops: Buffer; out: { bytes: Buffer; hash: string } } {
  const ea = encodeConfig(a as never);
  const eb = encodeConfig(b as never);
  const ops = diffConfigs(indexConfig(ea.bytes), indexConfig(eb.bytes));
  expect(ops).not.toBeNull();
  const out = applyDelta(ea.bytes, ops!);
  expect(out.hash).toBe(eb.hash);
  expect(out.bytes.equals(eb.bytes)).toBe(true);
  return { ops: ops!, out };
}

describe('diffConfigs / applyDelta', () => {
  it('says a one-route change as one put', () => {
    const b = { ...base, routes: [route('r1', '/a'), route('r2', '/changed'), route('r3', '/c')] };
    const { ops } = roundTrip(base, b);
    expect(JSON.parse(ops.toString())).toEqual({
      del: {},
      put: { routes: [route('r2', '/changed')] },
      set: {},
      unset: [],
    });
  });

  it('deletes, adds, replaces and removes top-level members', () => {
    const b: Config = {
      services: [],
      routes: [route('r0', '/new'), route('r3', '/c')],
      plugins: [{ id: 'p1', name: 'cors' }],
      certificates: [],
    };
    const { ops } = roundTrip(base, b);
    const parsed = JSON.parse(ops.toString()) as Record<string, unknown>;
    expect(parsed.del).toEqual({ routes: ['r1', 'r2'], services: ['s1'] });
    expect(parsed.unset).toEqual(['_credential_digests']);
    expect(parsed.set).toEqual({ certificates: [] });
  });

  it('an index built against the previous one shares unchanged entities and diffs the same', () => {
    const ea = encodeConfig(base as never);
    const b = { ...base, routes: [route('r1', '/a'), route('r2', '/x'), route('r3', '/c')] };
    const eb = encodeConfig(b as never);
    const ia = indexConfig(ea.bytes);
    const ib = indexConfig(eb.bytes, ia);
    expect(ib.lists.get('routes')!.get('r1')).toBe(ia.lists.get('routes')!.get('r1'));
    expect(diffConfigs(ia, ib)!.equals(diffConfigs(ia, indexConfig(eb.bytes))!)).toBe(true);
  });

  it('refuses a top-level key a delta may not name', () => {
    const a = indexConfig('{"routes":[]}');
    const b = indexConfig('{"Routes":[],"routes":[]}');
    expect(diffConfigs(a, b)).toBeNull();
  });

  it('round-trips any two configs (property): apply(diff(a, b), a) hashes to b', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', '__proto__', 'constructor', '10', '9');
    const entity = fc.record({ id, v: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['id'] });
    const list = fc.uniqueArray(entity, { selector: (e) => e.id, maxLength: 6 });
    const config = fc.record(
      {
        services: list,
        routes: list,
        // encodeConfig takes lists of entities only; any other top-level value is not a list
        plugins: fc.oneof(
          list,
          fc.jsonValue({ maxDepth: 1 }).filter((v) => !Array.isArray(v)),
        ),
        _credential_digests: fc.jsonValue({ maxDepth: 2 }).filter((v) => !Array.isArray(v)),
      },
      { requiredKeys: ['services', 'routes'] },
    );
    fc.assert(
      fc.property(config, config, (a, b) => {
        roundTrip(a, b);
      }),
      {
        examples: [
          [
            { services: [], routes: [] },
            { services: [], routes: [] },
          ],
          [
            { services: [], routes: [{ id: '__proto__', v: 1 }] },
            { services: [], routes: [{ id: '__proto__', v: { __proto__: 2 } }] },
          ],
          [
            { services: [], routes: [], plugins: [] },
            { services: [], routes: [], plugins: 0 },
          ],
        ],
      },
    );
  });

  it('refuses hostile ops with GH_ERR_SNAPSHOT_MALFORMED, never another error (property)', () => {
    const baseBytes = encodeConfig(base as never).bytes;
    const key = fc.oneof(fc.constantFrom('routes', 'services', '__proto__', 'nope', 'toString'), fc.string());
    const hostile = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({
        del: fc.dictionary(key, fc.jsonValue({ maxDepth: 2 })),
        put: fc.dictionary(key, fc.jsonValue({ maxDepth: 3 })),
        set: fc.dictionary(key, fc.jsonValue({ maxDepth: 2 })),
        unset: fc.array(fc.oneof(key, fc.jsonValue({ maxDepth: 1 }))),
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          hostile.map((v) => JSON.stringify(v) ?? 'null'),
          fc.string(),
        ),
        (text) => {
          try {
            applyDelta(baseBytes, Buffer.from(text));
          } catch (e) {
            expect((e as { code?: string }).code).toBe('GH_ERR_SNAPSHOT_MALFORMED');
          }
        },
      ),
      {
        examples: [
          ['{"del":{"__proto__":[]},"put":{},"set":{},"unset":[]}'],
          ['{"del":{},"put":{"routes":[null]},"set":{},"unset":[]}'],
          ['{"del":{},"put":{"nope":[]},"set":{},"unset":[]}'],
          ['{"del":{"routes":"r1"},"put":{},"set":{},"unset":[]}'],
          ['{"del":{},"put":{},"set":{"toString":1},"unset":[7]}'],
          [`{"del":{},"put":{},"set":{"plugins":${'['.repeat(20000)}${']'.repeat(20000)}},"unset":[]}`],
        ],
      },
    );
  });
});

describe('signDelta / verifyDelta', () => {
  const a = encodeConfig(base as never);
  const b = encodeConfig({ ...base, routes: [route('r1', '/z')] } as never);
  const ops = () => diffConfigs(indexConfig(a.bytes), indexConfig(b.bytes))!;
  const make = (key = signing) =>
    signDelta({
      base: { version: 4n, hash: a.hash },
      target: { version: 5n, hash: b.hash, size: b.bytes.length },
      ops: ops(),
      cpId: 'cp-test',
      key,
    });
  const held = { version: 4n, hash: a.hash };
  const code = async (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: { code?: string }) => e.code,
    );

  it('verifies, applies to the signed hash and survives the proto round trip', async () => {
    const d = signedDeltaFromProto(signedDeltaToProto(await make()));
    const v = await verifyDelta(d, trusted, held);
    const out = applyDelta(a.bytes, v.ops);
    expect(out.hash).toBe(v.claims.hash);
    expect(v.claims.base_hash).toBe(a.hash);
  });

  it('refuses a wrong base, an older target, a tampered op, another signer, a swapped field', async () => {
    const d = await make();
    expect(await code(verifyDelta(d, trusted, { version: 4n, hash: 'f'.repeat(64) }))).toBe(
      'GH_ERR_SNAPSHOT_DELTA_BASE',
    );
    expect(await code(verifyDelta(d, trusted, null))).toBe('GH_ERR_SNAPSHOT_DELTA_BASE');
    expect(await code(verifyDelta(d, trusted, { version: 5n, hash: a.hash }))).toBe(
      'GH_ERR_SNAPSHOT_STALE_VERSION',
    );
    const tampered = Buffer.from(ops().toString().replace('/z', '/y'));
    expect(await code(verifyDelta({ ...d, ops: gzipSync(tampered) }, trusted, held))).toBe(
      'GH_ERR_SNAPSHOT_HASH_MISMATCH',
    );
    expect(await code(verifyDelta(await make(other), trusted, held))).toBe('GH_ERR_SNAPSHOT_BAD_SIGNATURE');
    expect(await code(verifyDelta({ ...d, baseHash: 'f'.repeat(64) }, trusted, held))).toBe(
      'GH_ERR_SNAPSHOT_HASH_MISMATCH',
    );
    expect(await code(verifyDelta({ ...d, version: 6n }, trusted, held))).toBe(
      'GH_ERR_SNAPSHOT_HASH_MISMATCH',
    );
  });

  it('refuses a snapshot JWS as a delta (typ)', async () => {
    const s = await signEncodedSnapshot({ ...b, version: 5n, cpId: 'cp', key: signing });
    const d = await make();
    expect(await code(verifyDelta({ ...d, jws: s.jws }, trusted, held))).toBe('GH_ERR_SNAPSHOT_MALFORMED');
  });

  it('refuses hostile delta messages with a GH_ERR code, never another error (property)', async () => {
    const d = await make();
    const hostile = fc.record({
      baseVersion: fc.bigUintN(64),
      baseHash: fc.oneof(fc.constant(a.hash), fc.string()),
      version: fc.oneof(fc.constant(5n), fc.bigUintN(64)),
      hash: fc.oneof(fc.constant(b.hash), fc.string()),
      jws: fc.oneof(fc.constant(d.jws), fc.string(), fc.constant(`${d.jws}x`)),
      ops: fc.oneof(fc.constant(d.ops), fc.uint8Array({ maxLength: 64 })),
      compression: fc.constantFrom('gzip' as const, 'identity' as const),
      uncompressedSize: fc.oneof(fc.constant(d.uncompressedSize), fc.nat()),
    });
    await fc.assert(
      fc.asyncProperty(hostile, async (h: SignedDelta) => {
        const c = await code(verifyDelta(h, trusted, held));
        expect(c === 'ok' || /^GH_ERR_SNAPSHOT_/.test(String(c))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('the delta JWS beside the full target bytes verifies as a snapshot (the DP cache)', async () => {
    const d = await make();
    const cached = snapshotFromDelta(d, b.bytes);
    const v = await verifySnapshotBytes(cached, trusted);
    expect(v.hash).toBe(b.hash);
    expect(sha256Hex(v.bytes)).toBe(b.hash);
    // …and other bytes beside it do not.
    await expect(verifySnapshotBytes(snapshotFromDelta(d, a.bytes), trusted)).rejects.toMatchObject({
      code: 'GH_ERR_SNAPSHOT_HASH_MISMATCH',
    });
  });
});
