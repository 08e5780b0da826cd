/**
 * Cluster channel mutual TLS (issue 8 item 6): who gets the configuration.
 *
 * Each refused DP is a real gRPC client on a real socket. A refusal must happen before any
 * message reaches the DP (nothing received, the stream fails UNAVAILABLE/UNAUTHENTICATED) and
 * the CP must log it; the accepted DP gets the snapshot.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadClusterTls, type ClusterTlsMaterial } from '@gatehouse/shared';
import { clusterChannel } from '../../data-plane/src/sync/cluster-tls.js';
import type { ClusterServerTls } from '../../control-plane/src/cluster/tls.js';
import { makeClusterCerts } from '../helpers/cluster-certs.js';
import {
  addService,
  capturingLogger,
  eventually,
  getJson,
  openPostgresDatabase,
  startTestCluster,
  TEST_CERTS,
  TestDataPlane,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

let tdb: TestDatabase;
let other: Awaited<ReturnType<typeof makeClusterCerts>>;
let otherDp: ClusterTlsMaterial;
let otherShared: ClusterTlsMaterial;
const clusters: TestCluster[] = [];
const dps: TestDataPlane[] = [];

beforeAll(async () => {
  tdb = await openPostgresDatabase();
  // A second, unrelated set: its CA, DP certificate and shared pair are strangers to the cluster.
  other = await makeClusterCerts();
  otherDp = await loadClusterTls({ mode: 'pki', cert: other.dpCert, key: other.dpKey, ca: other.ca });
  otherShared = await loadClusterTls({ mode: 'shared', cert: other.sharedCert, key: other.sharedKey });
});
afterAll(async () => {
  await tdb?.close();
});
afterEach(async () => {
  for (const d of dps.splice(0)) d.close();
  for (const c of clusters.splice(0)) await c.stop();
});

async function cluster(tls: ClusterServerTls) {
  const { logger, lines, repeatedKeys } = capturingLogger();
  const c = await startTestCluster(tdb.db, { tls, logger });
  clusters.push(c);
  await addService(c.store, `svc-${randomUUID().slice(0, 8)}`);
  await eventually(() => c.publisher.latest);
  return { c, lines, repeatedKeys };
}

function dp(address: string, credentials: grpc.ChannelCredentials, options: grpc.ClientOptions = {}) {
  const d = new TestDataPlane(address, options, credentials);
  dps.push(d);
  d.hello({ nodeId: `dp-${dps.length}` });
  return d;
}

/** The stream ends without a single message from the CP, and the CP logged a refusal. */
async function expectRefused(d: TestDataPlane, lines: Record<string, unknown>[], reason: RegExp) {
  const status = await d.status;
  expect([grpc.status.UNAVAILABLE, grpc.status.UNAUTHENTICATED]).toContain(status.code);
  expect(d.received).toEqual([]);
  const refusal = await eventually(() =>
    lines.find(
      (l) => /^refused a cluster (connection|stream)/.test(String(l.msg)) && reason.test(String(l.reason)),
    ),
  ).catch((e: Error) => {
    throw new Error(`${e.message}; the CP logged:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
  });
  expect(refusal.level).toBe(40); // warn
}

const pkiDp = () => clusterChannel({ mode: 'pki', material: TEST_CERTS.dp }).credentials;

describe('cluster mTLS, pki mode', () => {
  it('syncs a DP presenting a certificate signed by the CA', async () => {
    const { c, lines, repeatedKeys } = await cluster(TEST_CERTS.serverTls);
    const d = dp(c.server.address, pkiDp());
    const s = await d.next('snapshot');
    expect(s.hash).toBe(c.publisher.latest!.snapshot.hash);
    d.ack(s);
    await eventually(() => lines.find((l) => l.msg === 'DP acked snapshot'));
    // The session's logger is bound to the node id once Hello is in; no line repeats a key (the
    // CP's own `hostname` and the DP's were both written as `hostname`).
    expect(lines.find((l) => l.msg === 'DP connected')).toMatchObject({
      nodeId: 'dp-1',
      dpHostname: expect.any(String) as unknown,
    });
    expect(repeatedKeys).toEqual([]);
  });

  it('refuses a DP with no client certificate at the TLS handshake; it receives nothing', async () => {
    const { c, lines } = await cluster(TEST_CERTS.serverTls);
    const d = dp(c.server.address, grpc.credentials.createSsl(TEST_CERTS.cp.trust));
    await expectRefused(d, lines, /certificate/i);
  });

  it('gives a plaintext client nothing (the channel before this fix)', async () => {
    const { c, lines } = await cluster(TEST_CERTS.serverTls);
    const d = dp(c.server.address, grpc.credentials.createInsecure());
    expect((await d.status).code).toBe(grpc.status.UNAVAILABLE);
    expect(d.received).toEqual([]);
    await expectRefused(d, lines, /./);
  });

  it('refuses a DP whose certificate is signed by another CA', async () => {
    const { c, lines } = await cluster(TEST_CERTS.serverTls);
    // It trusts the cluster's CA (so it would accept the CP), but presents a stranger's certificate.
    const d = dp(
      c.server.address,
      grpc.credentials.createSsl(TEST_CERTS.cp.trust, otherDp.key, otherDp.cert),
    );
    await expectRefused(d, lines, /certificate/i);
  });

  it('refuses a DP whose common name is not in the allow-list, and syncs one that is', async () => {
    const refused = await cluster({
      mode: 'pki',
      material: TEST_CERTS.cp,
      allowedCommonNames: ['dp-eu-1', 'dp-eu-2'],
    });
    const d = dp(refused.c.server.address, pkiDp());
    await expectRefused(
      d,
      refused.lines,
      /common name "gatehouse-dp" is not in --cluster-allowed-common-names/,
    );

    const allowed = await cluster({
      mode: 'pki',
      material: TEST_CERTS.cp,
      allowedCommonNames: ['dp-eu-1', 'gatehouse-dp'],
    });
    const ok = dp(allowed.c.server.address, pkiDp());
    await ok.next('snapshot');
  });

  it('a DP refuses a CP whose certificate does not verify (another CA, or the wrong server name)', async () => {
    const stranger = await loadClusterTls({
      mode: 'pki',
      cert: other.cpCert,
      key: other.cpKey,
      ca: other.ca,
    });
    // The CP presents a certificate from another CA but accepts the cluster's DPs.
    const { c } = await cluster({ mode: 'pki', material: { ...stranger, trust: TEST_CERTS.cp.trust } });
    const d = dp(c.server.address, pkiDp());
    const status = await d.status;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(d.received).toEqual([]);

    // The right CP, dialled under a name its certificate does not hold.
    const good = await cluster(TEST_CERTS.serverTls);
    const ch = clusterChannel({ mode: 'pki', material: TEST_CERTS.dp, serverName: 'cp.elsewhere.example' });
    const wrongName = dp(good.c.server.address, ch.credentials, ch.channelOptions);
    expect((await wrongName.status).code).toBe(grpc.status.UNAVAILABLE);
    expect(wrongName.received).toEqual([]);
    // ... and under the name it holds (a SAN of the generated CP certificate).
    const named = clusterChannel({ mode: 'pki', material: TEST_CERTS.dp, serverName: 'localhost' });
    await dp(good.c.server.address, named.credentials, named.channelOptions).next('snapshot');
  });

  it('shows the DP certificate subject and expiry on /clustering/data-planes', async () => {
    const { c } = await cluster(TEST_CERTS.serverTls);
    const d = dp(c.server.address, pkiDp());
    await d.next('snapshot');
    const expiry = Math.floor(new Date(new X509Certificate(TEST_CERTS.dp.cert).validTo).getTime() / 1000);
    const { body } = await eventually(async () => {
      const r = await getJson<{ data: { id: string; cert_details: unknown }[] }>(
        `${c.adminUrl}/clustering/data-planes`,
      );
      return r.body.data.some((x) => x.id === 'dp-' + dps.length && x.cert_details) ? r : null;
    });
    const row = body.data.find((x) => x.id === 'dp-' + dps.length)!;
    expect(row.cert_details).toEqual({
      subject: 'CN=gatehouse-dp, O=Gatehouse',
      common_name: 'gatehouse-dp',
      expiry_timestamp: expiry,
    });
    expect(c.server.connections()[0]!.certificate?.commonName).toBe('gatehouse-dp');
  });
});

describe('cluster mTLS, shared mode', () => {
  const sharedTls = (): ClusterServerTls => ({ mode: 'shared', material: TEST_CERTS.shared });
  const sharedDp = (m: ClusterTlsMaterial) => {
    const ch = clusterChannel({ mode: 'shared', material: m });
    return [ch.credentials, ch.channelOptions] as const;
  };

  it('syncs a DP presenting the shared certificate', async () => {
    const { c } = await cluster(sharedTls());
    await dp(c.server.address, ...sharedDp(TEST_CERTS.shared)).next('snapshot');
  });

  it('refuses a DP presenting another shared certificate, or a pki DP certificate', async () => {
    const { c, lines } = await cluster(sharedTls());
    // Another shared pair, trusting the right one (so it would accept the CP).
    const wrong = grpc.credentials.createSsl(TEST_CERTS.shared.trust, otherShared.key, otherShared.cert);
    const d = dp(c.server.address, wrong, { 'grpc.ssl_target_name_override': 'gatehouse_clustering' });
    await expectRefused(d, lines, /certificate/i);
    const pki = grpc.credentials.createSsl(TEST_CERTS.shared.trust, TEST_CERTS.dp.key, TEST_CERTS.dp.cert);
    const d2 = dp(c.server.address, pki, { 'grpc.ssl_target_name_override': 'gatehouse_clustering' });
    expect((await d2.status).code).toBe(grpc.status.UNAVAILABLE);
    expect(d2.received).toEqual([]);
  });

  it('a DP refuses a CP that does not present its shared certificate', async () => {
    const { c } = await cluster({
      mode: 'shared',
      material: { ...otherShared, trust: TEST_CERTS.shared.trust },
    });
    const d = dp(c.server.address, ...sharedDp(TEST_CERTS.shared));
    expect((await d.status).code).toBe(grpc.status.UNAVAILABLE);
    expect(d.received).toEqual([]);
  });
});
