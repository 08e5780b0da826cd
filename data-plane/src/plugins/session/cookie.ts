/**
 * The session cookie's value: session data sealed with AES-256-GCM under a key derived from the
 * plugin's `secret`, so every data plane given the same secret (through the signed snapshot)
 * opens a cookie any other one issued, and a cookie that was changed, cut, or made with another
 * secret or for another cookie name does not open.
 *
 * Format (v1): `base64url( 0x01 | iv (12 random bytes) | ciphertext | GCM tag (16 bytes) )`,
 * AAD `gatehouse-session v1 <cookie name>`. The key is HKDF-SHA-256(secret, salt
 * `gatehouse-session`, info `aes-256-gcm key v1`), 32 bytes, derived once per snapshot. The
 * plaintext is JSON (`SessionData`): the session id, the creation time and the rolling / idling
 * offsets (lua-resty-session's timing model), audience, subject, and who was authenticated.
 *
 * `unseal` never throws: anything that is not a well-formed cookie sealed under this key comes
 * back as null with a reason for the debug log.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The longest cookie value read or written: one cookie of a browser's 4096-byte budget. */
export const MAX_COOKIE_VALUE = 4000;
const SID_BYTES = 16;

export interface SessionData {
  /** Session id (base64url of 16 random bytes); new on every save, kept on a touch. */
  readonly sid: string;
  /** Creation time, Unix seconds. */
  readonly ct: number;
  /** Seconds from creation to the last save (rolling renewal). */
  readonly ro: number;
  /** Seconds from the last save to the last touch (idling renewal). */
  readonly io: number;
  readonly aud: string;
  /** The consumer's username, custom_id or id (lua-resty-session's subject). */
  readonly sub: string | null;
  /** Consumer id. */
  readonly c: string;
  /** Credential id (the consumer id when the credential had none). */
  readonly k: string;
  /** Credential type (the plugin that authenticated it) and X-Credential-Identifier. */
  readonly ty: string;
  readonly i: string | null;
  /** `authenticated_groups` of the request that opened the session, or null. */
  readonly g: readonly string[] | null;
}

/** The 32-byte AES key of `secret`. */
export function deriveKey(secret: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'gatehouse-session', 'aes-256-gcm key v1', 32),
  );
}

const aad = (cookieName: string): Buffer =>
  Buffer.from(`gatehouse-session v${VERSION} ${cookieName}`, 'utf8');

export const newSessionId = (): string => randomBytes(SID_BYTES).toString('base64url');

/** The cookie value of `data`, or null when it would be longer than MAX_COOKIE_VALUE. */
export function seal(key: Buffer, cookieName: string, data: SessionData): string | null {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(cookieName));
  const body = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
  const value = Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()]).toString('base64url');
  return value.length > MAX_COOKIE_VALUE ? null : value;
}

export type Unsealed = { data: SessionData } | { data: null; reason: string };

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The session data of a cookie value, or null with the reason it is not one. Never throws. */
export function unseal(key: Buffer, cookieName: string, value: string): Unsealed {
  if (value.length > MAX_COOKIE_VALUE) return { data: null, reason: 'cookie too long' };
  if (!BASE64URL.test(value)) return { data: null, reason: 'not base64url' };
  const raw = Buffer.from(value, 'base64url');
  if (raw.length < 1 + IV_BYTES + TAG_BYTES + 2 || raw[0] !== VERSION)
    return { data: null, reason: 'not a session cookie' };
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(1, 1 + IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(cookieName));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return { data: null, reason: 'cookie does not authenticate' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain);
  } catch {
    return { data: null, reason: 'session data is not JSON' };
  }
  return isSessionData(parsed) ? { data: parsed } : { data: null, reason: 'session data malformed' };
}

const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNullableString = (v: unknown): boolean => v === null || typeof v === 'string';

function isSessionData(v: unknown): v is SessionData {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const d = v as Record<string, unknown>;
  return (
    typeof d.sid === 'string' &&
    isSeconds(d.ct) &&
    isSeconds(d.ro) &&
    isSeconds(d.io) &&
    typeof d.aud === 'string' &&
    isNullableString(d.sub) &&
    typeof d.c === 'string' &&
    typeof d.k === 'string' &&
    typeof d.ty === 'string' &&
    isNullableString(d.i) &&
    (d.g === null || (Array.isArray(d.g) && d.g.every((g) => typeof g === 'string')))
  );
}

/** The timeouts a cookie is checked against (seconds; 0 = none), lua-resty-session's names. */
export interface Timeouts {
  readonly idling: number;
  readonly rolling: number;
  readonly absolute: number;
}

/** How far in the future a creation time may be (clock skew between data planes), seconds. */
const MAX_SKEW = 300;

/**
 * Why `data` is no longer valid at `now` (Unix seconds), or null when it is: the absolute
 * timeout from creation, the rolling timeout from the last save, the idling timeout from the
 * last touch (lua-resty-session's `open`).
 */
export function expired(data: SessionData, now: number, t: Timeouts): string | null {
  if (data.ct > now + MAX_SKEW) return 'session creation time in the future';
  const absolute = now - data.ct;
  if (t.absolute !== 0 && absolute > t.absolute) return 'session absolute timeout exceeded';
  const rolling = absolute - data.ro;
  if (t.rolling !== 0 && rolling > t.rolling) return 'session rolling timeout exceeded';
  if (t.idling !== 0 && rolling - data.io > t.idling) return 'session idling timeout exceeded';
  return null;
}
