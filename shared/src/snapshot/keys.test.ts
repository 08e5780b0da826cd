import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generateSigningKeyPair,
  kidOf,
  loadSigningKey,
  loadTrustedKeys,
  PRIVATE_KEY_FILE,
  PUBLIC_KEYS_FILE,
  writeSigningKeyPair,
} from './keys.js';
import { emptyConfig } from '../entities/registry.js';
import { signSnapshot, verifySnapshot } from './signed-snapshot.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectKeyError(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as { code?: string; message: string },
  );
  expect(err, 'loading should have failed').not.toBeNull();
  expect(err!.code).toBe('GH_ERR_CONFIG_MISSING_KEY');
  expect(err!.message).toMatch(message);
}

const writeJson = async (name: string, value: unknown) => {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(value));
  return file;
};

describe('signing key files', () => {
  it('writes a key pair whose private key signs what the public JWKS verifies', async () => {
    const { kid, privateKeyFile, publicKeysFile } = await writeSigningKeyPair(dir);
    expect(privateKeyFile).toBe(join(dir, PRIVATE_KEY_FILE));
    expect(publicKeysFile).toBe(join(dir, PUBLIC_KEYS_FILE));
    const key = await loadSigningKey(privateKeyFile);
    const trusted = await loadTrustedKeys([publicKeysFile]);
    expect(key.kid).toBe(kid);
    expect([...trusted.keys()]).toEqual([kid]);
    const snap = await signSnapshot({ config: emptyConfig(), version: 1n, cpId: 'cp', key });
    expect((await verifySnapshot(snap, trusted)).kid).toBe(kid);
  });

  it('writes the private key readable by its owner only and the JWKS without private parts', async () => {
    const { privateKeyFile, publicKeysFile } = await writeSigningKeyPair(dir);
    expect((await stat(privateKeyFile)).mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(await readFile(publicKeysFile, 'utf8')) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  });

  it('refuses to overwrite an existing key unless forced, and forced gives a new kid', async () => {
    const first = await writeSigningKeyPair(dir);
    await expect(writeSigningKeyPair(dir)).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID_SETTING' });
    expect((await loadSigningKey(first.privateKeyFile)).kid).toBe(first.kid);
    const second = await writeSigningKeyPair(dir, { force: true });
    expect(second.kid).not.toBe(first.kid);
  });

  it('makes kids of hex digits, so a kid never starts with "-" (gatehouse keys revoke <kid> read one as an option)', async () => {
    // A base64url thumbprint starting with '-' gave such a kid before (1 key in 64).
    expect(kidOf('-vB3xQ_abcdefghijklmnopqrstuvwxyz0123456789', Buffer.from([0xab, 0x01]))).toBe(
      'faf077c50fda6dc7-ab01',
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 2, maxLength: 2 }),
        (digest, random) => {
          const kid = kidOf(Buffer.from(digest).toString('base64url'), Buffer.from(random));
          expect(kid).toMatch(/^[0-9a-f]{16}-[0-9a-f]{4}$/);
        },
      ),
    );
    expect((await generateSigningKeyPair()).kid).toMatch(/^[0-9a-f]{16}-[0-9a-f]{4}$/);
  });

  it('generates distinct kids for distinct keys', async () => {
    const a = await generateSigningKeyPair();
    const b = await generateSigningKeyPair();
    expect(a.kid).not.toBe(b.kid);
    expect(a.publicJwk.kid).toBe(a.kid);
    expect(a.privateJwk.kid).toBe(a.kid);
  });

  it('refuses a private key given as a trusted key', async () => {
    const { privateKeyFile } = await writeSigningKeyPair(dir);
    await expectKeyError(loadTrustedKeys([privateKeyFile]), /contains a private key/);
    const pair = await generateSigningKeyPair();
    const jwks = await writeJson('mixed.jwks.json', { keys: [pair.publicJwk, pair.privateJwk] });
    await expectKeyError(loadTrustedKeys([jwks]), /contains a private key/);
  });

  it('refuses a public key given as the signing key', async () => {
    const pair = await generateSigningKeyPair();
    await expectKeyError(loadSigningKey(await writeJson('pub.json', pair.publicJwk)), /no private part/);
  });

  it('names the file when it is missing or not JSON', async () => {
    await expectKeyError(loadSigningKey(join(dir, 'absent.json')), /cannot read signing key .*absent\.json/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{nope');
    await expectKeyError(loadTrustedKeys([bad]), /bad\.json is not valid JSON/);
  });

  it('refuses keys that are not Ed25519', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ec = { ...privateKey.export({ format: 'jwk' }), kid: 'ec-1' };
    await expectKeyError(loadSigningKey(await writeJson('ec.json', ec)), /must be an Ed25519 JWK/);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPub = await writeJson('ec.jwks.json', {
      keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'ec-2' }],
    });
    await expectKeyError(loadTrustedKeys([ecPub]), /must be an Ed25519 JWK/);
  });

  it('refuses a key without a kid and an empty key set', async () => {
    const pair = await generateSigningKeyPair();
    const { kid: _kid, ...noKid } = pair.publicJwk;
    await expectKeyError(loadTrustedKeys([await writeJson('nokid.json', { keys: [noKid] })]), /no "kid"/);
    await expectKeyError(loadTrustedKeys([await writeJson('empty.json', { keys: [] })]), /no keys/);
    await expectKeyError(loadTrustedKeys([]), /no trusted snapshot keys/);
  });

  it('merges several JWKS files and single public JWK files into one trusted set (rotation)', async () => {
    const a = await generateSigningKeyPair();
    const b = await generateSigningKeyPair();
    const c = await generateSigningKeyPair();
    const trusted = await loadTrustedKeys([
      await writeJson('ab.jwks.json', { keys: [a.publicJwk, b.publicJwk] }),
      await writeJson('c.json', c.publicJwk),
    ]);
    expect(new Set(trusted.keys())).toEqual(new Set([a.kid, b.kid, c.kid]));
  });

  it('refuses the same kid trusted with two different keys', async () => {
    const a = await generateSigningKeyPair();
    const b = await generateSigningKeyPair();
    const clash = { ...b.publicJwk, kid: a.kid };
    await expectKeyError(
      loadTrustedKeys([await writeJson('a.json', a.publicJwk), await writeJson('clash.json', clash)]),
      /already trusted with a different key/,
    );
  });
});
