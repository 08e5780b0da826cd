import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import type { Key } from '../config/model.js';
import * as td from '../schema/typedefs.js';
import type { RecordField, StringField } from '../schema/types.js';
import { isPlainObject } from '../schema/values.js';
import { stripReadOnly } from './common.js';
import { checkEntity, throwIfErrors } from './validate.js';

export type KeyInput = Omit<Key, 'id' | 'created_at' | 'updated_at'> & { id?: string };

/** Kong's `KEY_FORMATS` (kong/constants.lua): a key holds exactly one of these. */
export const KEY_FORMATS = ['jwk', 'pem'] as const;

/** The string members of Kong's `jwk` typedef (kong/db/schema/typedefs.lua); `key_ops`, `x5c` are string arrays. */
const JWK_STRINGS = [
  'issuer',
  'kty',
  'use',
  'alg',
  'kid',
  'x5u',
  'x5t',
  'x5t#S256',
  'k',
  'x',
  'y',
  'crv',
  'n',
  'e',
  'd',
  'p',
  'q',
  'dp',
  'dq',
  'qi',
  'oth',
  'r',
  't',
];
const JWK_STRING_ARRAYS = ['key_ops', 'x5c'];

/** Whether a JWK loads as a key (Kong: `openssl_pkey.new(key, { format = "JWK" })`). */
function loadsAsKey(jwk: Record<string, unknown>): boolean {
  try {
    if (jwk.kty === 'oct') return typeof jwk.k === 'string' && Buffer.from(jwk.k, 'base64url').length > 0;
    const key = { key: jwk as JsonWebKey, format: 'jwk' as const };
    if (typeof jwk.d === 'string') createPrivateKey(key);
    else createPublicKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Kong's checks of `keys.jwk` (keys.lua's custom_entity_check), in its order and with its messages. */
function jwkProblem(record: Record<string, unknown>): string | null {
  const text = record.jwk;
  if (typeof text !== 'string') return null;
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    return 'could not json decode jwk string';
  }
  if (!isPlainObject(jwk)) return 'could not json decode jwk string';
  if (!Object.hasOwn(jwk, 'kid') || jwk.kid !== record.kid) return 'kid in jwk.kid must be equal to keys.kid';
  if (!loadsAsKey(jwk)) return 'could not load JWK, likely not a valid key';
  for (const name of JWK_STRINGS)
    if (Object.hasOwn(jwk, name) && typeof jwk[name] !== 'string') return `${name}: expected a string`;
  for (const name of JWK_STRING_ARRAYS) {
    const v = Object.hasOwn(jwk, name) ? jwk[name] : undefined;
    if (v !== undefined && !(Array.isArray(v) && v.every((e) => typeof e === 'string')))
      return `${name}: expected an array of strings`;
  }
  return null;
}

/** Kong's `pem` typedef check: each key given loads, and a pair matches. */
function pemProblem(pem: Record<string, unknown>): string | null {
  const pub = typeof pem.public_key === 'string' ? pem.public_key : null;
  const priv = typeof pem.private_key === 'string' ? pem.private_key : null;
  let publicPem: string | undefined;
  let derivedPem: string | undefined;
  if (pub !== null) {
    try {
      publicPem = createPublicKey({ key: pub, format: 'pem' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
    } catch {
      return 'could not load public key';
    }
  }
  if (priv !== null) {
    try {
      derivedPem = createPublicKey(createPrivateKey({ key: priv, format: 'pem' }))
        .export({ type: 'spki', format: 'pem' })
        .toString();
    } catch {
      return 'could not load private key';
    }
  }
  if (publicPem !== undefined && derivedPem !== undefined && publicPem !== derivedPem)
    return 'public key does not match private key';
  return null;
}

const keyMaterial = (o: Omit<StringField, 'type'>): StringField => ({
  type: 'string',
  referenceable: true,
  ...o,
});

/** Kong's keys schema (kong/db/schema/entities/keys.lua). */
export const keySchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    set: td.foreign('key_sets', { description: 'The id of the Key Set with which to associate the key.' }),
    name: td.indexedText({ description: 'The name to associate with the given keys.' }),
    kid: td.indexedText({ required: true, description: 'A unique identifier for a key.' }),
    jwk: keyMaterial({ encrypted: true, description: 'A JSON Web Key represented as a string.' }),
    pem: {
      type: 'record',
      description:
        'A pair of PEM-encoded public and private keys, which can be either a string or a reference to a credential in Kong Vault. If provided as strings, they must be valid PEM-encoded keys.',
      fields: {
        private_key: keyMaterial({ encrypted: true }),
        public_key: keyMaterial({}),
      },
      entity_checks: [{ at_least_one_of: ['private_key', 'public_key'] }],
      custom_validator: pemProblem,
    },
    tags: td.tags(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
  },
  entity_checks: [
    { mutually_exclusive: KEY_FORMATS },
    { at_least_one_of: KEY_FORMATS },
    { custom_entity_check: { field_sources: ['jwk', 'pem', 'kid'], fn: jwkProblem } },
  ],
};

export function validateKey(input: unknown, options: { base?: Partial<Key> } = {}): KeyInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(keySchema, input, base);
  throwIfErrors(errors);
  const v = values as unknown as KeyInput;
  const pem = v.pem ? { private_key: v.pem.private_key ?? null, public_key: v.pem.public_key ?? null } : null;
  const out: KeyInput = {
    set: v.set ?? null,
    name: v.name ?? null,
    kid: v.kid,
    jwk: v.jwk ?? null,
    pem,
    tags: v.tags ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}
