import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLUSTER_TLS_SETTINGS,
  clusterTlsFiles,
  clusterTlsSettings,
  identityFromDer,
  loadClusterTls,
  type ClusterTlsFiles,
} from './cluster-tls.js';
import { isGatehouseError } from './errors.js';
import { parseSettings, SettingsError } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-cluster-tls-unit-'));
let n = 0;
const file = (content: string | Uint8Array) => {
  const p = join(dir, `f${n++}.pem`);
  writeFileSync(p, content);
  return p;
};

/** A PEM-looking text with hostile content between the armour lines. */
const hostilePem = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }),
  fc
    .tuple(
      fc.constantFrom('CERTIFICATE', 'PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY', 'X509 CRL', ''),
      fc.oneof(fc.base64String({ maxLength: 400 }), fc.string({ maxLength: 200 })),
    )
    .map(([label, body]) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`),
);

const expectClusterTlsError = (e: unknown) => {
  expect(isGatehouseError(e), String(e)).toBe(true);
  if (isGatehouseError(e)) {
    expect(e.code).toBe('GH_ERR_CONFIG_CLUSTER_TLS');
    expect(e.message).toMatch(/--cluster-(cert|cert-key|ca-cert)|cluster certificate/);
  }
};

describe('loadClusterTls', () => {
  it('refuses hostile PEM files with a clear error naming the setting, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostilePem,
        hostilePem,
        hostilePem,
        fc.constantFrom<'pki' | 'shared'>('pki', 'shared'),
        async (cert, key, ca, mode) => {
          const files: ClusterTlsFiles = {
            mode,
            cert: file(cert),
            key: file(key),
            ...(mode === 'pki' ? { ca: file(ca) } : {}),
          };
          try {
            await loadClusterTls(files);
            expect.unreachable('hostile material was accepted');
          } catch (e) {
            expectClusterTlsError(e);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('names a missing file', async () => {
    await expect(
      loadClusterTls({ mode: 'shared', cert: join(dir, 'nope.crt'), key: join(dir, 'nope.key') }),
    ).rejects.toThrow(/cannot read --cluster-cert \(GATEHOUSE_CLUSTER_CERT\) .*nope\.crt: ENOENT/);
  });

  it('parses no identity out of garbage DER', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        expect(identityFromDer(Buffer.from(b))).toBeNull();
      }),
    );
    expect(identityFromDer(undefined)).toBeNull();
  });
});

describe('cluster TLS settings', () => {
  it('refuses any --cluster-mtls that is not pki, shared or off, naming the flag or variable', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => !['pki', 'shared', 'off'].includes(s)),
        fc.boolean(),
        (value, viaEnv) => {
          const args = viaEnv ? [] : [`--cluster-mtls=${value}`];
          const env = viaEnv ? { GATEHOUSE_CLUSTER_MTLS: value } : {};
          try {
            parseSettings(CLUSTER_TLS_SETTINGS, args, env);
            expect.unreachable(`accepted ${JSON.stringify(value)}`);
          } catch (e) {
            expect(e).toBeInstanceOf(SettingsError);
            expect((e as Error).message).toMatch(viaEnv ? /GATEHOUSE_CLUSTER_MTLS/ : /--cluster-mtls/);
          }
        },
      ),
    );
  });

  it('defaults to pki and requires the certificate, key and CA, naming certs generate', () => {
    const values = parseSettings(CLUSTER_TLS_SETTINGS, [], {}).values;
    expect(values.clusterMtls).toBe('pki');
    expect(() => clusterTlsFiles(clusterTlsSettings(values), 'control plane')).toThrow(
      /--cluster-cert \(GATEHOUSE_CLUSTER_CERT\), --cluster-cert-key \(GATEHOUSE_CLUSTER_CERT_KEY\), --cluster-ca-cert \(GATEHOUSE_CLUSTER_CA_CERT\).*gatehouse certs generate.*--dev/,
    );
    expect(() => clusterTlsFiles({ mode: 'shared', cert: 'a.crt' }, 'data plane')).toThrow(
      /no --cluster-cert-key .*gatehouse certs generate/,
    );
    expect(clusterTlsFiles({ mode: 'off' }, 'data plane')).toBeNull();
    expect(clusterTlsFiles({ mode: 'shared', cert: 'a', key: 'b', ca: 'c' }, 'data plane')).toEqual({
      mode: 'shared',
      cert: 'a',
      key: 'b',
    });
  });
});
