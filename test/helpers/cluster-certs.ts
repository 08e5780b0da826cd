/**
 * Cluster mTLS material for integration tests, generated once per test process (a CA, CP and
 * DP certificates, a shared pair; about 0.1 s) with the same generator as `gatehouse certs
 * generate`, plus grpc credentials for a hand-played data plane.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadClusterTls, type ClusterTlsFiles, type ClusterTlsMaterial } from '@gatehouse/shared';
import { generateClusterCerts, type ClusterCertPaths } from '../../control-plane/src/cluster/certs.js';
import type { ClusterServerTls } from '../../control-plane/src/cluster/tls.js';

export interface TestClusterCerts {
  dir: string;
  paths: Required<ClusterCertPaths>;
  /** Files for a DP (pki). */
  dpFiles: ClusterTlsFiles;
  cp: ClusterTlsMaterial;
  dp: ClusterTlsMaterial;
  shared: ClusterTlsMaterial;
  /** The CP's pki policy (any DP certificate signed by the CA). */
  serverTls: ClusterServerTls;
  /** grpc credentials of a DP presenting the pki DP certificate. */
  dpCredentials(): grpc.ChannelCredentials;
}

/** Writes a fresh set (CA, CP, DP, shared pair) into a new temp folder. */
export async function makeClusterCerts(
  opts: { dpCommonName?: string; cpHosts?: string[] } = {},
): Promise<Required<ClusterCertPaths> & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-cluster-certs-'));
  const paths = await generateClusterCerts(dir, { shared: true, ...opts });
  return { ...(paths as Required<ClusterCertPaths>), dir };
}

let cached: Promise<TestClusterCerts> | null = null;

export function testClusterCerts(): Promise<TestClusterCerts> {
  cached ??= (async () => {
    const paths = await makeClusterCerts();
    const dpFiles: ClusterTlsFiles = { mode: 'pki', cert: paths.dpCert, key: paths.dpKey, ca: paths.ca };
    const cp = await loadClusterTls({ mode: 'pki', cert: paths.cpCert, key: paths.cpKey, ca: paths.ca });
    const dp = await loadClusterTls(dpFiles);
    const shared = await loadClusterTls({ mode: 'shared', cert: paths.sharedCert, key: paths.sharedKey });
    return {
      dir: paths.dir,
      paths,
      dpFiles,
      cp,
      dp,
      shared,
      serverTls: { mode: 'pki', material: cp },
      dpCredentials: () => grpc.credentials.createSsl(dp.trust, dp.key, dp.cert),
    };
  })();
  return cached;
}
