/**
 * Credential secrets in a snapshot as keyed digests, never in clear.
 *
 * The control plane keeps key-auth keys as Kong does (the Admin API shows them); what it sends
 * to data planes — and so what a DP keeps in its disk cache — carries, for each key-auth
 * credential, `key = base64(HMAC-SHA-256(digestKey, clear key))` and, once per config,
 * `_credential_digests.key_auth = { algorithm: 'hmac-sha256', key: base64(digestKey) }`. A DP
 * digests the key a client presents with the same key and looks the digest up in a map: one
 * HMAC and one map lookup per request, as before.
 *
 * The digest key travels with the digests, so it is a salt, not a secret: it stops precomputed
 * tables and makes equal keys of two clusters differ, while a weak key (a short word) can still
 * be guessed offline by whoever holds the snapshot. Encrypting the DP cache
 * (`GATEHOUSE_CACHE_KEY`) is what keeps the digests and the other secrets of the snapshot (HMAC and
 * JWT secrets, certificate keys) from a reader of the DP's disk.
 *
 * The digest key is derived from the config (the sorted ids of its key-auth credentials), so
 * every CP replica, a CP whose signing key was rotated, and a DB-less DP given the same config all
 * produce the same bytes and hash. Basic-auth passwords need nothing here: the CP stores, and so
 * sends, only their scrypt hashes. A key that is a vault reference (`{vault://…}`) is sent as the
 * reference: the DP resolves it and digests the value (data-plane/src/vaults/resolve-config.ts).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { isReference } from '../vaults/reference.js';
import type { CredentialDigests, DigestedConfig, GatehouseConfig } from '../config/model.js';

export const KEY_AUTH_DIGEST_ALGORITHM = 'hmac-sha256';

/** The digest key of a config's key-auth credentials (32 bytes). */
export function deriveKeyAuthDigestKey(config: GatehouseConfig): Buffer {
  const h = createHash('sha256').update('gatehouse key-auth digest key v1\n');
  for (const id of config.keyauth_credentials.map((c) => c.id).sort()) h.update(id).update('\n');
  return h.digest();
}

/**
 * HMAC-SHA-256 under `key`, base64: the function a DP runs on every key a client presents.
 * (A Hmac object per call measured cheaper here than RFC 2104 over one-shot hashes with
 * precomputed pads: test/bench/key-auth-digest.mjs.)
 */
export function keyAuthDigester(key: Buffer): (clear: string) => string {
  return (clear) => createHmac('sha256', key).update(clear).digest('base64');
}

/**
 * The config as data planes receive it: key-auth keys replaced by their keyed digests and the
 * digest parameters in `_credential_digests`. A config that already carries digests is returned
 * as it is. The input is not modified.
 */
export function withCredentialDigests(config: GatehouseConfig): DigestedConfig {
  if ((config as DigestedConfig)._credential_digests !== undefined) return config;
  const key = deriveKeyAuthDigestKey(config);
  const digestOf = keyAuthDigester(key);
  const digests: CredentialDigests = {
    key_auth: { algorithm: KEY_AUTH_DIGEST_ALGORITHM, key: key.toString('base64') },
  };
  return {
    ...config,
    // A vault reference travels as it is: the DP resolves it and digests the value it reads.
    keyauth_credentials: config.keyauth_credentials.map((c) =>
      isReference(c.key) ? c : { ...c, key: digestOf(c.key) },
    ),
    _credential_digests: digests,
  };
}

/**
 * How a DP turns a presented key into the index key of `config`'s key-auth credentials:
 * `indexKey(c)` for each stored credential, `digest(presented)` per request. A config without
 * `_credential_digests` (from an older CP) holds clear keys: both digest with a key made here.
 * Throws on digest parameters it does not know (the config is then refused, not served wrong).
 */
export function keyAuthLookup(config: GatehouseConfig): {
  indexKey: (stored: string) => string;
  digest: (presented: string) => string;
} {
  const d = (config as DigestedConfig)._credential_digests?.key_auth;
  if (d === undefined) {
    const digest = keyAuthDigester(randomBytes(32));
    return { indexKey: digest, digest };
  }
  if (d.algorithm !== KEY_AUTH_DIGEST_ALGORITHM || typeof d.key !== 'string') {
    throw new Error(`unknown key-auth digest algorithm "${String(d.algorithm)}"`);
  }
  const key = Buffer.from(d.key, 'base64');
  if (key.length < 16) throw new Error('key-auth digest key is shorter than 16 bytes');
  return { indexKey: (stored) => stored, digest: keyAuthDigester(key) };
}
