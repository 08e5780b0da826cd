/**
 * Hostile certificates, revocation lists and JWS headers: whatever a snapshot's header carries,
 * root-key verification ends in a GH_ERR_SNAPSHOT_* error (never a crash, never another error,
 * never an accepted snapshot) and leaves no polluted prototype.
 */
import fc from 'fast-check';
import { CompactSign, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_DEFAULTS, SERVICE_DEFAULTS } from '../config/model.js';
import { completeConfig } from '../entities/registry.js';
import { encodeConfig } from './canonical.js';
import {
  CERTIFICATE_HEADER,
  generateSigningKeyPair,
  REVOCATIONS_HEADER,
  SNAPSHOT_ALG,
  type KeyObjectLike,
  type SigningKey,
} from './keys.js';
import {
  CERTIFICATE_TYP,
  RootTrust,
  REVOCATIONS_TYP,
  verifyCertificate,
  verifyRevocationList,
} from './root-keys.js';
import { SNAPSHOT_TYP, verifySnapshotBytes, type SignedSnapshot } from './signed-snapshot.js';
import { gzipSync } from 'node:zlib';

const NOW = 1_800_000_000;
let root: SigningKey;
let roots: Map<string, KeyObjectLike>;
let signing: SigningKey;
let signingJwk: Record<string, unknown>;

beforeAll(async () => {
  const r = await generateSigningKeyPair();
  root = { kid: r.kid, key: await importJWK(r.privateJwk, SNAPSHOT_ALG) };
  roots = new Map([[r.kid, await importJWK(r.publicJwk, SNAPSHOT_ALG)]]);
  const s = await generateSigningKeyPair();
  signing = { kid: s.kid, key: await importJWK(s.privateJwk, SNAPSHOT_ALG) };
  signingJwk = s.publicJwk;
});

const config = completeConfig({
  services: [{ ...SERVICE_DEFAULTS, id: 's1', name: 'a', host: 'a.local', created_at: 1, updated_at: 1 }],
  routes: [
    {
      ...ROUTE_DEFAULTS,
      protocols: ['http'],
      id: 'r1',
      name: 'a',
      paths: ['/a'],
      service: { id: 's1' },
      created_at: 1,
      updated_at: 1,
    },
  ],
});
const encoded = encodeConfig(config);

/** A JWS by the root over arbitrary claims, of the given typ. */
const byRoot = (claims: unknown, typ: string) =>
  new CompactSign(new TextEncoder().encode(JSON.stringify(claims) ?? 'null'))
    .setProtectedHeader({ alg: SNAPSHOT_ALG, kid: root.kid, typ })
    .sign(root.key);

const hostileValue = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('a.b.c', '..', 'eyJhbGciOiJub25lIn0.e30.', '__proto__', 'constructor'),
  fc
    .tuple(
      fc.base64String({ maxLength: 80 }),
      fc.base64String({ maxLength: 80 }),
      fc.base64String({ maxLength: 80 }),
    )
    .map(([a, b, c]) => `${a}.${b}.${c}`),
);

const hostileCertClaims = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      kid: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 1 })),
      jwk: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.record({
          kty: fc.constantFrom('OKP', 'EC', 'RSA'),
          crv: fc.constantFrom('Ed25519', 'X25519', 'P-256'),
          x: fc.string({ maxLength: 60 }),
          d: fc.option(fc.string()),
        }),
      ),
      not_before: fc.oneof(fc.integer(), fc.double(), fc.string()),
      expires_at: fc.oneof(fc.integer(), fc.double(), fc.string()),
      issued_at: fc.oneof(fc.integer(), fc.constant(null)),
      __proto__: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  ),
);

const hostileRevClaims = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      revoked: fc.oneof(
        fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      version: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(2 ** 60)),
      issued_at: fc.oneof(fc.integer(), fc.string()),
    },
    { requiredKeys: [] },
  ),
);

/** A snapshot signed by `signing` whose protected header carries `extra`. */
async function snapshotWithHeader(extra: Record<string, unknown>): Promise<SignedSnapshot> {
  const claims = { ver: '3', hash: encoded.hash, size: encoded.bytes.length, iat: NOW, cp: 'cp' };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: SNAPSHOT_ALG, kid: signing.kid, typ: SNAPSHOT_TYP, ...extra })
    .sign(signing.key);
  return {
    version: 3n,
    hash: encoded.hash,
    jws,
    config: gzipSync(encoded.bytes),
    compression: 'gzip',
    uncompressedSize: encoded.bytes.length,
  };
}

async function expectSnapshotError(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'a hostile header was accepted').not.toBeNull();
  expect(String((err as { code?: unknown }).code)).toMatch(/^GH_ERR_SNAPSHOT_/);
}

describe('root-key verification over hostile input', () => {
  it('any certificate or revocation list value in the header gives only GH_ERR_SNAPSHOT_* errors', async () => {
    await fc.assert(
      fc.asyncProperty(hostileValue, fc.option(hostileValue), async (cert, rev) => {
        const trust = new RootTrust({ roots, now: () => NOW });
        const snap = await snapshotWithHeader({
          [CERTIFICATE_HEADER]: cert,
          ...(rev === null ? {} : { [REVOCATIONS_HEADER]: rev }),
        });
        await expectSnapshotError(verifySnapshotBytes(snap, trust));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 150 },
    );
  });

  it('root-signed certificates with hostile claims are refused as uncertified', async () => {
    await fc.assert(
      fc.asyncProperty(hostileCertClaims, async (claims) => {
        const cert = await byRoot(claims, CERTIFICATE_TYP);
        const err = await verifyCertificate(cert, roots).then(
          (v) => (v.claims.kid === (claims as { kid?: unknown }).kid ? null : 'wrong kid'),
          (e: { code?: string }) => e.code,
        );
        // Only a well-formed certificate (vanishingly rare here) may verify, and then as what it says.
        if (err !== null) expect(err).toBe('GH_ERR_SNAPSHOT_UNCERTIFIED_KEY');
        // Whatever it is, a snapshot carrying it (for the key it does not certify) is refused.
        const snap = await snapshotWithHeader({ [CERTIFICATE_HEADER]: cert });
        await expectSnapshotError(verifySnapshotBytes(snap, new RootTrust({ roots, now: () => NOW })));
      }),
      { numRuns: 150 },
    );
  });

  it('root-signed revocation lists with hostile claims are refused or read as lists of kids', async () => {
    await fc.assert(
      fc.asyncProperty(hostileRevClaims, async (claims) => {
        const jws = await byRoot(claims, REVOCATIONS_TYP);
        const out = await verifyRevocationList(jws, roots).then(
          (v) => v,
          (e: { code?: string }) => String(e.code),
        );
        if (typeof out === 'string') expect(out).toBe('GH_ERR_SNAPSHOT_BAD_REVOCATION_LIST');
        else {
          expect(Number.isSafeInteger(out.version) && out.version >= 1).toBe(true);
          expect(out.revoked.every((k) => typeof k === 'string' && k.length > 0)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a valid certificate for the key, with a hostile revocation list, is refused or accepted — never a crash', async () => {
    const cert = await byRoot(
      { kid: signing.kid, jwk: signingJwk, not_before: NOW - 10, expires_at: NOW + 10, issued_at: NOW },
      CERTIFICATE_TYP,
    );
    await fc.assert(
      fc.asyncProperty(hostileRevClaims, async (claims) => {
        const rev = await byRoot(claims, REVOCATIONS_TYP);
        const snap = await snapshotWithHeader({ [CERTIFICATE_HEADER]: cert, [REVOCATIONS_HEADER]: rev });
        const res = await verifySnapshotBytes(snap, new RootTrust({ roots, now: () => NOW })).then(
          () => 'ok',
          (e: { code?: string }) => String(e.code),
        );
        expect(res).toMatch(/^(ok|GH_ERR_SNAPSHOT_BAD_REVOCATION_LIST|GH_ERR_SNAPSHOT_KEY_REVOKED)$/);
      }),
      { numRuns: 100 },
    );
  });
});
