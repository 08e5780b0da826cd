/**
 * Server certificates for the TLS proxy listener, chosen by SNI as Kong does
 * (kong/runloop/certificate.lua): the exact name, then the prefix wildcard (`*.example.com` for
 * `www.example.com`), then the suffix wildcard (`www.example.*`), then an SNI named `*`, then the
 * default certificate. SecureContexts are built once per configuration (a certificate that did
 * not change keeps its context across swaps); a handshake only does map lookups.
 */
import tls from 'node:tls';
import type { Certificate, Plugin, Sni } from '@gatehouse/shared';
import { TlsErrors } from './upstream-tls.js';

/** Kong's wildcard forms of a requested name (null when the name has too few labels). */
export function wildcardNames(name: string): { prefix: string | null; suffix: string | null } {
  const firstDot = name.indexOf('.');
  const rest = firstDot > 0 ? name.slice(firstDot) : '';
  // *.example.com: at least three labels (Kong: ([^.]+)(\.[^.]+\.\S+))
  const prefix = firstDot > 0 && rest.indexOf('.', 1) > 1 ? `*${rest}` : null;
  const lastDot = name.lastIndexOf('.');
  const suffix = lastDot > 0 && lastDot < name.length - 1 ? `${name.slice(0, lastDot)}.*` : null;
  return { prefix, suffix };
}

function contextKey(c: Certificate): string {
  return `${c.id}@${c.updated_at}`;
}

/** The plugins that authenticate clients by their TLS certificate (the listener asks for one). */
const CLIENT_CERTIFICATE_PLUGINS: ReadonlySet<string> = new Set(['mtls-auth']);

/**
 * Whether the HTTPS listener asks clients for a certificate: while some enabled plugin of the
 * configuration reads it (mtls-auth). It is asked for, never required, and never verified by
 * the listener: the plugin verifies it against its own CA certificates.
 */
export function wantsClientCertificates(plugins: readonly Pick<Plugin, 'name' | 'enabled'>[]): boolean {
  return plugins.some((p) => p.enabled && CLIENT_CERTIFICATE_PLUGINS.has(p.name));
}

export class CertificateStore {
  private constructor(
    private readonly byName: ReadonlyMap<string, tls.SecureContext>,
    /** Contexts by certificate id + updated_at, reused by the next compile. */
    readonly contexts: ReadonlyMap<string, tls.SecureContext>,
    /** The listener asks clients for a certificate (see wantsClientCertificates). */
    readonly requestClientCertificates: boolean = false,
  ) {}

  static empty(): CertificateStore {
    return new CertificateStore(new Map(), new Map());
  }

  /** Builds the SNI table; throws GH_ERR_TLS_* on a certificate that cannot be loaded. */
  static compile(
    config: {
      certificates: readonly Certificate[];
      snis: readonly Sni[];
      plugins?: readonly Pick<Plugin, 'name' | 'enabled'>[];
    },
    previous: CertificateStore | null,
  ): CertificateStore {
    const certificates = new Map(config.certificates.map((c) => [c.id, c]));
    const contexts = new Map<string, tls.SecureContext>();
    const byName = new Map<string, tls.SecureContext>();
    for (const sni of config.snis) {
      const cert = certificates.get(sni.certificate.id);
      if (cert === undefined)
        throw TlsErrors.unknownCertificate(
          `SNI ${sni.name} references unknown certificate ${sni.certificate.id}`,
          {
            sni: sni.name,
            certificate: sni.certificate.id,
          },
        );
      const key = contextKey(cert);
      let ctx = contexts.get(key) ?? previous?.contexts.get(key);
      if (ctx === undefined) {
        try {
          ctx = tls.createSecureContext({
            cert: cert.cert_alt === null ? cert.cert : [cert.cert, cert.cert_alt],
            key: cert.key_alt === null ? cert.key : [cert.key, cert.key_alt],
          });
        } catch (e) {
          throw TlsErrors.invalidCertificate(
            `certificate ${cert.id} cannot be loaded: ${(e as Error).message}`,
            { certificate: cert.id },
            { cause: e },
          );
        }
      }
      contexts.set(key, ctx);
      byName.set(sni.name.toLowerCase(), ctx);
    }
    return new CertificateStore(byName, contexts, wantsClientCertificates(config.plugins ?? []));
  }

  get size(): number {
    return this.byName.size;
  }

  /** The context for a requested server name, or undefined for the default certificate. */
  select(servername: string): tls.SecureContext | undefined {
    if (this.byName.size === 0) return undefined;
    const name = servername.toLowerCase();
    const exact = this.byName.get(name);
    if (exact !== undefined) return exact;
    const { prefix, suffix } = wildcardNames(name);
    return (
      (prefix === null ? undefined : this.byName.get(prefix)) ??
      (suffix === null ? undefined : this.byName.get(suffix)) ??
      this.byName.get('*')
    );
  }
}
