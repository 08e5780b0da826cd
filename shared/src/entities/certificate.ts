import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { CaCertificate, Certificate, Sni } from '../config/model.js';
import { isPlainObject } from '../schema/values.js';
import { stripReadOnly } from './common.js';
import * as td from '../schema/typedefs.js';
import type { FieldErrorTree, RecordField, StringField } from '../schema/types.js';
import { checkEntity, throwIfErrors } from './validate.js';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Kong's `certificate` typedef: one PEM certificate that parses. */
const pemCertificate = (o: Omit<StringField, 'type'> = {}): StringField =>
  td.text({
    custom_validator: (s) => {
      try {
        new X509Certificate(s);
        return null;
      } catch (e) {
        return `invalid certificate: ${errText(e)}`;
      }
    },
    ...o,
  });

/** Kong's `key` typedef: a PEM private key that parses. */
const pemKey = (o: Omit<StringField, 'type'> = {}): StringField =>
  td.text({
    custom_validator: (s) => {
      try {
        createPrivateKey(s);
        return null;
      } catch (e) {
        return `invalid key: ${errText(e)}`;
      }
    },
    ...o,
  });

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

/** True when the private key `keyPem` belongs to the certificate `certPem`. */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return spki(cert.publicKey) === spki(createPublicKey(createPrivateKey(keyPem)));
}

export type CertificateInput = Omit<Certificate, 'id' | 'created_at' | 'updated_at'> & {
  id?: string;
  /** Kong's transient `snis`: SNI names to attach to the certificate (the store creates them). */
  snis?: string[] | null;
};

const SAME_TYPE =
  'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type';

/** The key pairs match, and the alternative pair (when given) has another key type. */
function checkKeyPairs(record: Record<string, unknown>): FieldErrorTree | null {
  const v = record as unknown as CertificateInput;
  if ((v.cert_alt === null) !== (v.key_alt === null)) return null;
  const messages: string[] = [];
  if (!certificateMatchesKey(v.cert, v.key)) messages.push('certificate does not match key');
  if (v.cert_alt !== null && v.key_alt !== null) {
    if (!certificateMatchesKey(v.cert_alt, v.key_alt))
      messages.push('alternative certificate does not match key');
    const type = new X509Certificate(v.cert).publicKey.asymmetricKeyType;
    const altType = new X509Certificate(v.cert_alt).publicKey.asymmetricKeyType;
    if (type === altType) messages.push(SAME_TYPE);
  }
  return messages.length > 0 ? { '@entity': messages } : null;
}

/** Kong's certificates schema. */
export const certificateSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    cert: pemCertificate({ required: true }),
    key: pemKey({ required: true }),
    cert_alt: pemCertificate(),
    key_alt: pemKey(),
    tags: td.tags(),
    snis: { type: 'array', elements: td.wildcardHost(), transient: true },
  },
  entity_checks: [
    { all_or_none_of: ['cert_alt', 'key_alt'] },
    { custom_entity_check: { field_sources: ['cert', 'key', 'cert_alt', 'key_alt'], fn: checkKeyPairs } },
  ],
};

/** Validates a certificate: PEM cert and key parse and match; `cert_alt`/`key_alt` together, of another key type. */
export function validateCertificate(
  input: unknown,
  options: { base?: Partial<Certificate> } = {},
): CertificateInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(certificateSchema, input, base);
  throwIfErrors(errors);
  const v = values as unknown as CertificateInput;
  const out: CertificateInput = {
    cert: v.cert,
    key: v.key,
    cert_alt: v.cert_alt,
    key_alt: v.key_alt,
    tags: v.tags ?? null,
  };
  // Kong (kong/db/dao/certificates.lua parse_name_list): `snis: null` is the empty list, which
  // deletes every SNI of the certificate; left out, the SNIs stay as they are.
  if (isPlainObject(input) && Object.hasOwn(input, 'snis')) out.snis = v.snis ?? [];
  if (v.id) out.id = v.id;
  return out;
}

export type SniInput = Omit<Sni, 'id' | 'created_at' | 'updated_at'> & { id?: string };

/** Kong's snis schema: a host name (one wildcard, first or last character), not an IP, no port. */
export const sniSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    name: td.wildcardHost({ required: true }),
    tags: td.tags(),
    certificate: td.foreign('certificates', { required: true }),
  },
};

/** Validates an SNI: a host name (one wildcard, first or last character), not an IP, no port. */
export function validateSni(input: unknown, options: { base?: Partial<Sni> } = {}): SniInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(sniSchema, input, base);
  throwIfErrors(errors);
  const v = values as unknown as SniInput;
  const out: SniInput = { name: v.name, certificate: { id: v.certificate.id }, tags: v.tags ?? null };
  if (v.id) out.id = v.id;
  return out;
}

export type CaCertificateInput = Omit<CaCertificate, 'id' | 'created_at' | 'updated_at'> & { id?: string };

/** Kong's ca_certificates schema; `cert_digest` is computed (a client's value is checked, then ignored). */
export const caCertificateSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    cert: pemCertificate({ required: true }),
    cert_digest: td.indexedText(),
    tags: td.tags(),
  },
};

/** The SHA-256 digest (lower-case hex) of a PEM certificate's DER bytes, as Kong's `cert_digest`. */
export function certificateDigest(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

const CERT_TAG = '-----BEGIN CERTIFICATE-----';

/** Kong's checks on a CA certificate that parses: one certificate, not expired, a CA. */
function caProblem(pem: string, now: Date): string | null {
  const first = pem.indexOf(CERT_TAG);
  if (first !== -1 && pem.indexOf(CERT_TAG, first + CERT_TAG.length) !== -1)
    return 'please submit only one certificate at a time';
  const cert = new X509Certificate(pem);
  if (new Date(cert.validTo).getTime() < now.getTime())
    return 'certificate expired, "Not After" time is in the past';
  if (!cert.ca)
    return 'certificate does not appear to be a CA because it is missing the "CA" basic constraint';
  return null;
}

/**
 * Validates a CA certificate: one PEM certificate, not expired, with the CA basic constraint;
 * `cert_digest` is computed (any client value is ignored).
 */
export function validateCaCertificate(
  input: unknown,
  options: { base?: Partial<CaCertificate>; now?: Date } = {},
): CaCertificateInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(caCertificateSchema, input, base);
  const v = values as unknown as CaCertificateInput;
  if (Object.keys(errors).length === 0) {
    const problem = caProblem(v.cert, options.now ?? new Date());
    if (problem !== null) errors['@entity'] = [problem];
  }
  throwIfErrors(errors);
  const out: CaCertificateInput = {
    cert: v.cert,
    cert_digest: certificateDigest(v.cert),
    tags: v.tags ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}
