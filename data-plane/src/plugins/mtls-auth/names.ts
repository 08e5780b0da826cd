/**
 * The names of a client certificate that mtls-auth matches and sends upstream: the subject's
 * common name, the subject DN (RFC 2253 order, most specific first, as Kong's X-Client-Cert-Dn)
 * and the subject alternative names (DNS names, e-mail addresses and URIs), read with
 * @peculiar/asn1-x509 rather than by splitting node's printable strings.
 */
import type { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, id_ce_subjectAltName, SubjectAlternativeName, type Name } from '@peculiar/asn1-x509';

export interface CertificateNames {
  /** The (last) CN of the subject, or null. */
  readonly commonName: string | null;
  /** The subject DN, RFC 2253 style: `CN=alice,O=Example,C=GB`. */
  readonly dn: string;
  /** DNS names, e-mail addresses and URIs of the subjectAltName extension, in order. */
  readonly altNames: readonly string[];
}

/** Short names of the attribute types a DN usually holds (others print as their OID). */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** RFC 4514 escaping of a DN attribute value. */
function escapeValue(v: string): string {
  const escaped = v
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
  let out = '';
  for (const ch of escaped) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\${code.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

function attributes(name: Name): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  for (const rdn of name) for (const atv of rdn) out.push({ type: atv.type, value: atv.value.toString() });
  return out;
}

/** Reads the names of `cert`; throws when its DER does not parse. */
export function certificateNames(cert: X509Certificate): CertificateNames {
  const parsed = AsnConvert.parse(cert.raw, Certificate);
  const subject = attributes(parsed.tbsCertificate.subject);
  const cns = subject.filter((a) => a.type === '2.5.4.3');
  const dn = subject
    .slice()
    .reverse()
    .map((a) => `${SHORT_NAMES[a.type] ?? a.type}=${escapeValue(a.value)}`)
    .join(',');
  const altNames: string[] = [];
  const ext = parsed.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectAltName);
  if (ext !== undefined) {
    for (const n of AsnConvert.parse(ext.extnValue.buffer, SubjectAlternativeName)) {
      const v = n.dNSName ?? n.rfc822Name ?? n.uniformResourceIdentifier;
      if (v !== undefined && v !== '') altNames.push(v);
    }
  }
  return { commonName: cns.length === 0 ? null : cns[cns.length - 1]!.value, dn, altNames };
}
