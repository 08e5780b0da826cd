import { createPublicKey, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type {
  Acl,
  BasicAuthCredential,
  HmacAuthCredential,
  JwtSecret,
  KeyAuthCredential,
} from '../config/model.js';
import { randomKey, stripReadOnly } from './common.js';
import * as f from './fields.js';
import * as k from './kong-fields.js';
import { emptyToNull, throwIfErrors, validateFields, type Specs } from './validate.js';

/** A consumer reference as a client writes it: by id, or by username/custom_id (resolved by the store). */
export type ConsumerReference = { id: string } | { name: string };

type CredentialInput<T> = Omit<T, 'id' | 'created_at' | 'consumer'> & {
  id?: string;
  consumer: ConsumerReference;
};
export type KeyAuthInput = CredentialInput<KeyAuthCredential>;
export type BasicAuthInput = CredentialInput<BasicAuthCredential>;
export type JwtSecretInput = CredentialInput<JwtSecret>;
export type HmacAuthInput = CredentialInput<HmacAuthCredential>;
export type AclInput = CredentialInput<Acl>;

const base: Specs = {
  id: { kind: 'string', nullable: true, validate: f.uuid },
  created_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  consumer: { kind: 'foreign', nullable: false, validate: f.foreignKey({ byName: true }) },
  tags: { kind: 'set', nullable: true, default: null, validate: f.set(f.tag) },
};

function run<T>(input: unknown, specs: Specs, stored: object | undefined): T & { id?: string } {
  const { values, errors } = validateFields(input, specs, {
    base: stored ? stripReadOnly(stored) : undefined,
  });
  throwIfErrors(errors);
  const out = { ...values } as Record<string, unknown>;
  if (!out.id) delete out.id;
  if ('tags' in out) out.tags = emptyToNull(out.tags as string[] | null);
  return out as T & { id?: string };
}

export const KEYAUTH_FIELDS: Specs = {
  ...base,
  key: { kind: 'string', nullable: true, validate: f.string },
  ttl: { kind: 'integer', nullable: true, default: null, validate: k.seconds },
};

/** key-auth credential: `key` generated (32 hex characters) when omitted; `ttl` seconds or null. */
export function validateKeyAuthCredential(
  input: unknown,
  options: { base?: Partial<KeyAuthCredential> } = {},
): KeyAuthInput {
  const v = run<KeyAuthInput>(input, KEYAUTH_FIELDS, options.base);
  if (!v.key) v.key = randomKey();
  if (v.ttl === 0) v.ttl = null;
  return v;
}

/** scrypt cost parameters for basic-auth passwords. */
export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1, keylen: 32 } as const;
const HASH_RE = /^\$scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** Hashes a basic-auth password: `$scrypt$N$r$p$<salt base64>$<hash base64>`. */
export function hashBasicAuthPassword(password: string): string {
  const { N, r, p, keylen } = SCRYPT_PARAMS;
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, keylen, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return `$scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** True when `value` is a hash made by hashBasicAuthPassword (kept as is on re-import). */
export function isBasicAuthHash(value: string): boolean {
  return HASH_RE.test(value);
}

/** Checks a clear password against a stored hash, in constant time. */
export function verifyBasicAuthPassword(password: string, stored: string): boolean {
  const m = HASH_RE.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  const actual = scryptSync(password, Buffer.from(m[4]!, 'base64'), expected.length, {
    N,
    r,
    p,
    maxmem: 256 * N * r + 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

export const BASICAUTH_FIELDS: Specs = {
  ...base,
  username: { kind: 'string', nullable: false, validate: f.string },
  password: { kind: 'string', nullable: false, validate: f.string },
};

/** basic-auth credential: the password is stored as a scrypt hash (an existing hash is kept as is). */
export function validateBasicAuthCredential(
  input: unknown,
  options: { base?: Partial<BasicAuthCredential> } = {},
): BasicAuthInput {
  const v = run<BasicAuthInput>(input, BASICAUTH_FIELDS, options.base);
  if (!isBasicAuthHash(v.password)) v.password = hashBasicAuthPassword(v.password);
  return v;
}

export const JWT_ALGORITHMS: readonly JwtSecret['algorithm'][] = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
];

const publicKey: f.Validator<string> = (v) => {
  const s = f.string(v);
  try {
    createPublicKey(s);
  } catch {
    throw new f.FieldError('invalid key');
  }
  return s;
};

export const JWT_FIELDS: Specs = {
  ...base,
  key: { kind: 'string', nullable: true, validate: f.string },
  secret: { kind: 'string', nullable: true, validate: f.string },
  rsa_public_key: { kind: 'string', nullable: true, default: null, validate: publicKey },
  algorithm: { kind: 'string', nullable: false, default: 'HS256', validate: f.oneOf(JWT_ALGORITHMS) },
};

/**
 * jwt credential: `key` generated when omitted; HS* algorithms get a generated `secret` when none
 * is given; RS*, ES*, PS* and EdDSA need a parseable `rsa_public_key` (PEM public key).
 */
export function validateJwtSecret(
  input: unknown,
  options: { base?: Partial<JwtSecret> } = {},
): JwtSecretInput {
  const v = run<JwtSecretInput>(input, JWT_FIELDS, options.base);
  if (!v.algorithm.startsWith('HS') && v.rsa_public_key === null) {
    throwIfErrors({ rsa_public_key: 'required field missing' });
  }
  if (!v.key) v.key = randomKey();
  if (!v.secret) v.secret = v.algorithm.startsWith('HS') ? randomKey() : null;
  return v;
}

export const HMACAUTH_FIELDS: Specs = {
  ...base,
  username: { kind: 'string', nullable: false, validate: f.string },
  secret: { kind: 'string', nullable: true, validate: f.string },
};

/** hmac-auth credential: `username` required (unique), `secret` generated when omitted. */
export function validateHmacAuthCredential(
  input: unknown,
  options: { base?: Partial<HmacAuthCredential> } = {},
): HmacAuthInput {
  const v = run<HmacAuthInput>(input, HMACAUTH_FIELDS, options.base);
  if (!v.secret) v.secret = randomKey();
  return v;
}

export const ACL_FIELDS: Specs = {
  ...base,
  group: { kind: 'string', nullable: false, validate: f.string },
};

/** acl: a consumer's membership in an ACL `group`. */
export function validateAcl(input: unknown, options: { base?: Partial<Acl> } = {}): AclInput {
  return run<AclInput>(input, ACL_FIELDS, options.base);
}
