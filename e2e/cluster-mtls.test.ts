/**
 * Cluster mTLS through the CLI (issue 8 item 6): `gatehouse certs generate` writes material both
 * planes accept, in pki and shared mode, without --dev; a CP outside dev mode without it refuses
 * to start, and so does a DP; /clustering/data-planes shows the DP certificate.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  freePort,
  httpStatus,
  runGatehouse,
  startDp,
  tempDir,
  waitUntil,
  type Proc,
} from './helpers/processes.js';

let certs: string;
let keys: string;
const procs: Proc[] = [];

beforeAll(async () => {
  certs = tempDir('certs');
  keys = tempDir('keys');
  const c = runGatehouse('certs', ['certs', 'generate', '--dir', certs, '--shared']);
  expect(await c.exited, c.output).toBe(0);
  expect(c.output).toContain('--cluster-ca-cert');
  const k = runGatehouse('keys', ['keys', 'generate', '--dir', keys]);
  expect(await k.exited, k.output).toBe(0);
});
afterAll(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
});

/** A production-mode CP (no --dev) with the given cluster arguments. */
async function startProductionCp(clusterArgs: string[]) {
  const [adminPort, clusterPort] = [await freePort(), await freePort()];
  const proc = runGatehouse('cp', [
    'cp',
    '--data-dir',
    tempDir('cp'),
    '--signing-key',
    join(keys, 'snapshot-signing.key.json'),
    '--admin-listen',
    `127.0.0.1:${adminPort}`,
    '--cluster-listen',
    `127.0.0.1:${clusterPort}`,
    ...clusterArgs,
  ]);
  procs.push(proc);
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitUntil(
    'control plane',
    async () => {
      if (!proc.alive) throw new Error(proc.output);
      return (await httpStatus(`${admin}/`)) === 200;
    },
    240_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n--- cp output ---\n${proc.output}`);
  });
  return { admin, cluster: `127.0.0.1:${clusterPort}` };
}

const pki = (who: 'cp' | 'dp') => [
  '--cluster-cert',
  join(certs, `${who}.crt`),
  '--cluster-cert-key',
  join(certs, `${who}.key`),
  '--cluster-ca-cert',
  join(certs, 'ca.crt'),
];
const shared = () => [
  '--cluster-mtls',
  'shared',
  '--cluster-cert',
  join(certs, 'cluster.crt'),
  '--cluster-cert-key',
  join(certs, 'cluster.key'),
];

describe('cluster mTLS through the CLI', () => {
  it('certs generate writes keys 0600 and refuses to overwrite without --force', async () => {
    for (const f of ['ca.key', 'cp.key', 'dp.key', 'cluster.key'])
      expect(statSync(join(certs, f)).mode & 0o777, f).toBe(0o600);
    for (const f of ['ca.crt', 'cp.crt', 'dp.crt', 'cluster.crt'])
      expect(statSync(join(certs, f)).mode & 0o077, f).toBe(0o044);
    const again = runGatehouse('certs', ['certs', 'generate', '--dir', certs]);
    expect(await again.exited).toBe(1);
    expect(again.output).toMatch(/exists; pass --force/);
  });

  it('a CP outside dev mode refuses to start without cluster certificates, naming what to do', async () => {
    const p = runGatehouse('cp', [
      'cp',
      '--data-dir',
      tempDir('cp-nocerts'),
      '--signing-key',
      join(keys, 'snapshot-signing.key.json'),
      '--admin-listen',
      '127.0.0.1:0',
      '--cluster-listen',
      '127.0.0.1:0',
    ]);
    expect(await p.exited).toBe(1);
    expect(p.output).toContain('gatehouse certs generate');
    expect(p.output).toContain('--cluster-cert (GATEHOUSE_CLUSTER_CERT)');
    expect(p.output).toContain('GH_ERR_CONFIG_CLUSTER_TLS');
  });

  it('a DP without cluster certificates refuses to start', async () => {
    const p = runGatehouse('dp', [
      'dp',
      '--control-plane',
      '127.0.0.1:1',
      '--trusted-keys',
      join(keys, 'snapshot-signing.jwks.json'),
      '--data-dir',
      tempDir('dp-nocerts'),
    ]);
    expect(await p.exited).toBe(2);
    expect(p.output).toContain('gatehouse certs generate');
  });

  describe('a production-mode CP (no --dev) on pki', () => {
    let cp: { admin: string; cluster: string };
    beforeAll(async () => {
      cp = await startProductionCp(pki('cp'));
    }, 300_000);

    it('syncs a DP with the generated DP certificate; /clustering/data-planes shows it', async () => {
      const dp = await startDp({
        cluster: cp.cluster,
        publicKeys: join(keys, 'snapshot-signing.jwks.json'),
        dataDir: tempDir('dp'),
        workers: 1,
        tls: pki('dp'),
      });
      procs.push(dp.proc);
      const { json } = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
      const row = json.data.find((d: { connected: boolean }) => d.connected);
      expect(row.cert_details).toMatchObject({
        subject: 'CN=gatehouse-dp, O=Gatehouse',
        common_name: 'gatehouse-dp',
      });
      // --days defaults to 1095
      const expiry = row.cert_details.expiry_timestamp as number;
      expect(Math.abs(expiry - (Date.now() / 1000 + 1095 * 86400))).toBeLessThan(3600);
    }, 300_000);

    it('refuses a DP presenting the shared pair; it never becomes ready nor is recorded', async () => {
      const before = (await adminJson(cp.admin, 'GET', '/clustering/data-planes')).json.data.length as number;
      const dp = await startDp({
        cluster: cp.cluster,
        publicKeys: join(keys, 'snapshot-signing.jwks.json'),
        dataDir: tempDir('dp'),
        workers: 1,
        tls: shared(),
        waitReady: false,
      });
      procs.push(dp.proc);
      await waitUntil(
        'the DP to report the refused connection',
        async () => {
          const r = await fetch(`${dp.status}/status`);
          const s = (await r.json()) as { sync: { state: string; lastError: string | null } };
          return s.sync.state !== 'connected' && s.sync.lastError !== null;
        },
        240_000,
      );
      expect(await httpStatus(`${dp.status}/status/ready`)).not.toBe(200);
      expect((await adminJson(cp.admin, 'GET', '/clustering/data-planes')).json.data).toHaveLength(before);
    }, 300_000);
  });

  it('shared: the generated shared pair syncs', async () => {
    const cp = await startProductionCp(shared());
    const dp = await startDp({
      cluster: cp.cluster,
      publicKeys: join(keys, 'snapshot-signing.jwks.json'),
      dataDir: tempDir('dp'),
      workers: 1,
      tls: shared(),
    });
    procs.push(dp.proc);
    const { json } = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
    expect(json.data[0].cert_details.common_name).toBe('gatehouse_clustering');
  }, 300_000);
});
