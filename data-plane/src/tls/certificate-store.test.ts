import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { CertificateStore, wildcardNames } from './certificate-store.js';
import { createCertificate } from './x509.js';

describe('SNI lookup names (Kong’s produce_wild_snis)', () => {
  it('derives the prefix wildcard for three or more labels and the suffix wildcard for two or more', () => {
    expect(wildcardNames('www.example.com')).toEqual({ prefix: '*.example.com', suffix: 'www.example.*' });
    expect(wildcardNames('a.b.example.com')).toEqual({ prefix: '*.b.example.com', suffix: 'a.b.example.*' });
    expect(wildcardNames('example.com')).toEqual({ prefix: null, suffix: 'example.*' });
    expect(wildcardNames('localhost')).toEqual({ prefix: null, suffix: null });
  });
});

describe('certificate store', () => {
  const cert = (id: string, updated = 1) => ({
    id,
    ...createCertificate({ commonName: id }),
    cert_alt: null,
    key_alt: null,
    tags: null,
    created_at: 1,
    updated_at: updated,
  });
  const sni = (name: string, certificate: string) => ({
    id: name,
    name,
    certificate: { id: certificate },
    tags: null,
    created_at: 1,
    updated_at: 1,
  });

  it('prefers exact, then prefix wildcard, then suffix wildcard, then `*`; undefined means default', () => {
    const certificates = [cert('exact'), cert('prefix'), cert('suffix'), cert('star')];
    const store = CertificateStore.compile(
      {
        certificates,
        snis: [
          sni('api.example.com', 'exact'),
          sni('*.example.com', 'prefix'),
          sni('api.example.*', 'suffix'),
          sni('*', 'star'),
        ],
      },
      null,
    );
    const exact = store.select('API.example.com');
    expect(exact).toBeDefined();
    expect(store.select('web.example.com')).not.toBe(exact);
    expect(store.select('api.example.org')).toBeDefined();
    expect(store.select('other.test')).toBeDefined();
    expect(CertificateStore.compile({ certificates, snis: [] }, null).select('x')).toBeUndefined();
  });

  it('reuses the SecureContext of an unchanged certificate across compiles', () => {
    const certificates = [cert('one')];
    const first = CertificateStore.compile({ certificates, snis: [sni('a.test', 'one')] }, null);
    const second = CertificateStore.compile({ certificates, snis: [sni('a.test', 'one')] }, first);
    expect(second.select('a.test')).toBe(first.select('a.test'));
    const changed = CertificateStore.compile(
      { certificates: [cert('one', 2)], snis: [sni('a.test', 'one')] },
      first,
    );
    expect(changed.select('a.test')).not.toBe(first.select('a.test'));
  });
});

describe('x509 builder', () => {
  it('makes a CA-signed leaf certificate that verifies against its CA', () => {
    const ca = createCertificate({ commonName: 'Unit CA', isCa: true });
    const leaf = createCertificate({
      commonName: 'svc.local',
      altNames: ['svc.local', '10.1.2.3', '::1'],
      issuer: { commonName: 'Unit CA', key: ca.key },
    });
    const x = new X509Certificate(leaf.cert);
    const caX = new X509Certificate(ca.cert);
    expect(x.checkIssued(caX)).toBe(true);
    expect(x.verify(caX.publicKey)).toBe(true);
    expect(caX.ca).toBe(true);
    expect(x.ca).toBe(false);
    expect(x.subjectAltName).toBe('DNS:svc.local, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1');
    expect(x.checkHost('svc.local')).toBe('svc.local');
  });
});
