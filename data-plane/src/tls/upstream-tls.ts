/**
 * TLS to an upstream (services with protocol https): Kong's `tls_verify` (null = off, Kong's
 * default `proxy_ssl_verify off`), `tls_verify_depth`, `ca_certificates` (ids of CA certificates
 * in the snapshot: the trust store instead of the system one) and `client_certificate` (mTLS;
 * the service's, else the upstream's, as Kong falls back). Resolved once per configuration.
 */
import { defineError } from '@gatehouse/shared/errors';
import type { CaCertificate, Certificate, Service, Upstream } from '@gatehouse/shared/config/model';

export const TlsErrors = {
  unknownCertificate: defineError('GH_ERR_TLS_UNKNOWN_CERTIFICATE', 400),
  invalidCertificate: defineError('GH_ERR_TLS_INVALID_CERTIFICATE', 400),
  verifyDepthExceeded: defineError('GH_ERR_TLS_VERIFY_DEPTH', 502),
} as const;

export interface UpstreamTls {
  /** Identifies these settings inside a pool key. */
  readonly key: string;
  readonly rejectUnauthorized: boolean;
  /** PEM CA certificates; undefined = the system trust store. */
  readonly ca: string[] | undefined;
  /** PEM client certificate and key (mTLS), or undefined. */
  readonly cert: string | undefined;
  readonly privateKey: string | undefined;
  /** Maximum chain depth (OpenSSL semantics), or null. */
  readonly verifyDepth: number | null;
}

export interface TlsEntities {
  readonly certificates: ReadonlyMap<string, Certificate>;
  readonly caCertificates: ReadonlyMap<string, CaCertificate>;
}

export function tlsEntities(config: {
  certificates: readonly Certificate[];
  ca_certificates: readonly CaCertificate[];
}): TlsEntities {
  return {
    certificates: new Map(config.certificates.map((c) => [c.id, c])),
    caCertificates: new Map(config.ca_certificates.map((c) => [c.id, c])),
  };
}

export function upstreamTls(service: Service, upstream: Upstream | null, entities: TlsEntities): UpstreamTls {
  const verify = service.tls_verify === true;
  let ca: string[] | undefined;
  const caIds = service.ca_certificates ?? [];
  if (caIds.length > 0) {
    ca = caIds.map((id) => {
      const c = entities.caCertificates.get(id);
      if (c === undefined)
        throw TlsErrors.unknownCertificate(`service ${service.id} references unknown CA certificate ${id}`, {
          service: service.id,
          ca_certificate: id,
        });
      return c.cert;
    });
  }
  const certRef = service.client_certificate ?? upstream?.client_certificate ?? null;
  let cert: Certificate | undefined;
  if (certRef !== null) {
    cert = entities.certificates.get(certRef.id);
    if (cert === undefined)
      throw TlsErrors.unknownCertificate(
        `service ${service.id} references unknown client certificate ${certRef.id}`,
        { service: service.id, certificate: certRef.id },
      );
  }
  const depth = verify ? service.tls_verify_depth : null;
  const key = [
    verify ? 'v' : 'n',
    depth ?? '',
    caIds
      .map((id) => {
        const c = entities.caCertificates.get(id)!;
        return `${id}@${c.cert_digest}/${c.updated_at}`;
      })
      .join('+'),
    cert === undefined ? '' : `${cert.id}@${cert.updated_at}`,
  ].join(';');
  return {
    key,
    rejectUnauthorized: verify,
    ca,
    cert: cert?.cert,
    privateKey: cert?.key,
    verifyDepth: depth,
  };
}
