/** `gatehouse certs generate`. Loaded by cli.ts only for that command. */
import { resolve } from 'node:path';
import { CLUSTER_CERT_FILES } from '@gatehouse/shared/cluster-tls';
import type { SettingSpec } from '@gatehouse/shared/settings';
import {
  DEFAULT_CERT_DAYS,
  DEFAULT_CP_HOSTS,
  DEFAULT_DP_COMMON_NAME,
  generateClusterCerts,
} from './cluster/certs.js';
import { runGenerate, type GenerateCommand } from './generate-cli.js';

const CERTS_SETTINGS: SettingSpec[] = [
  {
    key: 'dir',
    flag: 'dir',
    env: ['GATEHOUSE_CERTS_DIR'],
    kind: 'string',
    default: '.gatehouse/certs',
    description: 'Folder to write the certificates and keys into.',
  },
  {
    key: 'cpHosts',
    flag: 'cp-hosts',
    env: [],
    kind: 'list',
    default: DEFAULT_CP_HOSTS.join(','),
    description:
      "Comma-separated DNS names / IPs data planes dial the CP by (the CP certificate's SANs; a DP checks one, see --cluster-server-name).",
  },
  {
    key: 'dpCommonName',
    flag: 'dp-common-name',
    env: [],
    kind: 'string',
    default: DEFAULT_DP_COMMON_NAME,
    description: "The DP certificate's common name (what --cluster-allowed-common-names matches).",
  },
  {
    key: 'shared',
    flag: 'shared',
    env: [],
    kind: 'bool',
    default: 'false',
    description: `Also write a shared-mode pair (${CLUSTER_CERT_FILES.sharedCert}, ${CLUSTER_CERT_FILES.sharedKey}).`,
  },
  {
    key: 'days',
    flag: 'days',
    env: [],
    kind: 'int',
    min: 1,
    max: 36500,
    default: String(DEFAULT_CERT_DAYS),
    description: 'Validity in days.',
  },
  {
    key: 'force',
    flag: 'force',
    env: [],
    kind: 'bool',
    default: 'false',
    description: 'Replace existing files.',
  },
];

const CERTS_COMMAND: GenerateCommand = {
  noun: 'certs',
  usage: 'gatehouse certs generate [--dir DIR] [--cp-hosts H,H] [--shared] [--force]',
  description:
    'Writes cluster mTLS material: a CA, a CP certificate and a DP certificate signed by it (pki mode),\nand with --shared a shared-mode pair. ECDSA P-256; keys are written 0600.',
  settings: CERTS_SETTINGS,
  async write(v) {
    const p = await generateClusterCerts(resolve(v.dir as string), {
      cpHosts: v.cpHosts as string[],
      dpCommonName: v.dpCommonName as string,
      shared: v.shared as boolean,
      days: v.days as number,
      force: v.force as boolean,
    });
    const lines = [
      `CA:           ${p.ca}   (both planes: --cluster-ca-cert)`,
      `CA key:       ${p.caKey}   (keep offline; signs more DP certificates)`,
      `CP:           --cluster-cert ${p.cpCert} --cluster-cert-key ${p.cpKey}`,
      `DP:           --cluster-cert ${p.dpCert} --cluster-cert-key ${p.dpKey}`,
    ];
    if (p.sharedCert)
      lines.push(
        `shared mode:  --cluster-mtls shared --cluster-cert ${p.sharedCert} --cluster-cert-key ${p.sharedKey}   (CP and DPs)`,
      );
    return lines;
  },
};

export function runCerts(argv: string[]): Promise<void> {
  return runGenerate(argv, CERTS_COMMAND);
}
