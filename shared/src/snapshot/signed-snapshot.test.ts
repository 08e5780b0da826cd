import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { CompactSign, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_DEFAULTS, SERVICE_DEFAULTS, type GatehouseConfig } from '../config/model.js';
import { completeConfig } from '../entities/registry.js';
import { encodeConfig, sha256Hex } from './canonical.js';
import { generateSigningKeyPair, SNAPSHOT_ALG, type KeyObjectLike, type SigningKey } from './keys.js';
import {
  MAX_SNAPSHOT_BYTES,
  signEncodedSnapshot,
  signSnapshot,
  SNAPSHOT_TYP,
  verifySnapshot,
  type SignedSnapshot,
} from './signed-snapshot.js';

const config: GatehouseConfig = completeConfig({
  services: [
    { ...SERVICE_DEFAULTS, id: 's1', name: 'echo', host: 'echo.local', created_at: 1, updated_at: 1 },
  ],
  routes: [
    {
      ...ROUTE_DEFAULTS,
      protocols: ['http'],
      id: 'r1',
      name: 'echo',
      paths: ['/echo'],
      service: { id: 's1' },
      created_at: 1,
      updated_at: 1,
    },
  ],
});

let signing: SigningKey;
let trusted: ReadonlyMap<string, KeyObjectLike>;
let otherSigning: SigningKey;
let otherPublic: Awaited<ReturnType<typeof importJWK>>;

beforeAll(async () => {
  const pair = await generateSigningKeyPair();
  signing = { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) };
  trusted = new Map([[pair.kid, await importJWK(pair.publicJwk, SNAPSHOT_ALG)]]);
  const other = await generateSigningKeyPair();
  otherSigning = { kid: other.kid, key: await importJWK(other.privateJwk, SNAPSHOT_ALG) };
  otherPublic = await importJWK(other.publicJwk, SNAPSHOT_ALG);
});

const sign = (version = 7n, key = signing) =>
  signSnapshot({ config, version, cpId: 'cp-test', key, issuedAt: 1_700_000_000 });
const b64url = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const jwsParts = (jws: string) => jws.split('.') as [string, string, string];

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as { code?: string; message: string },
  );
  expect(err, 'verification should have failed').not.toBeNull();
  expect(err!.code).toBe(code);
  if (message) expect(err!.message).toMatch(message);
}

describe('signSnapshot / verifySnapshot', () => {
  it('round-trips: the verified config equals the signed one and the claims carry version, hash, iat, cp id', async () => {
    const snap = await sign();
    expect(snap.compression).toBe('gzip');
    expect(snap.hash).toBe(encodeConfig(config).hash);
    expect(snap.uncompressedSize).toBe(encodeConfig(config).bytes.length);
    const v = await verifySnapshot(snap, trusted);
    expect(v.version).toBe(7n);
    expect(v.hash).toBe(snap.hash);
    expect(v.kid).toBe(signing.kid);
    expect(v.claims).toEqual({
      ver: '7',
      hash: snap.hash,
      size: snap.uncompressedSize,
      iat: 1_700_000_000,
      cp: 'cp-test',
    });
    expect(v.config).toEqual(config);
    expect(v.bytes.equals(encodeConfig(config).bytes)).toBe(true);
  });

  it('puts alg EdDSA, the kid and the snapshot typ in the protected header', async () => {
    const header = JSON.parse(Buffer.from(jwsParts((await sign()).jws)[0], 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(header).toEqual({ alg: 'EdDSA', kid: signing.kid, typ: SNAPSHOT_TYP });
  });

  it('verifies a version far beyond 2^53 exactly (uint64 as a decimal string)', async () => {
    const big = 2n ** 63n + 5n;
    const v = await verifySnapshot(await sign(big), trusted, { currentVersion: 2n ** 63n });
    expect(v.version).toBe(big);
  });

  it('accepts uncompressed (identity) config bytes', async () => {
    const snap = await sign();
    const plain: SignedSnapshot = { ...snap, compression: 'identity', config: gunzipSync(snap.config) };
    expect((await verifySnapshot(plain, trusted)).config).toEqual(config);
  });

  it('rejects tampered config bytes (hash mismatch), even when recompressed', async () => {
    const snap = await sign();
    const bytes = gunzipSync(snap.config);
    const tampered = Buffer.from(bytes.toString('utf8').replace('echo.local', 'evil.local'));
    await expectCode(
      verifySnapshot({ ...snap, config: gzipSync(tampered) }, trusted),
      'GH_ERR_SNAPSHOT_HASH_MISMATCH',
      /do not match the signed hash/,
    );
  });

  it('rejects tampered claims (payload swapped, signature kept)', async () => {
    const snap = await sign();
    const [h, , s] = jwsParts(snap.jws);
    const forged = `${h}.${b64url({ ver: '8', hash: snap.hash, iat: 1_700_000_000, cp: 'cp-test' })}.${s}`;
    await expectCode(
      verifySnapshot({ ...snap, version: 8n, jws: forged }, trusted),
      'GH_ERR_SNAPSHOT_BAD_SIGNATURE',
    );
  });

  it('rejects a tampered protected header (kid kept, typ changed)', async () => {
    const snap = await sign();
    const [, p, s] = jwsParts(snap.jws);
    const forged = `${b64url({ alg: 'EdDSA', kid: signing.kid, typ: 'other' })}.${p}.${s}`;
    await expectCode(verifySnapshot({ ...snap, jws: forged }, trusted), 'GH_ERR_SNAPSHOT_BAD_SIGNATURE');
  });

  it('rejects a snapshot signed by another key that claims a trusted kid', async () => {
    const snap = await sign(7n, { kid: signing.kid, key: otherSigning.key });
    await expectCode(verifySnapshot(snap, trusted), 'GH_ERR_SNAPSHOT_BAD_SIGNATURE', /does not verify/);
  });

  it('rejects when the trusted key under that kid is a different key', async () => {
    await expectCode(
      verifySnapshot(await sign(), new Map([[signing.kid, otherPublic]])),
      'GH_ERR_SNAPSHOT_BAD_SIGNATURE',
    );
  });

  it('rejects a snapshot signed with a kid it does not trust', async () => {
    await expectCode(
      verifySnapshot(await sign(7n, otherSigning), trusted),
      'GH_ERR_SNAPSHOT_UNKNOWN_KEY',
      /unknown key/,
    );
  });

  it('rejects a JWS with no kid', async () => {
    const snap = await sign();
    const [, p, s] = jwsParts(snap.jws);
    await expectCode(
      verifySnapshot({ ...snap, jws: `${b64url({ alg: 'EdDSA', typ: SNAPSHOT_TYP })}.${p}.${s}` }, trusted),
      'GH_ERR_SNAPSHOT_UNKNOWN_KEY',
    );
  });

  it('verifies against any key of a trusted set (rotation: old and new kid both trusted)', async () => {
    const both = new Map([...trusted, [otherSigning.kid, otherPublic]]);
    expect((await verifySnapshot(await sign(7n, otherSigning), both)).kid).toBe(otherSigning.kid);
    expect((await verifySnapshot(await sign(8n), both)).kid).toBe(signing.kid);
  });

  it('rejects an older version and an equal version; equal passes only with allowSameVersion', async () => {
    const snap = await sign(7n);
    await expectCode(
      verifySnapshot(snap, trusted, { currentVersion: 8n }),
      'GH_ERR_SNAPSHOT_STALE_VERSION',
      /not newer/,
    );
    await expectCode(verifySnapshot(snap, trusted, { currentVersion: 7n }), 'GH_ERR_SNAPSHOT_STALE_VERSION');
    await expectCode(
      verifySnapshot(snap, trusted, { currentVersion: 8n, allowSameVersion: true }),
      'GH_ERR_SNAPSHOT_STALE_VERSION',
    );
    expect(
      (await verifySnapshot(snap, trusted, { currentVersion: 7n, allowSameVersion: true })).version,
    ).toBe(7n);
    expect((await verifySnapshot(snap, trusted, { currentVersion: 6n })).version).toBe(7n);
    expect((await verifySnapshot(snap, trusted, { currentVersion: null })).version).toBe(7n);
  });

  it('rejects a snapshot whose hash or version field differs from the signed claims', async () => {
    const snap = await sign(7n);
    await expectCode(
      verifySnapshot({ ...snap, hash: sha256Hex(Buffer.from('x')) }, trusted),
      'GH_ERR_SNAPSHOT_HASH_MISMATCH',
    );
    await expectCode(verifySnapshot({ ...snap, version: 9n }, trusted), 'GH_ERR_SNAPSHOT_HASH_MISMATCH');
  });

  it('rejects an algorithm other than EdDSA (HS256 keyed with anything)', async () => {
    const snap = await sign();
    const claims = { ver: '7', hash: snap.hash, iat: 1, cp: 'x' };
    const hs = await new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'HS256', kid: signing.kid })
      .sign(new Uint8Array(32));
    await expectCode(
      verifySnapshot({ ...snap, jws: hs }, trusted),
      'GH_ERR_SNAPSHOT_BAD_SIGNATURE',
      /unexpected algorithm HS256/,
    );
  });

  it('rejects an unsecured JWS (alg none, empty signature)', async () => {
    const snap = await sign();
    const none = `${b64url({ alg: 'none', kid: signing.kid })}.${b64url({ ver: '7', hash: snap.hash, iat: 1, cp: 'x' })}.`;
    await expectCode(
      verifySnapshot({ ...snap, jws: none }, trusted),
      'GH_ERR_SNAPSHOT_BAD_SIGNATURE',
      /algorithm none/,
    );
  });

  it('rejects something that is not a compact JWS', async () => {
    const snap = await sign();
    for (const jws of ['', 'not-a-jws', 'a.b', '!!!.###.$$$', `${b64url('[1')}.e30.`]) {
      await expectCode(
        verifySnapshot({ ...snap, jws }, trusted),
        'GH_ERR_SNAPSHOT_MALFORMED',
        /not a compact JWS/,
      );
    }
  });

  it('rejects config bytes that are not gzip', async () => {
    const snap = await sign();
    await expectCode(
      verifySnapshot({ ...snap, config: Buffer.from('plainly not gzip') }, trusted),
      'GH_ERR_SNAPSHOT_MALFORMED',
      /decompress/,
    );
  });

  it('rejects signed bytes that are not JSON or lack services/routes', async () => {
    for (const text of ['{not json', '{"services":[]}', 'null']) {
      const bytes = Buffer.from(text);
      const snap = await signEncodedSnapshot({
        bytes,
        hash: sha256Hex(bytes),
        version: 1n,
        cpId: 'cp',
        key: signing,
      });
      await expectCode(verifySnapshot(snap, trusted), 'GH_ERR_SNAPSHOT_MALFORMED');
    }
  });

  it('bounds decompression by the signed size: a swapped-in gzip bomb is refused, not inflated', async () => {
    // 64 MiB of zeros (about 64 KiB compressed) beside a valid signature for a config of a few hundred bytes.
    const gz = createGzip({ level: 9 });
    const chunks: Buffer[] = [];
    gz.on('data', (c: Buffer) => chunks.push(c));
    const mib = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 64; i++) {
      if (!gz.write(mib)) await once(gz, 'drain');
    }
    gz.end();
    await once(gz, 'end');
    const bomb = Buffer.concat(chunks);
    expect(bomb.length).toBeLessThan(MAX_SNAPSHOT_BYTES);
    const snap = await sign();
    await expectCode(
      verifySnapshot({ ...snap, config: bomb }, trusted),
      'GH_ERR_SNAPSHOT_HASH_MISMATCH',
      /beyond the signed size/,
    );
  });

  it('refuses a compression it does not know', async () => {
    const snap = await sign();
    await expectCode(
      verifySnapshot({ ...snap, compression: 'br' as 'gzip' }, trusted),
      'GH_ERR_SNAPSHOT_MALFORMED',
      /compression/,
    );
  });
});
