import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isGatehouseError, loadClusterTls } from '@gatehouse/shared';
import { generateClusterCerts, type ClusterCertPaths } from './certs.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `gh-certs-${p}-`));
let a: Required<ClusterCertPaths>;
let b: Required<ClusterCertPaths>;

beforeAll(async () => {
  a = (await generateClusterCerts(tmp('a'), {
    shared: true,
    cpHosts: ['cp.example.net', '10.0.0.5'],
  })) as Required<ClusterCertPaths>;
  b = (await generateClusterCerts(tmp('b'), { shared: true })) as Required<ClusterCertPaths>;
});

describe('generateClusterCerts', () => {
  it('dates every certificate a day back, so a node whose clock runs an hour late takes them (F12)', async () => {
    for (const file of [a.ca, a.cpCert, a.dpCert, a.sharedCert]) {
      const from = Date.parse(new X509Certificate(readFileSync(file)).validFrom);
      // At least 23 h before now (the file was made moments ago, a day back).
      expect(Date.now() - from).toBeGreaterThan(23 * 3600 * 1000);
      await loadClusterTls(
        file === a.sharedCert
          ? { mode: 'shared', cert: a.sharedCert, key: a.sharedKey }
          : {
              mode: 'pki',
              cert: file === a.ca ? a.dpCert : file,
              key: file === a.cpCert ? a.cpKey : a.dpKey,
              ca: a.ca,
            },
        new Date(Date.now() - 3600 * 1000),
      );
    }
  });

  it('writes a CA, CP and DP certificates signed by it, and a shared pair; keys 0600', async () => {
    const ca = new X509Certificate(readFileSync(a.ca));
    expect(ca.ca).toBe(true);
    const cp = new X509Certificate(readFileSync(a.cpCert));
    expect(cp.checkIssued(ca) && cp.verify(ca.publicKey)).toBe(true);
    expect(cp.subjectAltName).toBe('DNS:cp.example.net, IP Address:10.0.0.5');
    expect(cp.checkHost('cp.example.net')).toBe('cp.example.net');
    const dp = new X509Certificate(readFileSync(a.dpCert));
    expect(dp.subject).toBe('CN=gatehouse-dp\nO=Gatehouse');
    expect(dp.ca).toBe(false);
    expect(dp.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    for (const k of [a.caKey, a.cpKey, a.dpKey, a.sharedKey]) expect(statSync(k).mode & 0o777).toBe(0o600);
    // Each is usable as the planes load it.
    await loadClusterTls({ mode: 'pki', cert: a.cpCert, key: a.cpKey, ca: a.ca });
    await loadClusterTls({ mode: 'pki', cert: a.dpCert, key: a.dpKey, ca: a.ca });
    await loadClusterTls({ mode: 'shared', cert: a.sharedCert, key: a.sharedKey });
  });

  it('refuses to overwrite unless forced', async () => {
    const dir = join(a.ca, '..');
    await expect(generateClusterCerts(dir)).rejects.toThrow(/exists; pass --force/);
  });

  it('loadClusterTls refuses a key of another certificate, a certificate of another CA, an expired one', async () => {
    await expect(loadClusterTls({ mode: 'pki', cert: a.dpCert, key: b.dpKey, ca: a.ca })).rejects.toThrow(
      /--cluster-cert-key .* is not the key of --cluster-cert/,
    );
    await expect(loadClusterTls({ mode: 'pki', cert: b.dpCert, key: b.dpKey, ca: a.ca })).rejects.toThrow(
      /is not signed by --cluster-ca-cert/,
    );
    await expect(loadClusterTls({ mode: 'pki', cert: a.dpCert, key: a.dpKey, ca: a.dpCert })).rejects.toThrow(
      /is not a CA certificate/,
    );
    const later = new Date(Date.now() + 1200 * 24 * 3600 * 1000);
    await expect(
      loadClusterTls({ mode: 'shared', cert: a.sharedCert, key: a.sharedKey }, later),
    ).rejects.toThrow(/--cluster-cert .* expired on/);
  });

  it('refuses hostile host names, common names and validity with a clear error; what it accepts loads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.domain(), fc.ipV4()), { maxLength: 3 }),
        fc.oneof(
          fc.string({ maxLength: 70 }),
          fc.constantFrom('dp-1', 'dp eu', '__proto__', 'CN=x,O=y', '', '0 ', 'dp-1 '),
        ),
        fc.oneof(fc.integer({ min: -5, max: 40_000 }), fc.constant(Number.NaN)),
        async (cpHosts, dpCommonName, days) => {
          try {
            const p = await generateClusterCerts(tmp('fc'), { cpHosts, dpCommonName, days });
            await loadClusterTls({ mode: 'pki', cert: p.dpCert!, key: p.dpKey!, ca: p.ca! });
            expect(new X509Certificate(readFileSync(p.dpCert!)).subject).toBe(
              `CN=${dpCommonName}\nO=Gatehouse`,
            );
          } catch (e) {
            expect(isGatehouseError(e), String(e)).toBe(true);
            expect((e as Error).message).toMatch(/^invalid setting --(cp-hosts|dp-common-name|days)/);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
