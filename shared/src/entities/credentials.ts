import { createHash, createPublicKey, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import type {
  Acl,
  BasicAuthCredential,
  HmacAuthCredential,
  JwtSecret,
  KeyAuthCredential,
  MtlsAuthCredential,
  OAuth2Credential,
  OAuth2TokenRevocation,
} from '../config/model.js';
import { randomKey, stripReadOnly } from './common.js';
import * as td from '../schema/typedefs.js';
import type { Field, RecordField } from '../schema/types.js';
import { consumerSchema } from './consumer.js';
import { checkEntity, throwIfErrors } from './validate.js';

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
export type MtlsAuthInput = CredentialInput<MtlsAuthCredential>;
export type OAuth2CredentialInput = CredentialInput<OAuth2Credential>;
export type OAuth2TokenRevocationInput = Omit<OAuth2TokenRevocation, 'id' | 'created_at'> & { id?: string };

/** A credential's schema: Kong's common fields (id, created_at, consumer, tags), then `fields`. */
const credentialSchema = (
  fields: Record<string, Field>,
  o: Omit<RecordField, 'type' | 'fields'> = {},
): RecordField => ({
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    consumer: td.foreign('consumers', { required: true, by_name: true, schema: () => consumerSchema }),
    tags: td.tags(),
    ...fields,
  },
  ...o,
});

function run<T>(input: unknown, schema: RecordField, stored: object | undefined): T & { id?: string } {
  const { values, errors } = checkEntity(schema, input, stored ? stripReadOnly(stored) : undefined);
  throwIfErrors(errors);
  const out = { ...values } as Record<string, unknown>;
  if (!out.id) delete out.id;
  return out as T & { id?: string };
}

/** key-auth credentials (Kong's keyauth_credentials). */
export const keyAuthSchema = credentialSchema({
  // Referenceable as in Kong Enterprise: `{vault://env/partner-key}` is resolved on the data plane.
  key: td.indexedText({ referenceable: true }),
  ttl: td.seconds(),
});

/** key-auth credential: `key` generated (32 hex characters) when omitted; `ttl` seconds or null. */
export function validateKeyAuthCredential(
  input: unknown,
  options: { base?: Partial<KeyAuthCredential> } = {},
): KeyAuthInput {
  const v = run<KeyAuthInput>(input, keyAuthSchema, options.base);
  if (!v.key) v.key = randomKey();
  if (v.ttl === 0) v.ttl = null;
  return v;
}

/**
 * mtls-auth credentials (Kong Enterprise's mtls_auth_credentials): a certificate subject name
 * (CN, or a SAN DNS name, URI or e-mail) mapped to a consumer, optionally only for certificates
 * issued by one CA certificate.
 */
export const mtlsAuthSchema = credentialSchema({
  subject_name: td.text({ required: true, len_max: 1024 }),
  ca_certificate: td.foreign('ca_certificates'),
});

/** mtls-auth credential: `subject_name` required, `ca_certificate` optional. */
export function validateMtlsAuthCredential(
  input: unknown,
  options: { base?: Partial<MtlsAuthCredential> } = {},
): MtlsAuthInput {
  const v = run<MtlsAuthInput>(input, mtlsAuthSchema, options.base);
  v.ca_certificate ??= null;
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

/** The parts of a stored scrypt hash, or null when it is not one. */
function parseScryptHash(stored: string) {
  const m = HASH_RE.exec(stored);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  return {
    salt: Buffer.from(m[4]!, 'base64'),
    expected,
    options: { N, r, p, maxmem: 256 * N * r + 1024 * 1024 },
  };
}

/** Checks a clear password against a stored hash, in constant time. */
export function verifyBasicAuthPassword(password: string, stored: string): boolean {
  const h = parseScryptHash(stored);
  if (h === null) return false;
  return timingSafeEqual(scryptSync(password, h.salt, h.expected.length, h.options), h.expected);
}

/** verifyBasicAuthPassword off the event loop (libuv's thread pool): for request paths. */
export async function verifyScryptHashAsync(password: string, stored: string): Promise<boolean> {
  const h = parseScryptHash(stored);
  if (h === null) return false;
  const actual = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, h.salt, h.expected.length, h.options, (err, key) => (err ? reject(err) : resolve(key))),
  );
  return timingSafeEqual(actual, h.expected);
}

/** basic-auth credentials (Kong's basicauth_credentials). */
export const basicAuthSchema = credentialSchema({
  username: td.indexedText({ required: true }),
  password: td.text({ required: true, encrypted: true }),
});

/** basic-auth credential: the password is stored as a scrypt hash (an existing hash is kept as is). */
export function validateBasicAuthCredential(
  input: unknown,
  options: { base?: Partial<BasicAuthCredential> } = {},
): BasicAuthInput {
  const v = run<BasicAuthInput>(input, basicAuthSchema, options.base);
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

/** Kong's `validate_ssl_key`: a PEM public key that parses. */
function publicKeyError(s: unknown): string | null {
  try {
    createPublicKey(s as string);
    return null;
  } catch {
    return 'invalid key';
  }
}

/** jwt credentials (Kong's jwt_secrets): RS*, ES*, PS* and EdDSA need `rsa_public_key`. */
export const jwtSecretSchema = credentialSchema(
  {
    key: td.indexedText(),
    secret: td.text(),
    rsa_public_key: { type: 'string' },
    algorithm: { type: 'string', required: true, default: 'HS256', one_of: JWT_ALGORITHMS },
  },
  {
    entity_checks: [
      {
        conditional: {
          if_field: 'algorithm',
          if_match: { one_of: JWT_ALGORITHMS.filter((a) => !a.startsWith('HS')) },
          then_field: 'rsa_public_key',
          then_match: { required: true, custom_validator: publicKeyError },
        },
      },
    ],
  },
);

/**
 * jwt credential: `key` generated when omitted; HS* algorithms get a generated `secret` when none
 * is given; RS*, ES*, PS* and EdDSA need a parseable `rsa_public_key` (PEM public key).
 */
export function validateJwtSecret(
  input: unknown,
  options: { base?: Partial<JwtSecret> } = {},
): JwtSecretInput {
  const v = run<JwtSecretInput>(input, jwtSecretSchema, options.base);
  if (!v.key) v.key = randomKey();
  if (!v.secret) v.secret = v.algorithm.startsWith('HS') ? randomKey() : null;
  return v;
}

/** hmac-auth credentials (Kong's hmacauth_credentials). */
export const hmacAuthSchema = credentialSchema({
  username: td.indexedText({ required: true }),
  secret: td.text(),
});

/** hmac-auth credential: `username` required (unique), `secret` generated when omitted. */
export function validateHmacAuthCredential(
  input: unknown,
  options: { base?: Partial<HmacAuthCredential> } = {},
): HmacAuthInput {
  const v = run<HmacAuthInput>(input, hmacAuthSchema, options.base);
  if (!v.secret) v.secret = randomKey();
  return v;
}

/** acls: a consumer's membership in an ACL `group`. */
export const aclSchema = credentialSchema({ group: td.indexedText({ required: true }) });

/** acl: a consumer's membership in an ACL `group`. */
export function validateAcl(input: unknown, options: { base?: Partial<Acl> } = {}): AclInput {
  return run<AclInput>(input, aclSchema, options.base);
}

/** Kong's oauth2_credentials `redirect_uris` element check: an absolute URL without a fragment. */
function redirectUriError(s: string): string | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `cannot parse '${s}'`;
  }
  if (u.hash !== '' || s.includes('#')) return "fragment not allowed in '" + s + "'";
  return null;
}

/** oauth2 credentials (Kong's oauth2_credentials): a client application of a consumer. */
export const oauth2CredentialSchema = credentialSchema({
  name: td.text({ required: true, len_max: td.NAME_MAX }),
  client_id: td.indexedText(),
  client_secret: td.text({ encrypted: true, len_max: td.INDEXED_TEXT_MAX }),
  hash_secret: { type: 'boolean', required: true, default: false },
  redirect_uris: {
    type: 'array',
    len_max: 64,
    elements: { type: 'string', len_max: 2048, custom_validator: redirectUriError },
  },
  client_type: {
    type: 'string',
    required: true,
    default: 'confidential',
    one_of: ['confidential', 'public'],
  },
});

/**
 * oauth2 credential: `client_id` and `client_secret` generated when omitted (32 characters); with
 * `hash_secret`, the secret is stored as a scrypt hash (a stored hash is kept as it is), so give
 * your own secret then: a generated one cannot be read back (as Kong).
 */
export function validateOAuth2Credential(
  input: unknown,
  options: { base?: Partial<OAuth2Credential> } = {},
): OAuth2CredentialInput {
  const v = run<OAuth2CredentialInput>(input, oauth2CredentialSchema, options.base);
  if (!v.client_id) v.client_id = randomKey();
  if (!v.client_secret) v.client_secret = randomKey();
  if (v.hash_secret && !isBasicAuthHash(v.client_secret))
    v.client_secret = hashBasicAuthPassword(v.client_secret);
  v.redirect_uris ??= null;
  return v;
}

/**
 * Checks an oauth2 client secret against a stored one, in constant time: a scrypt hash (hash_secret)
 * off the event loop, a clear secret by comparing SHA-256 digests (no length leak).
 */
export async function verifyOAuth2ClientSecret(
  presented: string,
  credential: OAuth2Credential,
): Promise<boolean> {
  if (credential.hash_secret) return verifyScryptHashAsync(presented, credential.client_secret);
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(credential.client_secret).digest();
  return timingSafeEqual(a, b) && presented === credential.client_secret;
}

/** oauth2 token revocations: a token id (`jti`) refused by every data plane until `expires_at`. */
export const oauth2TokenRevocationSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    credential: td.foreign('oauth2_credentials', {
      required: true,
      by_name: true,
      schema: () => oauth2CredentialSchema,
    }),
    jti: td.indexedText({ required: true, len_max: 128 }),
    // Unix seconds in the column's 32-bit integer (tokens expire long before 2038; 0: never).
    expires_at: { type: 'integer', required: true, between: [0, 2_147_483_647] },
    tags: td.tags(),
  },
};

/** oauth2 token revocation: `jti` and the token's `expires_at` (Unix seconds) required. */
export function validateOAuth2TokenRevocation(
  input: unknown,
  options: { base?: Partial<OAuth2TokenRevocation> } = {},
): OAuth2TokenRevocationInput {
  return run<OAuth2TokenRevocationInput>(input, oauth2TokenRevocationSchema, options.base);
}
