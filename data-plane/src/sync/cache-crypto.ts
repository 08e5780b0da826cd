/**
 * Encryption of the DP's snapshot cache at rest (`GATEHOUSE_CACHE_KEY`): AES-256-GCM.
 *
 * Only the file on disk is encrypted; what is inside is the signed snapshot exactly as the CP sent
 * it, verified again after decryption. File layout: the 8-byte magic `GHCACHE1`, a 12-byte random
 * nonce, the ciphertext, the 16-byte tag; the magic is the additional authenticated data. A file
 * without the magic is a plain (unencrypted) cache.
 *
 * Key format: 32 bytes, written as 64 hex digits or as base64 / base64url (43–44 characters),
 * e.g. `openssl rand -base64 32` or `openssl rand -hex 32`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const CACHE_MAGIC = Buffer.from('GHCACHE1', 'latin1');
const NONCE = 12;
const TAG = 16;
export const CACHE_KEY_BYTES = 32;

export class CacheKeyFormatError extends Error {}

/** The 32-byte key of its text form; throws CacheKeyFormatError saying what is wrong. */
export function parseCacheKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) {
    const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === CACHE_KEY_BYTES) return key;
  }
  throw new CacheKeyFormatError(
    `must be ${CACHE_KEY_BYTES} bytes written as 64 hex digits or as base64 (e.g. \`openssl rand -base64 32\`); got ${t.length} characters`,
  );
}

export function isEncryptedCache(bytes: Uint8Array): boolean {
  return bytes.length >= CACHE_MAGIC.length && CACHE_MAGIC.equals(bytes.subarray(0, CACHE_MAGIC.length));
}

export function sealCache(key: Buffer, plain: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(CACHE_MAGIC);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([CACHE_MAGIC, nonce, body, cipher.getAuthTag()]);
}

/** The plain bytes of a sealed file, or null when the key is wrong or the file was altered. */
export function openCache(key: Buffer, sealed: Uint8Array): Buffer | null {
  const min = CACHE_MAGIC.length + NONCE + TAG;
  if (!isEncryptedCache(sealed) || sealed.length < min) return null;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const nonce = buf.subarray(CACHE_MAGIC.length, CACHE_MAGIC.length + NONCE);
  const body = buf.subarray(CACHE_MAGIC.length + NONCE, buf.length - TAG);
  const tag = buf.subarray(buf.length - TAG);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(CACHE_MAGIC);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}
