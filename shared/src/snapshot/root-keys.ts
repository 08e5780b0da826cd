/**
 * Root-certified signing keys (TUF-style). A root key pair (Ed25519) is made once and its private
 * part kept offline; it certifies the online signing keys the CP signs snapshots with, and signs
 * the revocation list. Data planes are given only the root's public key.
 *
 *   certificate      compact JWS by the root (typ gatehouse-key-cert+jws) over
 *                    {kid, jwk (the signing key's public JWK), not_before, expires_at, issued_at}
 *   revocation list  compact JWS by the root (typ gatehouse-revocations+jws) over
 *                    {revoked: [kid...], version, issued_at}
 *
 * Both travel in the protected header of every snapshot and delta JWS (keys.ts `gh_cert`,
 * `gh_rev`), so the JetStream store and the DP disk cache carry them without new fields. A DP
 * accepts a JWS only if its kid's certificate verifies under the root, has not expired (its
 * not_before is not checked on the DP's clock: it schedules the CP's use of the key) and
 * the kid is not in the newest revocation list the DP has seen (a list older than the one held is
 * ignored; a newer one is adopted, and persisted by the caller).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CompactSign, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { GatehouseError, SnapshotErrors } from '../errors.js';
import {
  CERTIFICATE_HEADER,
  generateSigningKeyPair,
  loadTrustedKeys,
  REVOCATIONS_HEADER,
  SNAPSHOT_ALG,
  type KeyObjectLike,
  type KeyResolver,
  type SigningKey,
} from './keys.js';
import { verifyCompactJws } from './signed-snapshot.js';

export const ROOT_PRIVATE_KEY_FILE = 'snapshot-root.key.json';
export const ROOT_PUBLIC_KEY_FILE = 'snapshot-root.pub.json';
export const CERTIFICATE_TYP = 'gatehouse-key-cert+jws';
export const REVOCATIONS_TYP = 'gatehouse-revocations+jws';

/** Bounds on what a certificate or revocation list may hold (hostile input stops here). */
const MAX_JWS_CHARS = 64 * 1024;
const MAX_KID_CHARS = 200;
export const MAX_REVOKED_KIDS = 10_000;
/** A certificate whose not_before is this little in the future is already accepted (clock skew). */
export const CLOCK_SKEW_SECONDS = 60;

export interface CertificateClaims {
  kid: string;
  /** The signing key's public JWK (Ed25519). */
  jwk: JWK;
  /** Unix seconds. */
  not_before: number;
  expires_at: number;
  issued_at: number;
}

export interface RevocationClaims {
  revoked: string[];
  /** Grows with each list the root issues; a DP keeps the highest it has seen. */
  version: number;
  issued_at: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, file);
}

/** Writes a new root key pair into `dir` (private 0600, public JWKS 0644); refuses to overwrite unless `force`. */
export async function writeRootKeyPair(
  dir: string,
  opts: { force?: boolean } = {},
): Promise<{ kid: string; privateKeyFile: string; publicKeyFile: string }> {
  const privateKeyFile = join(dir, ROOT_PRIVATE_KEY_FILE);
  const publicKeyFile = join(dir, ROOT_PUBLIC_KEY_FILE);
  if (!opts.force) {
    const present = await readFile(privateKeyFile).then(
      () => true,
      () => false,
    );
    if (present) {
      throw SnapshotErrors.uncertifiedKey(`${privateKeyFile} exists; pass --force to replace it`);
    }
  }
  const pair = await generateSigningKeyPair();
  await writeAtomic(privateKeyFile, JSON.stringify(pair.privateJwk, null, 2) + '\n', 0o600);
  await writeAtomic(publicKeyFile, JSON.stringify({ keys: [pair.publicJwk] }, null, 2) + '\n', 0o644);
  return { kid: pair.kid, privateKeyFile, publicKeyFile };
}

/** The public JWK of a private one (the `d` left out). */
export function publicJwkOf(jwk: JWK): JWK {
  const { d: _d, ...pub } = jwk;
  return pub;
}

/** The root certifies a signing key's public JWK for [notBefore, expiresAt) (Unix seconds). */
export async function issueCertificate(
  root: SigningKey,
  publicJwk: JWK,
  o: { notBefore: number; expiresAt: number; issuedAt?: number },
): Promise<string> {
  if (typeof publicJwk.kid !== 'string' || publicJwk.kid === '')
    throw SnapshotErrors.uncertifiedKey('the key to certify has no kid');
  const claims: CertificateClaims = {
    kid: publicJwk.kid,
    jwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, kid: publicJwk.kid, alg: SNAPSHOT_ALG },
    not_before: o.notBefore,
    expires_at: o.expiresAt,
    issued_at: o.issuedAt ?? nowSeconds(),
  };
  return new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: SNAPSHOT_ALG, kid: root.kid, typ: CERTIFICATE_TYP })
    .sign(root.key);
}

/** The root signs a revocation list. */
export async function issueRevocationList(
  root: SigningKey,
  o: { revoked: readonly string[]; version: number; issuedAt?: number },
): Promise<string> {
  const claims: RevocationClaims = {
    revoked: [...new Set(o.revoked)].sort(),
    version: o.version,
    issued_at: o.issuedAt ?? nowSeconds(),
  };
  return new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: SNAPSHOT_ALG, kid: root.kid, typ: REVOCATIONS_TYP })
    .sign(root.key);
}

function isKid(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_KID_CHARS;
}

function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(payload));
  } catch {
    return undefined;
  }
}

function asRecord(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** A verified certificate: its claims and the signing key it certifies. */
export interface VerifiedCertificate {
  claims: CertificateClaims;
  key: KeyObjectLike;
}

/**
 * Verifies a certificate under the root keys and parses it; does not check its validity period
 * (see {@link certificateValidity}). Throws GH_ERR_SNAPSHOT_UNCERTIFIED_KEY.
 */
export async function verifyCertificate(
  cert: unknown,
  roots: ReadonlyMap<string, KeyObjectLike>,
): Promise<VerifiedCertificate> {
  if (typeof cert !== 'string' || cert.length > MAX_JWS_CHARS)
    throw SnapshotErrors.uncertifiedKey('certificate is not a compact JWS');
  let payload: Uint8Array;
  try {
    ({ payload } = await verifyCompactJws(cert, roots, 'certificate', CERTIFICATE_TYP));
  } catch (e) {
    if (e instanceof GatehouseError)
      throw SnapshotErrors.uncertifiedKey(`certificate not signed by the root key: ${e.message}`);
    throw e;
  }
  const c = asRecord(parseJson(payload));
  const jwk = asRecord(c?.jwk);
  if (
    !c ||
    !jwk ||
    !isKid(c.kid) ||
    !Number.isSafeInteger(c.not_before) ||
    !Number.isSafeInteger(c.expires_at) ||
    !Number.isSafeInteger(c.issued_at) ||
    jwk.kty !== 'OKP' ||
    jwk.crv !== 'Ed25519' ||
    typeof jwk.x !== 'string' ||
    jwk.d !== undefined
  ) {
    throw SnapshotErrors.uncertifiedKey('certificate claims lack kid, an Ed25519 public jwk or its validity');
  }
  let key: KeyObjectLike;
  try {
    key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, SNAPSHOT_ALG);
  } catch {
    throw SnapshotErrors.uncertifiedKey(`certificate of key "${c.kid}" holds an unusable public key`);
  }
  return {
    claims: {
      kid: c.kid,
      jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: c.kid, alg: SNAPSHOT_ALG },
      not_before: c.not_before as number,
      expires_at: c.expires_at as number,
      issued_at: c.issued_at as number,
    },
    key,
  };
}

/** Whether a certificate is within its validity at `now` (Unix seconds), with the clock skew allowed. */
export function certificateValidity(
  c: Pick<CertificateClaims, 'not_before' | 'expires_at'>,
  now = nowSeconds(),
): 'valid' | 'not_yet_valid' | 'expired' {
  if (c.not_before > now + CLOCK_SKEW_SECONDS) return 'not_yet_valid';
  if (c.expires_at <= now) return 'expired';
  return 'valid';
}

/** Verifies a revocation list under the root keys and parses it. Throws GH_ERR_SNAPSHOT_BAD_REVOCATION_LIST. */
export async function verifyRevocationList(
  jws: unknown,
  roots: ReadonlyMap<string, KeyObjectLike>,
): Promise<RevocationClaims> {
  if (typeof jws !== 'string' || jws.length > MAX_JWS_CHARS * 64)
    throw SnapshotErrors.badRevocationList('revocation list is not a compact JWS');
  let payload: Uint8Array;
  try {
    ({ payload } = await verifyCompactJws(jws, roots, 'revocation list', REVOCATIONS_TYP));
  } catch (e) {
    if (e instanceof GatehouseError)
      throw SnapshotErrors.badRevocationList(`revocation list not signed by the root key: ${e.message}`);
    throw e;
  }
  const c = asRecord(parseJson(payload));
  if (
    !c ||
    !Array.isArray(c.revoked) ||
    c.revoked.length > MAX_REVOKED_KIDS ||
    !c.revoked.every(isKid) ||
    !Number.isSafeInteger(c.version) ||
    (c.version as number) < 1 ||
    !Number.isSafeInteger(c.issued_at)
  ) {
    throw SnapshotErrors.badRevocationList('revocation list claims lack revoked kids, version or issued_at');
  }
  return {
    revoked: [...c.revoked],
    version: c.version as number,
    issued_at: c.issued_at as number,
  };
}

/** The root key id a certificate or revocation list names in its header (not verified), or null. */
export function issuerKid(jws: string): string | null {
  try {
    const kid = decodeProtectedHeader(jws).kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}

export interface RootTrustOptions {
  /** The root public key(s), by kid. */
  roots: ReadonlyMap<string, KeyObjectLike>;
  /** The newest revocation list held (from disk), verified; absent: none yet. */
  revocations?: { jws: string; claims: RevocationClaims } | null;
  /** Called with each newer list adopted (the DP writes it to disk). Must not throw. */
  onRevocations?: (jws: string, claims: RevocationClaims) => void | Promise<void>;
  /** Unix seconds; tests pass a fixed clock. */
  now?: () => number;
  /**
   * Plain-mode keys also trusted (`--trusted-keys` beside `--cluster-root-key`, while moving a
   * fleet to root-key mode): a JWS with no certificate verifies if its kid is one of these.
   */
  plainKeys?: ReadonlyMap<string, KeyObjectLike>;
}

const CERT_CACHE_SIZE = 32;

/**
 * The DP's root-key trust (a {@link KeyResolver} for verifyCompactJws): a JWS verifies only under
 * a signing key its header's certificate certifies, within validity and not revoked.
 */
export class RootTrust implements KeyResolver {
  private readonly roots: ReadonlyMap<string, KeyObjectLike>;
  private readonly now: () => number;
  private readonly onRevocations: RootTrustOptions['onRevocations'];
  private held: { jws: string; claims: RevocationClaims; revoked: Set<string> } | null;
  private readonly certs = new Map<string, VerifiedCertificate>();
  private readonly plainKeys: ReadonlyMap<string, KeyObjectLike>;

  constructor(o: RootTrustOptions) {
    if (o.roots.size === 0) throw SnapshotErrors.uncertifiedKey('no root key was given');
    this.roots = o.roots;
    this.now = o.now ?? nowSeconds;
    this.onRevocations = o.onRevocations;
    this.plainKeys = o.plainKeys ?? new Map();
    this.held = o.revocations ? { ...o.revocations, revoked: new Set(o.revocations.claims.revoked) } : null;
  }

  /** The newest revocation list held, or null. */
  get revocations(): { jws: string; claims: RevocationClaims } | null {
    return this.held ? { jws: this.held.jws, claims: this.held.claims } : null;
  }

  /** Adopts a revocation list if it verifies and is newer than the one held; true if adopted. */
  async adoptRevocations(jws: unknown): Promise<boolean> {
    if (this.held !== null && jws === this.held.jws) return false;
    const claims = await verifyRevocationList(jws, this.roots);
    if (this.held !== null && claims.version <= this.held.claims.version) return false;
    this.held = { jws: jws as string, claims, revoked: new Set(claims.revoked) };
    await this.onRevocations?.(jws as string, claims);
    return true;
  }

  isRevoked(kid: string): boolean {
    return this.held?.revoked.has(kid) ?? false;
  }

  async resolve(
    header: Readonly<Record<string, unknown>>,
    kid: string,
    what: string,
  ): Promise<KeyObjectLike> {
    const rev = header[REVOCATIONS_HEADER];
    if (rev !== undefined) await this.adoptRevocations(rev);
    if (this.isRevoked(kid))
      throw SnapshotErrors.keyRevoked(
        `${what} signed with key "${kid}", revoked (revocation list version ${this.held?.claims.version})`,
      );
    const cert = header[CERTIFICATE_HEADER];
    const plain = cert === undefined ? this.plainKeys.get(kid) : undefined;
    if (plain) return plain;
    if (cert === undefined)
      throw SnapshotErrors.uncertifiedKey(`${what} signed with key "${kid}" that carries no certificate`);
    const verified = await this.certificate(cert);
    if (verified.claims.kid !== kid) {
      throw SnapshotErrors.uncertifiedKey(
        `${what} signed with key "${kid}" carries the certificate of key "${verified.claims.kid}"`,
      );
    }
    // Only expiry is checked on this clock. A certificate "not yet valid" here is one the root
    // signed and the CP already signs with (the CP starts using a key at its not_before, on its own
    // clock): refusing it would make a DP whose clock runs late refuse every snapshot until its
    // clock catches up (chaos row F12: a DP 10 min or 1 h late, a key rotated).
    if (certificateValidity(verified.claims, this.now()) === 'expired') {
      throw SnapshotErrors.keyExpired(
        `${what} signed with key "${kid}" whose certificate expired at ` +
          new Date(verified.claims.expires_at * 1000).toISOString(),
      );
    }
    return verified.key;
  }

  private async certificate(cert: unknown): Promise<VerifiedCertificate> {
    const cached = typeof cert === 'string' ? this.certs.get(cert) : undefined;
    if (cached) return cached;
    const verified = await verifyCertificate(cert, this.roots);
    if (this.certs.size >= CERT_CACHE_SIZE) this.certs.delete(this.certs.keys().next().value as string);
    this.certs.set(cert as string, verified);
    return verified;
  }
}

/** Where a DP keeps the newest revocation list it has seen (in its data folder). */
export const REVOCATIONS_CACHE_FILE = 'snapshot-revocations.jws';

/**
 * The DP's root trust from files: the root public key(s) (a JWK or JWKS, public only) and the
 * newest revocation list seen (`revocationsFile`, read if present, rewritten atomically when a
 * newer list arrives). A list on disk that does not verify is reported through `warn` and ignored.
 */
export async function loadRootTrust(o: {
  rootKeyFile: string;
  revocationsFile: string;
  warn: (msg: string, err?: unknown) => void;
  now?: () => number;
  plainKeys?: ReadonlyMap<string, KeyObjectLike>;
}): Promise<RootTrust> {
  const roots = await loadTrustedKeys([o.rootKeyFile]);
  let revocations: { jws: string; claims: RevocationClaims } | null = null;
  const text = await readFile(o.revocationsFile, 'utf8').catch(() => null);
  if (text !== null) {
    try {
      const jws = text.trim();
      revocations = { jws, claims: await verifyRevocationList(jws, roots) };
    } catch (e) {
      o.warn(`ignoring the revocation list in ${o.revocationsFile}`, e);
    }
  }
  return new RootTrust({
    roots,
    revocations,
    ...(o.now ? { now: o.now } : {}),
    ...(o.plainKeys ? { plainKeys: o.plainKeys } : {}),
    onRevocations: async (jws) => {
      try {
        await writeAtomic(o.revocationsFile, jws + '\n', 0o644);
      } catch (e) {
        o.warn(`could not write the revocation list to ${o.revocationsFile}`, e);
      }
    },
  });
}
