// The command lines and environments of `gatehouse dev`'s children, one function per kind: the
// one place to add a setting to a control plane or a data plane (called at every (re)start).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clusterTlsArgs, devDataPlaneTlsFiles } from '../../shared/dist/index.js';
import { say } from './supervisor.mjs';

const NATS_VARIABLES = ['NATS_URL', 'GATEHOUSE_NATS_URL'];
const DATABASE_VARIABLES = ['DATABASE_URL', 'GATEHOUSE_DATABASE_URL'];

/** Postgres URL given to the control planes (the CP reads the same two variables). */
export const databaseUrl = () => process.env.GATEHOUSE_DATABASE_URL || process.env.DATABASE_URL || '';
export const natsUrl = () => process.env.GATEHOUSE_NATS_URL || process.env.NATS_URL || '';

/** This environment with the database and NATS variables that are set but empty left out:
 * here they mean unset (the CP and the DP refuse an empty setting). */
function childEnv() {
  const env = { ...process.env };
  for (const v of [...NATS_VARIABLES, ...DATABASE_VARIABLES]) if (env[v] === '') delete env[v];
  return env;
}

/**
 * The control planes' environment. On the embedded PGlite a CP refuses NATS (replicas need
 * Postgres, GH_ERR_CONFIG_REPLICAS_NEED_POSTGRES) and would exit at every restart: NATS_URL is
 * kept from it (the data planes still get it, for the cluster rate-limiting policy).
 */
let saidNats = false;
export function controlPlaneEnv() {
  const env = childEnv();
  if (databaseUrl() || !natsUrl()) return env;
  if (!saidNats)
    say(
      'NATS_URL is not passed to the control plane: it runs on the embedded PGlite (set DATABASE_URL for Postgres)',
    );
  saidNats = true;
  for (const v of NATS_VARIABLES) delete env[v];
  return env;
}

/** Where a dev CP keeps the public keys DPs verify snapshots with (plain mode: an older data folder). */
export const trustedKeysFile = (cpDir) => join(cpDir, 'keys', 'snapshot-signing.jwks.json');
/** Where a dev CP keeps the root public key (root-key mode, the default for a new data folder). */
export const rootKeyFile = (cpDir) => join(cpDir, 'keys', 'snapshot-root.pub.json');

/** `gatehouse cp --dev` with its data in `dir`; `cpId` names a replica; the admin UI on `guiPort` (else none). */
export function controlPlaneCommand({ dir, adminPort, guiPort, clusterPort, cpId, env }) {
  return {
    script: 'control-plane/dist/cli.js',
    args: [
      'cp',
      '--dev',
      '--data-dir',
      dir,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      '--cluster-listen',
      `127.0.0.1:${clusterPort}`,
      '--admin-gui-listen',
      guiPort === undefined ? 'off' : `127.0.0.1:${guiPort}`,
      ...(cpId ? ['--cp-id', cpId] : []),
    ],
    env,
    readyUrl: `http://127.0.0.1:${adminPort}/`,
    // 401: the CP is up and wants the admin token (GATEHOUSE_ADMIN_TOKEN / _FILE, passed through).
    isReady: (status) => (status >= 200 && status < 300) || status === 401,
  };
}

/**
 * `gatehouse dp` joined to the CP(s) at `controlPlanes` (host:port each, the first tried first),
 * trusting the keys and cluster certificates the dev CP in `keysDir` generated.
 */
export function dataPlaneCommand({ dir, keysDir, controlPlanes, ports, workers, nodeId, region }) {
  const clusterMtls = process.env.GATEHOUSE_CLUSTER_MTLS ?? 'pki';
  const argv = [
    '--control-plane',
    controlPlanes.join(','),
    // Root-key mode (the dev CP made a root key) unless the data folder predates it.
    ...(existsSync(rootKeyFile(keysDir))
      ? ['--cluster-root-key', rootKeyFile(keysDir)]
      : ['--trusted-keys', trustedKeysFile(keysDir)]),
    // Mutual TLS on the cluster channel: the certificates the CP's --dev generated (pki, or the
    // mode GATEHOUSE_CLUSTER_MTLS gives both processes).
    ...(clusterMtls === 'off' ? [] : clusterTlsArgs(devDataPlaneTlsFiles(keysDir, clusterMtls))),
    // The dev CP certificate names localhost; verifying (and sending SNI) by that name rather than
    // by 127.0.0.1 keeps an IP address out of the TLS server name (RFC 6066; Node's DEP0123).
    ...(clusterMtls === 'pki' ? ['--cluster-server-name', 'localhost'] : []),
    '--data-dir',
    dir,
    '--listen',
    `0.0.0.0:${ports.proxy}`,
    ...(ports.proxySsl ? ['--listen-ssl', `0.0.0.0:${ports.proxySsl}`] : []),
    '--status-listen',
    `127.0.0.1:${ports.status}`,
    ...(nodeId ? ['--node-id', nodeId] : []),
    ...(region ? ['--region', region] : []),
  ];
  if (workers) argv.push('--workers', String(workers));
  return {
    script: 'data-plane/dist/start/cli.js',
    args: argv,
    env: childEnv(),
    readyUrl: `http://127.0.0.1:${ports.status}/status/ready`,
    isReady: (status) => status >= 200 && status < 300,
  };
}
