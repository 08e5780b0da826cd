import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_DEFAULTS, SERVICE_DEFAULTS, type GatehouseConfig } from '../config/model.js';
import { completeConfig } from '../entities/registry.js';
import { signDelta, verifyDelta } from './delta.js';
import { encodeConfig } from './canonical.js';
import { generateSigningKeyPair, SNAPSHOT_ALG, type KeyObjectLike, type SigningKey } from './keys.js';
import {
  CERTIFICATE_TYP,
  issueCertificate,
  issueRevocationList,
  loadRootTrust,
  RootTrust,
  verifyCertificate,
  writeRootKeyPair,
} from './root-keys.js';
import { signSnapshot, verifySnapshot } from './signed-snapshot.js';

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

const NOW = 1_800_000_000;
let root: SigningKey;
let roots: Map<string, KeyObjectLike>;
let otherRoot: SigningKey;

async function keyPair(): Promise<{
  signing: SigningKey;
  publicJwk: Awaited<ReturnType<typeof generateSigningKeyPair>>['publicJwk'];
}> {
  const pair = await generateSigningKeyPair();
  return {
    signing: { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) },
    publicJwk: pair.publicJwk,
  };
}

/** A signing key certified by `by` for [NOW - 60, NOW + 1 day). */
async function certified(by = root, validity = { notBefore: NOW - 60, expiresAt: NOW + 86_400 }) {
  const { signing, publicJwk } = await keyPair();
  const certificate = await issueCertificate(by, publicJwk, { ...validity, issuedAt: NOW });
  return { ...signing, certificate } satisfies SigningKey;
}

const trust = (o: Partial<ConstructorParameters<typeof RootTrust>[0]> = {}) =>
  new RootTrust({ roots, now: () => NOW, ...o });

const sign = (key: SigningKey, version = 5n) =>
  signSnapshot({ config, version, cpId: 'cp', key, issuedAt: NOW });

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  return p.then(
    () => null,
    (e: { code?: string }) => e.code ?? 'no code',
  );
}

beforeAll(async () => {
  const pair = await generateSigningKeyPair();
  root = { kid: pair.kid, key: await importJWK(pair.privateJwk, SNAPSHOT_ALG) };
  roots = new Map([[pair.kid, await importJWK(pair.publicJwk, SNAPSHOT_ALG)]]);
  otherRoot = (await keyPair()).signing;
});

describe('root-certified signing keys', () => {
  it('accepts a snapshot signed by a key the root certified, the certificate carried in its JWS header', async () => {
    const key = await certified();
    const verified = await verifySnapshot(await sign(key), trust());
    expect(verified.kid).toBe(key.kid);
    expect(verified.config.services[0]!.name).toBe('echo');
  });

  it('refuses a snapshot whose key carries no certificate (GH_ERR_SNAPSHOT_UNCERTIFIED_KEY)', async () => {
    const { signing } = await keyPair();
    expect(await codeOf(verifySnapshot(await sign(signing), trust()))).toBe(
      'GH_ERR_SNAPSHOT_UNCERTIFIED_KEY',
    );
  });

  it('refuses a key certified by another root', async () => {
    const key = await certified(otherRoot);
    expect(await codeOf(verifySnapshot(await sign(key), trust()))).toBe('GH_ERR_SNAPSHOT_UNCERTIFIED_KEY');
  });

  it("refuses a snapshot that carries another key's certificate", async () => {
    const a = await certified();
    const b = await certified();
    const forged = { ...a, certificate: b.certificate };
    expect(await codeOf(verifySnapshot(await sign(forged), trust()))).toBe('GH_ERR_SNAPSHOT_UNCERTIFIED_KEY');
  });

  it('refuses a key whose certificate expired (GH_ERR_SNAPSHOT_KEY_EXPIRED)', async () => {
    const old = await certified(root, { notBefore: NOW - 10_000, expiresAt: NOW - 1 });
    expect(await codeOf(verifySnapshot(await sign(old), trust()))).toBe('GH_ERR_SNAPSHOT_KEY_EXPIRED');
  });

  it("takes a key whose certificate starts later on the DP's clock (a DP running late: F12)", async () => {
    // The CP signs with a key from its not_before on its own clock; a DP an hour behind sees that
    // not_before an hour ahead and must still take the snapshot.
    const fresh = await certified(root, { notBefore: NOW + 3_600, expiresAt: NOW + 7_200 });
    const verified = await verifySnapshot(await sign(fresh), trust());
    expect(verified.kid).toBe(fresh.kid);
  });

  it('refuses a key in the revocation list it carries, and keeps refusing it once the list is held', async () => {
    const oldKey = await certified();
    const newKey = await certified();
    const list = await issueRevocationList(root, { revoked: [oldKey.kid], version: 1, issuedAt: NOW });
    const t = trust();
    // The old key's snapshot is accepted before the list is seen...
    await expect(verifySnapshot(await sign(oldKey), t)).resolves.toBeTruthy();
    // ...the new key's snapshot brings the list...
    await verifySnapshot(await sign({ ...newKey, revocations: list }, 6n), t);
    expect(t.revocations?.claims.version).toBe(1);
    // ...and from then on the old key is refused, list or not.
    expect(await codeOf(verifySnapshot(await sign(oldKey, 7n), t))).toBe('GH_ERR_SNAPSHOT_KEY_REVOKED');
  });

  it('ignores a revocation list older than the one held', async () => {
    const a = await certified();
    const v2 = await issueRevocationList(root, { revoked: [a.kid], version: 2, issuedAt: NOW });
    const v1 = await issueRevocationList(root, { revoked: [], version: 1, issuedAt: NOW });
    const t = trust();
    expect(await t.adoptRevocations(v2)).toBe(true);
    expect(await t.adoptRevocations(v1)).toBe(false);
    expect(t.isRevoked(a.kid)).toBe(true);
    expect(await codeOf(verifySnapshot(await sign({ ...a, revocations: v1 }), t))).toBe(
      'GH_ERR_SNAPSHOT_KEY_REVOKED',
    );
  });

  it('refuses a revocation list not signed by the root (GH_ERR_SNAPSHOT_BAD_REVOCATION_LIST)', async () => {
    const key = await certified();
    const forged = await issueRevocationList(otherRoot, { revoked: [], version: 99, issuedAt: NOW });
    expect(await codeOf(verifySnapshot(await sign({ ...key, revocations: forged }), trust()))).toBe(
      'GH_ERR_SNAPSHOT_BAD_REVOCATION_LIST',
    );
  });

  it('applies the same rules to a delta', async () => {
    const key = await certified();
    const base = encodeConfig(config);
    const next = completeConfig({ ...config, services: [{ ...config.services[0]!, host: 'other.local' }] });
    const target = encodeConfig(next);
    const ops = new TextEncoder().encode('[]');
    const delta = await signDelta({
      base: { version: 1n, hash: base.hash },
      target: { version: 2n, hash: target.hash, size: target.bytes.length },
      ops,
      cpId: 'cp',
      key,
    });
    await expect(verifyDelta(delta, trust(), { version: 1n, hash: base.hash })).resolves.toBeTruthy();
    const { signing } = await keyPair();
    const uncertified = await signDelta({
      base: { version: 1n, hash: base.hash },
      target: { version: 2n, hash: target.hash, size: target.bytes.length },
      ops,
      cpId: 'cp',
      key: signing,
    });
    expect(await codeOf(verifyDelta(uncertified, trust(), { version: 1n, hash: base.hash }))).toBe(
      'GH_ERR_SNAPSHOT_UNCERTIFIED_KEY',
    );
  });

  it('accepts a plain-mode key given beside the root only for a JWS that carries no certificate', async () => {
    const { signing, publicJwk } = await keyPair();
    const t = trust({ plainKeys: new Map([[signing.kid, await importJWK(publicJwk, SNAPSHOT_ALG)]]) });
    await expect(verifySnapshot(await sign(signing), t)).resolves.toBeTruthy();
  });

  it('a certificate must be of the certificate type, not any JWS by the root', async () => {
    const { publicJwk } = await keyPair();
    const wrongTyp = await new CompactSign(
      new TextEncoder().encode(
        JSON.stringify({
          kid: publicJwk.kid,
          jwk: publicJwk,
          not_before: 0,
          expires_at: NOW * 2,
          issued_at: 0,
        }),
      ),
    )
      .setProtectedHeader({ alg: SNAPSHOT_ALG, kid: root.kid, typ: 'JWT' })
      .sign(root.key);
    expect(await codeOf(verifyCertificate(wrongTyp, roots))).toBe('GH_ERR_SNAPSHOT_UNCERTIFIED_KEY');
    const right = await issueCertificate(root, publicJwk, { notBefore: 0, expiresAt: NOW * 2 });
    expect((await verifyCertificate(right, roots)).claims.kid).toBe(publicJwk.kid);
    expect(CERTIFICATE_TYP).toBe('gatehouse-key-cert+jws');
  });

  it('snapshots signed with a TTL carry exp', async () => {
    const key = await certified();
    const verified = await verifySnapshot(await sign({ ...key, snapshotTtlSeconds: 3_600 }), trust());
    expect(verified.claims.exp).toBe(NOW + 3_600);
  });
});

describe('loadRootTrust', () => {
  it('reads the root public key, keeps the newest revocation list on disk and reads it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-root-'));
    const written = await writeRootKeyPair(dir);
    const rootKey = {
      kid: written.kid,
      key: await importJWK(JSON.parse(await readFile(written.privateKeyFile, 'utf8')), SNAPSHOT_ALG),
    };
    const revocationsFile = join(dir, 'dp', 'revocations.jws');
    const warnings: string[] = [];
    const t = await loadRootTrust({
      rootKeyFile: written.publicKeyFile,
      revocationsFile,
      warn: (m) => warnings.push(m),
    });
    const list = await issueRevocationList(rootKey, { revoked: ['gone'], version: 3 });
    expect(await t.adoptRevocations(list)).toBe(true);
    expect((await readFile(revocationsFile, 'utf8')).trim()).toBe(list);
    const again = await loadRootTrust({
      rootKeyFile: written.publicKeyFile,
      revocationsFile,
      warn: (m) => warnings.push(m),
    });
    expect(again.isRevoked('gone')).toBe(true);
    expect(again.revocations?.claims.version).toBe(3);
    // A tampered list on disk is ignored, with a warning.
    await writeFile(revocationsFile, 'junk');
    const third = await loadRootTrust({
      rootKeyFile: written.publicKeyFile,
      revocationsFile,
      warn: (m) => warnings.push(m),
    });
    expect(third.revocations).toBeNull();
    expect(warnings.some((w) => w.includes('ignoring the revocation list'))).toBe(true);
  });

  it('refuses a private key given as the root public key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-root-'));
    const written = await writeRootKeyPair(dir);
    const code = await codeOf(
      loadRootTrust({
        rootKeyFile: written.privateKeyFile,
        revocationsFile: join(dir, 'r.jws'),
        warn: () => {},
      }),
    );
    expect(code).toBe('GH_ERR_CONFIG_MISSING_KEY');
  });
});
