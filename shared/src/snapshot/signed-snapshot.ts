/**
 * Signed snapshots: canonical config bytes, compressed beside a compact JWS whose claims
 * carry version, hash, issued-at and the CP id. The DP verifies the JWS against keys it was
 * given at start (by kid), then the hash of the bytes, then that the version moves forward,
 * and only then parses the config.
 */
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { compactVerify, CompactSign, decodeProtectedHeader, errors as joseErrors } from 'jose';
import type { GatehouseConfig } from '../config/model.js';
import { SnapshotErrors } from '../errors.js';
import { encodeConfig, sha256Hex } from './canonical.js';
import { parseSnapshotConfig } from './snapshot-config.js';
import {
  SNAPSHOT_ALG,
  signingHeader,
  type KeyObjectLike,
  type KeyResolver,
  type SigningKey,
  type TrustedKeys,
} from './keys.js';

export const SNAPSHOT_TYP = 'gatehouse-snapshot+jws';

export interface SnapshotClaims {
  /** Version, decimal string (uint64 does not fit a JSON number). */
  ver: string;
  hash: string;
  /** Length of the uncompressed canonical bytes; bounds decompression. */
  size: number;
  iat: number;
  cp: string;
  /**
   * Expiry, Unix seconds (absent from snapshots of older CPs). A DP holding an expired snapshot
   * keeps serving it and raises an alert (log, metric, status); it never refuses one for it.
   */
  exp?: number;
}

/** The wire/disk form; mirrors the `Snapshot` proto message. */
export interface SignedSnapshot {
  version: bigint;
  hash: string;
  jws: string;
  config: Uint8Array;
  compression: 'gzip' | 'identity';
  uncompressedSize: number;
}

/** A snapshot whose signature, size and hash verified; its bytes are not parsed yet. */
export interface VerifiedSnapshotBytes {
  version: bigint;
  hash: string;
  claims: SnapshotClaims;
  kid: string;
  /** The canonical bytes, decompressed. */
  bytes: Buffer;
}

export interface VerifiedSnapshot extends VerifiedSnapshotBytes {
  config: GatehouseConfig;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function signSnapshot(opts: {
  config: GatehouseConfig;
  version: bigint;
  cpId: string;
  key: SigningKey;
  issuedAt?: number;
}): Promise<SignedSnapshot> {
  const { bytes, hash } = encodeConfig(opts.config);
  return signEncodedSnapshot({ ...opts, bytes, hash });
}

/** Signs bytes already encoded with encodeConfig (lets the caller reuse them). */
export async function signEncodedSnapshot(opts: {
  bytes: Uint8Array;
  hash: string;
  version: bigint;
  cpId: string;
  key: SigningKey;
  issuedAt?: number;
}): Promise<SignedSnapshot> {
  const iat = opts.issuedAt ?? Math.floor(Date.now() / 1000);
  const claims: SnapshotClaims = {
    ver: opts.version.toString(),
    hash: opts.hash,
    size: opts.bytes.length,
    iat,
    cp: opts.cpId,
    ...expiryClaim(opts.key, iat),
  };
  const jws = await new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader(signingHeader(opts.key, SNAPSHOT_TYP))
    .sign(opts.key.key);
  return {
    version: opts.version,
    hash: opts.hash,
    jws,
    config: gzipSync(opts.bytes, { level: 6 }),
    compression: 'gzip',
    uncompressedSize: opts.bytes.length,
  };
}

/** The `exp` claim a JWS signed with `key` at `iat` carries (none when the key sets no TTL). */
export function expiryClaim(key: SigningKey, iat: number): { exp?: number } {
  return key.snapshotTtlSeconds !== undefined && key.snapshotTtlSeconds > 0
    ? { exp: iat + key.snapshotTtlSeconds }
    : {};
}

/**
 * Upper bound on a snapshot's uncompressed size. Decompression is also bounded by the signed
 * `size` claim, so a replayed signature with a swapped-in gzip bomb inflates no further than that.
 */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

export async function verifySnapshot(
  snap: SignedSnapshot,
  trusted: TrustedKeys,
  opts: { currentVersion?: bigint | null; allowSameVersion?: boolean } = {},
): Promise<VerifiedSnapshot> {
  const verified = await verifySnapshotBytes(snap, trusted, opts);
  return { ...verified, config: parseSnapshotConfig(verified.bytes.toString('utf8')) };
}

/**
 * verifySnapshot without the parse: signature, claims, version, size and hash. Lets a caller
 * hand the verified bytes on (to the workers) before it parses them ({@link parseSnapshotConfig}).
 */
export async function verifySnapshotBytes(
  snap: SignedSnapshot,
  trusted: TrustedKeys,
  opts: { currentVersion?: bigint | null; allowSameVersion?: boolean } = {},
): Promise<VerifiedSnapshotBytes> {
  const { kid, payload } = await verifyCompactJws(snap.jws, trusted, 'snapshot');
  const claims = parseSnapshotClaims(payload, 'snapshot');
  const version = BigInt(claims.ver);
  if (version !== snap.version || claims.hash !== snap.hash) {
    throw SnapshotErrors.hashMismatch('snapshot version/hash differ from the signed claims');
  }
  if (opts.currentVersion !== undefined && opts.currentVersion !== null) {
    const stale = opts.allowSameVersion ? version < opts.currentVersion : version <= opts.currentVersion;
    if (stale) {
      throw SnapshotErrors.staleVersion(
        `snapshot version ${version} is not newer than ${opts.currentVersion}`,
      );
    }
  }

  const bytes = inflateBounded(snap.config, snap.compression, claims.size, 'snapshot config bytes');
  if (bytes.length !== claims.size) {
    throw SnapshotErrors.hashMismatch('snapshot config size does not match the signed size');
  }
  const hash = sha256Hex(bytes);
  if (hash !== claims.hash)
    throw SnapshotErrors.hashMismatch('snapshot config bytes do not match the signed hash');
  return { version, hash, claims, kid, bytes };
}

/**
 * The claims of a verified payload that a snapshot's (and a delta's) JWS carry about the full
 * config: version, hash, size (bounded by MAX_SNAPSHOT_BYTES), issued-at, CP id.
 */
export function parseSnapshotClaims(payload: Uint8Array, what: string): SnapshotClaims {
  let claims: SnapshotClaims;
  try {
    claims = JSON.parse(decoder.decode(payload)) as SnapshotClaims;
  } catch {
    throw SnapshotErrors.malformed(`${what} claims are not JSON`);
  }
  if (
    claims === null ||
    typeof claims !== 'object' ||
    typeof claims.ver !== 'string' ||
    !/^\d+$/.test(claims.ver) ||
    typeof claims.hash !== 'string' ||
    !Number.isSafeInteger(claims.size) ||
    claims.size < 0 ||
    !Number.isSafeInteger(claims.iat) ||
    typeof claims.cp !== 'string'
  ) {
    throw SnapshotErrors.malformed(`${what} claims lack version, hash, size, iat or cp`);
  }
  if (claims.exp !== undefined && !Number.isSafeInteger(claims.exp)) {
    throw SnapshotErrors.malformed(`${what} claim exp is not a whole number of seconds`);
  }
  if (claims.size > MAX_SNAPSHOT_BYTES) {
    throw SnapshotErrors.malformed(
      `${what} of ${claims.size} bytes exceeds the ${MAX_SNAPSHOT_BYTES}-byte limit`,
    );
  }
  return claims;
}

/**
 * Checks a compact JWS's header (EdDSA, a kid), finds the trusted key by kid and verifies the
 * signature; returns the kid and the payload (not parsed). `what` names the message in errors.
 * Shared by snapshots and deltas (delta.ts).
 */
export async function verifyCompactJws(
  jws: string,
  trusted: TrustedKeys,
  what: string,
  typ?: string,
): Promise<{ kid: string; payload: Uint8Array }> {
  let kid: string;
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(jws);
    if (header.alg !== SNAPSHOT_ALG)
      throw SnapshotErrors.badSignature(`unexpected algorithm ${String(header.alg)}`);
    if (typ !== undefined && header.typ !== typ)
      throw SnapshotErrors.malformed(`${what} signature is not of type ${typ}`);
    if (typeof header.kid !== 'string') throw SnapshotErrors.unknownKey(`${what} signature has no kid`);
    if (header.crit !== undefined) throw SnapshotErrors.malformed(`${what} signature has a "crit" header`);
    kid = header.kid;
  } catch (e) {
    if (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('GH_ERR'))
      throw e;
    throw SnapshotErrors.malformed(`${what} signature is not a compact JWS`);
  }
  let key: KeyObjectLike | undefined;
  if (isResolver(trusted)) key = await trusted.resolve(header, kid, what);
  else {
    key = trusted.get(kid);
    if (!key) throw SnapshotErrors.unknownKey(`${what} signed with unknown key "${kid}"`);
  }
  try {
    const { payload } = await compactVerify(jws, key, { algorithms: [SNAPSHOT_ALG] });
    return { kid, payload };
  } catch (e) {
    if (e instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw SnapshotErrors.badSignature(`${what} signature does not verify`);
    }
    throw SnapshotErrors.badSignature(`${what} signature rejected: ${(e as Error).message}`);
  }
}

function isResolver(t: TrustedKeys): t is KeyResolver {
  return typeof (t as Partial<KeyResolver>).resolve === 'function';
}

/**
 * Decompresses bytes whose uncompressed length was signed (`size`): never inflates past it (a
 * gzip bomb behind a replayed signature stops there). Throws GH_ERR_SNAPSHOT_*.
 */
export function inflateBounded(data: Uint8Array, compression: string, size: number, what: string): Buffer {
  if (compression === 'gzip') {
    try {
      // +1 so output longer than the signed size is detected rather than silently truncated.
      // One output chunk of that size: no 16 KiB chunks copied together at the end.
      return gunzipSync(data, {
        maxOutputLength: size + 1,
        chunkSize: Math.max(size + 1, zlibConstants.Z_MIN_CHUNK),
      });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw SnapshotErrors.hashMismatch(`${what} inflate beyond the signed size`);
      }
      throw SnapshotErrors.malformed(`${what} do not decompress`);
    }
  }
  if (compression === 'identity') return Buffer.from(data);
  throw SnapshotErrors.malformed(`unsupported ${what.split(' ')[0]} compression "${String(compression)}"`);
}

export { parseSnapshotConfig };
