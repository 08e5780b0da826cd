/**
 * Snapshot signing keys (Ed25519). The CP holds one private key; every DP is given, at start,
 * the set of public keys it trusts (a JWKS), each identified by `kid`, so keys rotate without
 * downtime: add the new public key to the DPs, then switch the CP.
 *
 * Files (written by `gatehouse keys generate`):
 *   <dir>/snapshot-signing.key.json   private JWK (kty OKP, crv Ed25519, d, x, kid) - CP only, mode 0600
 *   <dir>/snapshot-signing.jwks.json  { "keys": [public JWK] } - give to the DPs
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CompactJWSHeaderParameters,
  type JWK,
} from 'jose';
import { ConfigErrors } from '../errors.js';

export const PRIVATE_KEY_FILE = 'snapshot-signing.key.json';
export const PUBLIC_KEYS_FILE = 'snapshot-signing.jwks.json';
export const SNAPSHOT_ALG = 'EdDSA';

export type KeyObjectLike = Awaited<ReturnType<typeof importJWK>>;

export interface SigningKey {
  kid: string;
  key: KeyObjectLike;
  /**
   * Root-key mode (root-keys.ts): the root's certificate of this key and the newest revocation
   * list, carried in every JWS header this key signs so a DP can check the key without being
   * given it. Absent: the plain mode (DPs trust the key's kid from their JWKS).
   */
  certificate?: string;
  revocations?: string;
  /** Snapshots and deltas signed with this key carry `exp` this many seconds after `iat` (absent: no `exp`). */
  snapshotTtlSeconds?: number;
}

/** JWS header parameters of root-key mode: the signing key's certificate and the revocation list. */
export const CERTIFICATE_HEADER = 'gh_cert';
export const REVOCATIONS_HEADER = 'gh_rev';

/** The protected header a snapshot or delta JWS signed with `key` carries. */
export function signingHeader(key: SigningKey, typ: string): CompactJWSHeaderParameters {
  return {
    alg: SNAPSHOT_ALG,
    kid: key.kid,
    typ,
    ...(key.certificate !== undefined ? { [CERTIFICATE_HEADER]: key.certificate } : {}),
    ...(key.revocations !== undefined ? { [REVOCATIONS_HEADER]: key.revocations } : {}),
  };
}

/**
 * Finds the key a JWS must verify under from its protected header (root-key mode: the
 * certificate carried there, checked against the root); throws GH_ERR_SNAPSHOT_*.
 */
export interface KeyResolver {
  resolve(header: Readonly<Record<string, unknown>>, kid: string, what: string): Promise<KeyObjectLike>;
}

/** kid -> public key (the plain mode, keys given at start), or a root-key resolver. */
export type TrustedKeys = ReadonlyMap<string, KeyObjectLike> | KeyResolver;

export interface GeneratedKeyPair {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/**
 * A key id from the key's JWK thumbprint (RFC 7638, base64url) and a random suffix, in lower-case
 * hex: 16 digits of the thumbprint, '-', 4 random digits. Hex, so a kid never starts with '-'
 * (a base64url thumbprint does 1 time in 64, and `gatehouse keys revoke <kid>` then read it as
 * an option).
 */
export function kidOf(thumbprint: string, random: Buffer): string {
  return `${Buffer.from(thumbprint, 'base64url').toString('hex').slice(0, 16)}-${random.toString('hex')}`;
}

export async function generateSigningKeyPair(): Promise<GeneratedKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(SNAPSHOT_ALG, {
    crv: 'Ed25519',
    extractable: true,
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = kidOf(await calculateJwkThumbprint(publicJwk), randomBytes(2));
  const pub: JWK = { ...publicJwk, kid, alg: SNAPSHOT_ALG, use: 'sig' };
  const priv: JWK = { ...(await exportJWK(privateKey)), kid, alg: SNAPSHOT_ALG, use: 'sig' };
  return { kid, privateJwk: priv, publicJwk: pub };
}

async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, file);
}

/** Writes a new key pair into `dir`; returns the file paths. Refuses to overwrite unless `force`. */
export async function writeSigningKeyPair(
  dir: string,
  opts: { force?: boolean } = {},
): Promise<{ kid: string; privateKeyFile: string; publicKeysFile: string }> {
  const privateKeyFile = join(dir, PRIVATE_KEY_FILE);
  const publicKeysFile = join(dir, PUBLIC_KEYS_FILE);
  if (!opts.force && (await exists(privateKeyFile))) {
    throw ConfigErrors.invalidSetting(`${privateKeyFile} exists; pass --force to replace it`);
  }
  const pair = await generateSigningKeyPair();
  await writeAtomic(privateKeyFile, JSON.stringify(pair.privateJwk, null, 2) + '\n', 0o600);
  await writeAtomic(publicKeysFile, JSON.stringify({ keys: [pair.publicJwk] }, null, 2) + '\n', 0o644);
  return { kid: pair.kid, privateKeyFile, publicKeysFile };
}

async function exists(file: string): Promise<boolean> {
  try {
    await readFile(file);
    return true;
  } catch {
    return false;
  }
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw ConfigErrors.missingKey(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw ConfigErrors.missingKey(`${what} ${file} is not valid JSON`);
  }
}

function checkEd25519(jwk: JWK, file: string, needPrivate: boolean): string {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw ConfigErrors.missingKey(`${file}: key must be an Ed25519 JWK (kty OKP, crv Ed25519)`);
  }
  if (needPrivate && typeof jwk.d !== 'string')
    throw ConfigErrors.missingKey(`${file}: no private part ("d")`);
  if (!needPrivate && jwk.d !== undefined) {
    throw ConfigErrors.missingKey(`${file}: contains a private key; give data planes public keys only`);
  }
  if (typeof jwk.kid !== 'string' || jwk.kid === '')
    throw ConfigErrors.missingKey(`${file}: key has no "kid"`);
  return jwk.kid;
}

export async function loadSigningKey(file: string): Promise<SigningKey> {
  const jwk = (await readJson(file, 'signing key')) as JWK;
  const kid = checkEd25519(jwk, file, true);
  return { kid, key: await importJWK(jwk, SNAPSHOT_ALG) };
}

/** Loads one or more JWKS files (or single public JWK files) into a kid -> key map. */
export async function loadTrustedKeys(files: readonly string[]): Promise<ReadonlyMap<string, KeyObjectLike>> {
  const keys = new Map<string, KeyObjectLike>();
  const xByKid = new Map<string, string>();
  for (const file of files) {
    const doc = (await readJson(file, 'trusted keys')) as { keys?: JWK[] } & JWK;
    const list = Array.isArray(doc.keys) ? doc.keys : [doc];
    if (list.length === 0) throw ConfigErrors.missingKey(`${file}: no keys`);
    for (const jwk of list) {
      const kid = checkEd25519(jwk, file, false);
      const seen = xByKid.get(kid);
      if (seen !== undefined && seen !== jwk.x) {
        throw ConfigErrors.missingKey(`${file}: kid "${kid}" is already trusted with a different key`);
      }
      xByKid.set(kid, jwk.x as string);
      keys.set(kid, await importJWK(jwk, SNAPSHOT_ALG));
    }
  }
  if (keys.size === 0) throw ConfigErrors.missingKey('no trusted snapshot keys were given');
  return keys;
}
