import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { CaCertificate, Certificate, Sni } from '../config/model.js';
import { stripReadOnly } from './common.js';
import type { FieldErrors } from './errors.js';
import * as f from './fields.js';
import * as k from './kong-fields.js';
import { addEntityError, emptyToNull, throwIfErrors, validateFields, type Specs } from './validate.js';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Parses one PEM certificate (Kong's `certificate` typedef). */
export const pemCertificate: f.Validator<string> = (v) => {
  const s = f.string(v);
  try {
    new X509Certificate(s);
  } catch (e) {
    throw new f.FieldError(`invalid certificate: ${errText(e)}`);
  }
  return s;
};

/** Parses a PEM private key (Kong's `key` typedef). */
export const pemKey: f.Validator<string> = (v) => {
  const s = f.string(v);
  try {
    createPrivateKey(s);
  } catch (e) {
    throw new f.FieldError(`invalid key: ${errText(e)}`);
  }
  return s;
};

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();

/** True when the private key `keyPem` belongs to the certificate `certPem`. */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return spki(cert.publicKey) === spki(createPublicKey(createPrivateKey(keyPem)));
}

const readOnly: Specs = {
  id: { kind: 'string', nullable: true, validate: f.uuid },
  created_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  updated_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
};
const tags = { kind: 'set' as const, nullable: true, default: null, validate: f.set(f.tag) };

export type CertificateInput = Omit<Certificate, 'id' | 'created_at' | 'updated_at'> & {
  id?: string;
  /** Kong's transient `snis`: SNI names to attach to the certificate (the store creates them). */
  snis?: string[] | null;
};

export const CERTIFICATE_FIELDS: Specs = {
  ...readOnly,
  cert: { kind: 'string', nullable: false, validate: pemCertificate },
  key: { kind: 'string', nullable: false, validate: pemKey },
  cert_alt: { kind: 'string', nullable: true, default: null, validate: pemCertificate },
  key_alt: { kind: 'string', nullable: true, default: null, validate: pemKey },
  tags,
  snis: { kind: 'set', nullable: true, validate: k.array(k.wildcardHost) },
};

function checkCertificate(v: CertificateInput, errors: FieldErrors) {
  if ((v.cert_alt === null) !== (v.key_alt === null)) {
    addEntityError(errors, "all or none of these fields must be set: 'cert_alt', 'key_alt'");
    return;
  }
  if (!certificateMatchesKey(v.cert, v.key)) addEntityError(errors, 'certificate does not match key');
  if (v.cert_alt !== null && v.key_alt !== null) {
    if (!certificateMatchesKey(v.cert_alt, v.key_alt))
      addEntityError(errors, 'alternative certificate does not match key');
    const type = new X509Certificate(v.cert).publicKey.asymmetricKeyType;
    const altType = new X509Certificate(v.cert_alt).publicKey.asymmetricKeyType;
    if (type === altType)
      addEntityError(
        errors,
        'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type',
      );
  }
}

/** Validates a certificate: PEM cert and key parse and match; `cert_alt`/`key_alt` together, of another key type. */
export function validateCertificate(
  input: unknown,
  options: { base?: Partial<Certificate> } = {},
): CertificateInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = validateFields(input, CERTIFICATE_FIELDS, { base });
  const v = values as unknown as CertificateInput;
  if (Object.keys(errors).length === 0) checkCertificate(v, errors);
  throwIfErrors(errors);
  const out: CertificateInput = {
    cert: v.cert,
    key: v.key,
    cert_alt: v.cert_alt,
    key_alt: v.key_alt,
    tags: emptyToNull(v.tags),
  };
  if (v.snis) out.snis = v.snis;
  if (v.id) out.id = v.id;
  return out;
}

export type SniInput = Omit<Sni, 'id' | 'created_at' | 'updated_at'> & { id?: string };

export const SNI_FIELDS: Specs = {
  ...readOnly,
  name: { kind: 'string', nullable: false, validate: k.wildcardHost },
  tags,
  certificate: { kind: 'foreign', nullable: false, validate: f.foreignKey({ byName: false }) },
};

/** Validates an SNI: a host name (one wildcard, first or last character), not an IP, no port. */
export function validateSni(input: unknown, options: { base?: Partial<Sni> } = {}): SniInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = validateFields(input, SNI_FIELDS, { base });
  throwIfErrors(errors);
  const v = values as unknown as SniInput;
  const out: SniInput = { name: v.name, certificate: { id: v.certificate.id }, tags: emptyToNull(v.tags) };
  if (v.id) out.id = v.id;
  return out;
}

export type CaCertificateInput = Omit<CaCertificate, 'id' | 'created_at' | 'updated_at'> & { id?: string };

export const CA_CERTIFICATE_FIELDS: Specs = {
  ...readOnly,
  cert: { kind: 'string', nullable: false, validate: pemCertificate },
  cert_digest: { kind: 'ignored', nullable: true, validate: f.string },
  tags,
};

/** The SHA-256 digest (lower-case hex) of a PEM certificate's DER bytes, as Kong's `cert_digest`. */
export function certificateDigest(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

const CERT_TAG = '-----BEGIN CERTIFICATE-----';

/**
 * Validates a CA certificate: one PEM certificate, not expired, with the CA basic constraint;
 * `cert_digest` is computed (any client value is ignored).
 */
export function validateCaCertificate(
  input: unknown,
  options: { base?: Partial<CaCertificate>; now?: Date } = {},
): CaCertificateInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = validateFields(input, CA_CERTIFICATE_FIELDS, { base });
  const v = values as unknown as CaCertificateInput;
  if (Object.keys(errors).length === 0) {
    const first = v.cert.indexOf(CERT_TAG);
    const cert = new X509Certificate(v.cert);
    if (first !== -1 && v.cert.indexOf(CERT_TAG, first + CERT_TAG.length) !== -1) {
      addEntityError(errors, 'please submit only one certificate at a time');
    } else if (new Date(cert.validTo).getTime() < (options.now ?? new Date()).getTime()) {
      addEntityError(errors, 'certificate expired, "Not After" time is in the past');
    } else if (!cert.ca) {
      addEntityError(
        errors,
        'certificate does not appear to be a CA because it is missing the "CA" basic constraint',
      );
    }
  }
  throwIfErrors(errors);
  const out: CaCertificateInput = {
    cert: v.cert,
    cert_digest: certificateDigest(v.cert),
    tags: emptyToNull(v.tags),
  };
  if (v.id) out.id = v.id;
  return out;
}
