/**
 * Certificate revocation lists for mtls-auth: the CRL distribution points a certificate names
 * (http/https URLs), CRLs parsed with @peculiar/asn1-x509 (RFC 5280 structures), checked against
 * the issuer (name and signature, with node:crypto) and still current (nextUpdate), then searched
 * for the certificate's serial number. Only the signed part's bytes are cut from the DER by hand:
 * the library parses, it does not keep the bytes a signature covers.
 */
import { verify as verifySignature, type X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Certificate,
  CertificateList,
  CRLDistributionPoints,
  id_ce_cRLDistributionPoints,
} from '@peculiar/asn1-x509';

/** A parsed CRL: who issued it, until when it holds, the revoked serials. */
export interface Crl {
  /** DER of the issuer Name. */
  readonly issuer: Buffer;
  /** Milliseconds; Infinity when the CRL names no nextUpdate. */
  readonly nextUpdate: number;
  /** Revoked serial numbers, canonical hex (upper case, no leading zeros). */
  readonly revoked: ReadonlySet<string>;
  /** The DER bytes the signature covers (tbsCertList). */
  readonly signed: Buffer;
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
}

/** Signature algorithm OIDs a CRL may use: node's digest name (null: the key decides, Ed25519/Ed448). */
const SIGNATURE_DIGESTS: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519
  '1.3.101.113': null, // Ed448
};

/** Canonical hex of a serial number (DER INTEGER content or node's serialNumber). */
export function canonicalSerial(hex: string): string {
  const s = hex.toUpperCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/** [start, end) of the DER element at `offset` (tag + length + content); throws on bad DER. */
function derElement(der: Buffer, offset: number): { start: number; contentStart: number; end: number } {
  if (offset + 2 > der.length) throw new Error('truncated DER');
  let pos = offset + 1;
  const first = der[pos++]!;
  let length: number;
  if (first < 0x80) length = first;
  else {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || pos + n > der.length) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[pos++]!;
  }
  const end = pos + length;
  if (end > der.length) throw new Error('truncated DER');
  return { start: offset, contentStart: pos, end };
}

/** PEM (one `X509 CRL` block) or DER bytes to DER. */
function toDer(data: Buffer): Buffer {
  const text = data.subarray(0, 64).toString('latin1');
  if (!text.includes('-----BEGIN')) return data;
  const m = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/.exec(data.toString('latin1'));
  if (m === null) throw new Error('not a PEM X509 CRL');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/** Parses a CRL (DER or PEM); throws an Error naming what is wrong. */
export function parseCrl(data: Buffer): Crl {
  const der = toDer(data);
  const outer = derElement(der, 0);
  if (der[0] !== 0x30 || outer.end !== der.length) throw new Error('a CRL is one DER SEQUENCE');
  const tbs = derElement(der, outer.contentStart);
  const list = AsnConvert.parse(der, CertificateList);
  const revoked = new Set<string>();
  for (const entry of list.tbsCertList.revokedCertificates ?? [])
    revoked.add(canonicalSerial(Buffer.from(entry.userCertificate).toString('hex')));
  const next = list.tbsCertList.nextUpdate?.getTime();
  return {
    issuer: Buffer.from(AsnConvert.serialize(list.tbsCertList.issuer)),
    nextUpdate: next === undefined ? Infinity : next.getTime(),
    revoked,
    signed: der.subarray(tbs.start, tbs.end),
    signatureAlgorithm: list.signatureAlgorithm.algorithm,
    signature: Buffer.from(list.signature),
  };
}

/** The DER of a certificate's subject Name. */
export function subjectDer(cert: X509Certificate): Buffer {
  const parsed = AsnConvert.parse(cert.raw, Certificate);
  return Buffer.from(AsnConvert.serialize(parsed.tbsCertificate.subject));
}

/** The http(s) URLs of a certificate's CRL distribution points (none when it names none). */
export function crlDistributionPoints(cert: X509Certificate): string[] {
  const parsed = AsnConvert.parse(cert.raw, Certificate);
  const ext = parsed.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_cRLDistributionPoints);
  if (ext === undefined) return [];
  const points = AsnConvert.parse(ext.extnValue.buffer, CRLDistributionPoints);
  const urls: string[] = [];
  for (const point of points) {
    for (const name of point.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri !== undefined && /^https?:\/\//i.test(uri)) urls.push(uri);
    }
  }
  return urls;
}

/**
 * Why `crl` cannot be used to check certificates of `issuer` at `nowMs` (wrong issuer, bad or
 * unsupported signature, past its nextUpdate), or null when it can.
 */
export function crlProblem(crl: Crl, issuer: X509Certificate, nowMs: number): string | null {
  if (!crl.issuer.equals(subjectDer(issuer))) return 'CRL issued by another CA';
  if (!Object.hasOwn(SIGNATURE_DIGESTS, crl.signatureAlgorithm))
    return `CRL signature algorithm ${crl.signatureAlgorithm} is not supported`;
  let valid: boolean;
  try {
    valid = verifySignature(
      SIGNATURE_DIGESTS[crl.signatureAlgorithm] ?? null,
      crl.signed,
      issuer.publicKey,
      crl.signature,
    );
  } catch {
    valid = false;
  }
  if (!valid) return 'CRL signature does not verify';
  if (crl.nextUpdate < nowMs) return 'CRL is past its nextUpdate';
  return null;
}

/** Is `cert` on `crl`? */
export function isRevoked(crl: Crl, cert: X509Certificate): boolean {
  return crl.revoked.has(canonicalSerial(cert.serialNumber));
}
