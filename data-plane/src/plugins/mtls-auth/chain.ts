/**
 * Client certificate chain verification with node:crypto's X509Certificate: from the client's
 * certificate, through the intermediates it sent, to one of the plugin's CA certificates, each
 * link checked by issuer name and signature, each certificate within its validity period, every
 * issuer a CA. As OpenSSL without X509_V_FLAG_PARTIAL_CHAIN, the chain must end at a trusted
 * self-signed root; `allowPartialChain` also accepts a trusted intermediate as the anchor.
 */
import type { X509Certificate } from 'node:crypto';

/** At most this many certificates between the client's and the anchor (OpenSSL's default depth). */
export const MAX_CHAIN_DEPTH = 10;

/** id-kp-clientAuth and anyExtendedKeyUsage. */
const CLIENT_AUTH_EKUS = new Set(['1.3.6.1.5.5.7.3.2', '2.5.29.37.0']);

export interface TrustAnchor {
  /** The ca_certificates entity id. */
  readonly id: string;
  readonly cert: X509Certificate;
  /** Self-signed (a root). */
  readonly root: boolean;
}

export type ChainResult =
  | {
      readonly ok: true;
      /** Client certificate first, then the intermediates up to (not including) the anchor. */
      readonly path: readonly X509Certificate[];
      readonly anchor: TrustAnchor;
    }
  | { readonly ok: false; readonly reason: string };

/** True when `cert` is a root: issued by itself and signed by its own key. */
export function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

function issued(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function within(cert: X509Certificate, nowMs: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && from <= nowMs && nowMs <= to;
}

function usableForClientAuth(cert: X509Certificate): boolean {
  const eku = cert.keyUsage as string[] | undefined;
  return eku === undefined || eku.length === 0 || eku.some((oid) => CLIENT_AUTH_EKUS.has(oid));
}

/** Verifies `leaf` (with the intermediates the client sent) against `anchors` at `nowMs`. */
export function verifyChain(
  leaf: X509Certificate,
  sent: readonly X509Certificate[],
  anchors: readonly TrustAnchor[],
  options: { allowPartialChain: boolean; nowMs: number },
): ChainResult {
  const { allowPartialChain, nowMs } = options;
  if (!within(leaf, nowMs)) return { ok: false, reason: 'client certificate expired or not yet valid' };
  if (!usableForClientAuth(leaf))
    return { ok: false, reason: 'client certificate not for client authentication' };
  const path: X509Certificate[] = [leaf];
  let current = leaf;
  for (let depth = 0; depth <= MAX_CHAIN_DEPTH; depth++) {
    // A configured CA that issued the current certificate: the end, or (an intermediate CA
    // without allow_partial_chain) a step towards a configured root.
    const anchor = anchors.find((a) => issued(a.cert, current) && within(a.cert, nowMs));
    if (anchor !== undefined && (anchor.root || allowPartialChain)) return { ok: true, path, anchor };
    const next =
      anchor?.cert ??
      sent.find((c) => c.ca && c !== current && !path.includes(c) && issued(c, current) && within(c, nowMs));
    if (next === undefined) return { ok: false, reason: 'no chain to a configured CA certificate' };
    if (!next.ca) return { ok: false, reason: 'an issuer in the chain is not a CA' };
    path.push(next);
    current = next;
  }
  return { ok: false, reason: 'certificate chain too long' };
}
