/**
 * The CP's root-certified signing keys on disk (docs/security.md, "Signing keys"). In a keys
 * folder (default `<data-dir>/keys`):
 *
 *   signing-keys/<kid>.key.json   a signing key's private JWK (0600)
 *   signing-keys/<kid>.cert.jws   its certificate by the root key (written after the key: a key
 *                                 without a certificate is not loaded)
 *   snapshot-revocations.jws      the newest revocation list by the root key
 *   snapshot-root.pub.json        the root public key (the CP checks certificates with it)
 *   snapshot-root.key.json        the root PRIVATE key: only in dev mode; elsewhere it stays offline
 *
 * `gatehouse keys rotate` and `gatehouse keys revoke` write here with the root private key; a
 * running CP reads the folder again every few seconds (keyring.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importJWK, type JWK } from 'jose';
import { ConfigErrors } from '@gatehouse/shared/errors';
import {
  generateSigningKeyPair,
  loadSigningKey,
  loadTrustedKeys,
  SNAPSHOT_ALG,
  type KeyObjectLike,
  type SigningKey,
} from '@gatehouse/shared/snapshot/keys';
import {
  issueCertificate,
  issueRevocationList,
  publicJwkOf,
  ROOT_PUBLIC_KEY_FILE,
  verifyCertificate,
  verifyRevocationList,
  type CertificateClaims,
  type RevocationClaims,
} from '@gatehouse/shared/snapshot/root-keys';
import { writeFileAtomic } from '../files.js';

export const SIGNING_KEYS_DIR = 'signing-keys';
export const REVOCATIONS_FILE = 'snapshot-revocations.jws';
/** A signing key's certificate is valid this long by default (`gatehouse keys rotate --days`). */
export const DEFAULT_SIGNING_KEY_DAYS = 90;

/** One certified signing key read from the folder. */
export interface StoredSigningKey {
  kid: string;
  key: KeyObjectLike;
  certificate: string;
  claims: CertificateClaims;
}

export interface StoredKeySet {
  keys: StoredSigningKey[];
  revocations: { jws: string; claims: RevocationClaims } | null;
}

const readText = (file: string) => readFile(file, 'utf8').catch(() => null);

/** True when the folder holds root-certified signing keys (root-key mode). */
export async function hasCertifiedKeys(dir: string): Promise<boolean> {
  const names = await readdir(join(dir, SIGNING_KEYS_DIR)).catch(() => [] as string[]);
  return names.some((n) => n.endsWith('.cert.jws'));
}

/** The root public key(s) a CP folder holds (null when none). */
async function rootsOf(dir: string): Promise<ReadonlyMap<string, KeyObjectLike> | null> {
  const file = join(dir, ROOT_PUBLIC_KEY_FILE);
  if ((await readText(file)) === null) return null;
  return loadTrustedKeys([file]);
}

/**
 * Reads every certified signing key and the revocation list. A certificate that does not verify
 * under the folder's root public key (when present) fails the read: the CP must not sign with a
 * key every DP would refuse.
 */
export async function readKeySet(dir: string): Promise<StoredKeySet> {
  const roots = await rootsOf(dir);
  const folder = join(dir, SIGNING_KEYS_DIR);
  const names = (await readdir(folder).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.cert.jws'))
    .sort();
  const keys: StoredSigningKey[] = [];
  for (const name of names) {
    const kid = name.slice(0, -'.cert.jws'.length);
    const certificate = (await readText(join(folder, name)))?.trim();
    if (!certificate) continue;
    const signing = await loadSigningKey(join(folder, `${kid}.key.json`));
    let claims: CertificateClaims;
    if (roots) {
      claims = (
        await verifyCertificate(certificate, roots).catch((e: Error) => {
          throw ConfigErrors.missingKey(`${join(folder, name)}: ${e.message}`);
        })
      ).claims;
    } else {
      claims = decodeClaims(certificate) as CertificateClaims;
    }
    if (claims.kid !== signing.kid || signing.kid !== kid) {
      throw ConfigErrors.missingKey(`${join(folder, name)}: certifies key "${claims.kid}", not "${kid}"`);
    }
    keys.push({ kid, key: signing.key, certificate, claims });
  }
  const revText = (await readText(join(dir, REVOCATIONS_FILE)))?.trim();
  let revocations: StoredKeySet['revocations'] = null;
  if (revText) {
    const claims = roots
      ? await verifyRevocationList(revText, roots).catch((e: Error) => {
          throw ConfigErrors.missingKey(`${join(dir, REVOCATIONS_FILE)}: ${e.message}`);
        })
      : (decodeClaims(revText) as RevocationClaims);
    revocations = { jws: revText, claims };
  }
  return { keys, revocations };
}

function decodeClaims(jws: string): unknown {
  try {
    return JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    throw ConfigErrors.missingKey('a certificate or revocation list in the keys folder is not a JWS');
  }
}

/** The root private key (the file `gatehouse keys root` wrote) and its public JWK. */
async function loadRoot(
  rootKeyFile: string,
): Promise<{ root: SigningKey; publicJwk: JWK; publicKey: KeyObjectLike }> {
  const root = await loadSigningKey(rootKeyFile);
  const jwk = JSON.parse(await readFile(rootKeyFile, 'utf8')) as JWK;
  const publicJwk = { ...publicJwkOf(jwk), kid: root.kid, alg: SNAPSHOT_ALG, use: 'sig' };
  return { root, publicJwk, publicKey: await importJWK(publicJwk, SNAPSHOT_ALG) };
}

/**
 * `gatehouse keys rotate`: a new signing key certified by the root for `days`, written into the
 * CP's keys folder (with the root public key, if missing). The CP signs with it on its next read.
 */
export async function rotateSigningKey(
  dir: string,
  rootKeyFile: string,
  opts: { days?: number; now?: number } = {},
): Promise<{ kid: string; keyFile: string; certificateFile: string; claims: CertificateClaims }> {
  const days = opts.days ?? DEFAULT_SIGNING_KEY_DAYS;
  if (!Number.isSafeInteger(days) || days < 1)
    throw ConfigErrors.invalidSetting('--days must be a whole number of days, at least 1');
  const { root, publicJwk } = await loadRoot(rootKeyFile);
  const rootPub = join(dir, ROOT_PUBLIC_KEY_FILE);
  const existingRoots = await rootsOf(dir);
  if (existingRoots && !existingRoots.has(root.kid)) {
    throw ConfigErrors.missingKey(
      `${rootKeyFile} is not the root key of ${dir} (${rootPub} names another): its certificates would be refused`,
    );
  }
  if (!existingRoots)
    await writeFileAtomic(rootPub, JSON.stringify({ keys: [publicJwk] }, null, 2) + '\n', 0o644);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const pair = await generateSigningKeyPair();
  const certificate = await issueCertificate(root, pair.publicJwk, {
    // A minute back: a DP whose clock is a little behind accepts it at once.
    notBefore: now - 60,
    expiresAt: now + days * 86_400,
    issuedAt: now,
  });
  const folder = join(dir, SIGNING_KEYS_DIR);
  const keyFile = join(folder, `${pair.kid}.key.json`);
  const certificateFile = join(folder, `${pair.kid}.cert.jws`);
  await writeFileAtomic(keyFile, JSON.stringify(pair.privateJwk, null, 2) + '\n', 0o600);
  await writeFileAtomic(certificateFile, certificate + '\n', 0o644);
  const claims = decodeClaims(certificate) as CertificateClaims;
  return { kid: pair.kid, keyFile, certificateFile, claims };
}

/**
 * `gatehouse keys revoke <kid>`: a new revocation list (the held one plus `kid`, version + 1)
 * signed by the root, written into the keys folder. Refuses to revoke the last key the CP could
 * sign with (rotate first), unless `force`.
 */
export async function revokeSigningKey(
  dir: string,
  rootKeyFile: string,
  kid: string,
  opts: { force?: boolean; now?: number } = {},
): Promise<{ file: string; claims: RevocationClaims }> {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(kid)) throw ConfigErrors.invalidSetting(`"${kid}" is not a key id`);
  const { root, publicKey } = await loadRoot(rootKeyFile);
  const roots = new Map([[root.kid, publicKey]]);
  const set = await readKeySet(dir);
  const file = join(dir, REVOCATIONS_FILE);
  const held = set.revocations ? await verifyRevocationList(set.revocations.jws, roots) : null;
  if (held?.revoked.includes(kid)) throw ConfigErrors.invalidSetting(`key "${kid}" is already revoked`);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const revoked = new Set([...(held?.revoked ?? []), kid]);
  const usable = set.keys.filter(
    (k) => !revoked.has(k.kid) && k.claims.not_before <= now + 60 && k.claims.expires_at > now,
  );
  if (usable.length === 0 && set.keys.length > 0 && !opts.force) {
    throw ConfigErrors.invalidSetting(
      `revoking "${kid}" leaves the control plane no key to sign with: run 'gatehouse keys rotate' first (or pass --force)`,
    );
  }
  const jws = await issueRevocationList(root, {
    revoked: [...revoked],
    version: (held?.version ?? 0) + 1,
    issuedAt: now,
  });
  await writeFileAtomic(file, jws + '\n', 0o644);
  return { file, claims: await verifyRevocationList(jws, roots) };
}
