import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifySnapshot } from '@gatehouse/shared';
import {
  addService,
  eventually,
  getJson,
  openPgliteDatabase,
  startTestCluster,
  TestDataPlane,
  toSigned,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

let tdb: TestDatabase;
let cluster: TestCluster;
const dps: TestDataPlane[] = [];
const dp = (): TestDataPlane => {
  const d = new TestDataPlane(cluster.server.address);
  dps.push(d);
  return d;
};

beforeAll(async () => {
  tdb = await openPgliteDatabase();
});
afterAll(async () => {
  await tdb?.close();
});
beforeEach(async () => {
  cluster = await startTestCluster(tdb.db);
});
afterEach(async () => {
  for (const d of dps.splice(0)) d.close();
  await cluster.stop();
});

describe('cluster sync over gRPC (PGlite)', () => {
  it('sends the newest snapshot to a DP that says Hello without a hash; it verifies with the public key', async () => {
    await addService(cluster.store, 'hello-svc');
    const latest = await cluster.publisher.waitForVersion(await cluster.store.currentVersion());
    const d = dp();
    d.hello({ nodeId: 'dp-hello' });
    const snap = await d.next('snapshot');
    expect(snap.version).toBe(latest.snapshot.version);
    expect(snap.hash).toBe(latest.snapshot.hash);
    const verified = await verifySnapshot(toSigned(snap), cluster.trusted);
    expect(verified.kid).toBe(cluster.kid);
    expect(verified.claims.cp).toBe('cp-test');
    expect(verified.config.services.map((s) => s.name)).toContain('hello-svc');
  });

  it('sends nothing to a DP whose Hello carries the current hash (the heartbeat reply comes first)', async () => {
    const latest = cluster.publisher.latest!.snapshot;
    const d = dp();
    d.hello({ nodeId: 'dp-in-sync', configHash: latest.hash, configVersion: latest.version });
    d.heartbeat(latest.hash, latest.version);
    const hb = await d.next('heartbeat');
    expect(hb.configHash).toBe(latest.hash);
    expect(d.snapshots()).toHaveLength(0);
    await cluster.registry.flush();
    expect((await cluster.registry.get('dp-in-sync'))!.sync_status).toBe('normal');
  });

  it('sends the config again to a DP holding it signed by another key (a rotated signing key), and nothing when the kid is the current one', async () => {
    const latest = cluster.publisher.latest!.snapshot;
    const current = dp();
    current.hello({
      nodeId: 'dp-current-kid',
      configHash: latest.hash,
      configVersion: latest.version,
      configKid: cluster.kid,
    });
    current.heartbeat(latest.hash, latest.version);
    await current.next('heartbeat');
    expect(current.snapshots()).toHaveLength(0);

    const rotated = dp();
    rotated.hello({
      nodeId: 'dp-old-kid',
      configHash: latest.hash,
      configVersion: latest.version,
      configKid: 'the-key-before-rotation',
    });
    const again = await rotated.next('snapshot');
    expect(again.hash).toBe(latest.hash);
    expect((await verifySnapshot(toSigned(again), cluster.trusted)).kid).toBe(cluster.kid);
  });

  it('pushes a write through the store to a connected DP', async () => {
    const d = dp();
    d.hello({ nodeId: 'dp-push' });
    const first = await d.next('snapshot');
    const t0 = performance.now();
    await addService(cluster.store, 'pushed-svc');
    const pushed = await d.next('snapshot');
    const ms = performance.now() - t0;
    console.log(
      `write -> DP received snapshot in ${ms.toFixed(1)} ms (build ${cluster.publisher.latest!.buildMs} ms)`,
    );
    expect(pushed.version).toBeGreaterThan(first.version);
    const v = await verifySnapshot(toSigned(pushed), cluster.trusted, { currentVersion: first.version });
    expect(v.config.services.map((s) => s.name)).toContain('pushed-svc');
  });

  it('coalesces 20 rapid writes into far fewer snapshots, the last holding the final config', async () => {
    const d = dp();
    d.hello({ nodeId: 'dp-burst' });
    await d.next('snapshot');
    const before = cluster.publisher.stats.published;
    for (let i = 0; i < 20; i++) await addService(cluster.store, `burst-${String(i).padStart(2, '0')}`);
    const finalVersion = await cluster.store.currentVersion();
    let last = await d.next('snapshot');
    while (last.version < finalVersion) last = await d.next('snapshot');
    const pushes = d.snapshots().length - 1;
    const published = cluster.publisher.stats.published - before;
    console.log(`20 writes -> ${published} snapshots published, ${pushes} pushed to the DP`);
    expect(pushes).toBeLessThanOrEqual(5);
    expect(published).toBe(pushes);
    const v = await verifySnapshot(toSigned(last), cluster.trusted);
    const names = v.config.services.map((s) => s.name);
    for (let i = 0; i < 20; i++) expect(names).toContain(`burst-${String(i).padStart(2, '0')}`);
  });

  it('records Ack and Nack and serves them on /clustering/data-planes and /clustering/status', async () => {
    const d = dp();
    d.hello({ nodeId: 'dp-acker', labels: { zone: 'a' }, region: 'eu-west' });
    const snap = await d.next('snapshot');
    d.ack(snap);
    await eventually(async () => (await cluster.registry.get('dp-acker'))?.sync_status === 'normal');

    const { status, body } = await getJson<{ data: Record<string, unknown>[]; next: string | null }>(
      `${cluster.adminUrl}/clustering/data-planes`,
    );
    expect(status).toBe(200);
    expect(body.next).toBeNull();
    const row = body.data.find((r) => r.id === 'dp-acker')!;
    expect(row).toMatchObject({
      id: 'dp-acker',
      ip: '127.0.0.1',
      hostname: 'dp-acker.host',
      version: '0.1.0',
      sync_status: 'normal',
      config_hash: snap.hash,
      config_version: Number(snap.version),
      labels: { zone: 'a' },
      region: 'eu-west',
      connected: true,
      last_nack_reason: null,
      plugins: [{ name: 'key-auth', version: '0.1.0' }],
    });
    expect(Math.abs((row.last_seen as number) - Date.now() / 1000)).toBeLessThan(60);

    await addService(cluster.store, 'refused-svc');
    const next = await d.next('snapshot');
    d.nack(next, 'route r1: invalid regex');
    await eventually(async () => (await cluster.registry.get('dp-acker'))?.last_nack_reason !== null);
    const after = (await cluster.registry.get('dp-acker'))!;
    expect(after).toMatchObject({
      last_nack_reason: 'route r1: invalid regex',
      sync_status: 'unknown',
      config_hash: snap.hash,
    });

    const st = await getJson<Record<string, Record<string, unknown>>>(
      `${cluster.adminUrl}/clustering/status`,
    );
    expect(st.status).toBe(200);
    expect(st.body['dp-acker']).toMatchObject({
      config_hash: snap.hash,
      hostname: 'dp-acker.host',
      ip: '127.0.0.1',
    });
    expect(st.body.control_plane).toMatchObject({
      version: Number(cluster.publisher.latest!.snapshot.version),
      config_hash: cluster.publisher.latest!.snapshot.hash,
    });
    expect(typeof st.body.control_plane!.built_at).toBe('number');
  });

  it('pages /clustering/data-planes with size and offset and rejects a bad size', async () => {
    for (const id of ['dp-page-1', 'dp-page-2', 'dp-page-3']) {
      const d = dp();
      d.hello({ nodeId: id });
      await d.next('snapshot');
    }
    await cluster.registry.flush();
    const seen: string[] = [];
    let url: string | null = '/clustering/data-planes?size=1';
    while (url) {
      const page: { body: { data: { id: string }[]; next: string | null } } = await getJson(
        `${cluster.adminUrl}${url}`,
      );
      expect(page.body.data.length).toBeLessThanOrEqual(1);
      seen.push(...page.body.data.map((r) => r.id));
      url = page.body.next;
    }
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(['dp-page-1', 'dp-page-2', 'dp-page-3']));
    const bad = await getJson<{ name: string; fields: Record<string, string> }>(
      `${cluster.adminUrl}/clustering/data-planes?size=0`,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.fields.size).toMatch(/between 1 and 1000/);
  });

  it('pushes each new snapshot to two concurrent DPs', async () => {
    const a = dp();
    const b = dp();
    a.hello({ nodeId: 'dp-a' });
    b.hello({ nodeId: 'dp-b' });
    await Promise.all([a.next('snapshot'), b.next('snapshot')]);
    await addService(cluster.store, 'fanout-svc');
    const version = await cluster.store.currentVersion();
    const [sa, sb] = await Promise.all([a.next('snapshot'), b.next('snapshot')]);
    expect(sa.version).toBe(version);
    expect(sb.hash).toBe(sa.hash);
    expect(
      cluster.server
        .connections()
        .map((c) => c.nodeId)
        .sort(),
    ).toEqual(['dp-a', 'dp-b']);
  });

  it('rejects a stream whose first message is not Hello', async () => {
    const d = dp();
    d.heartbeat();
    const status = await d.status;
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toMatch(/expected Hello as the first message, got heartbeat/);
  });

  it('rejects a Hello without a node id', async () => {
    const d = dp();
    d.hello({ nodeId: '' });
    expect((await d.status).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('refuses a DP with an incompatible version: Refusal, FAILED_PRECONDITION, recorded', async () => {
    const d = dp();
    d.hello({ nodeId: 'dp-future', softwareVersion: '1.0.0' });
    const refusal = await d.next('refusal');
    expect(refusal.syncStatus).toBe('kong_version_incompatible');
    expect((await d.status).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(d.snapshots()).toHaveLength(0);
    await cluster.registry.flush();
    expect(await cluster.registry.get('dp-future')).toMatchObject({
      sync_status: 'kong_version_incompatible',
      connected: false,
      version: '1.0.0',
    });
  });

  it('replaces the older stream when the same node id connects again', async () => {
    const old = dp();
    old.hello({ nodeId: 'dp-twice' });
    await old.next('snapshot');
    const fresh = dp();
    fresh.hello({ nodeId: 'dp-twice' });
    await fresh.next('snapshot');
    expect((await old.status).code).toBe(grpc.status.ALREADY_EXISTS);
    await cluster.registry.flush();
    expect((await cluster.registry.get('dp-twice'))!.connected).toBe(true);
    expect(cluster.server.connections().filter((c) => c.nodeId === 'dp-twice')).toHaveLength(1);
  });

  it('closes every stream with UNAVAILABLE on shutdown and records the DPs disconnected', async () => {
    const d = dp();
    d.hello({ nodeId: 'dp-shutdown' });
    await d.next('snapshot');
    await cluster.server.stop();
    const status = await d.status;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toMatch(/shutting down/);
    expect((await cluster.registry.get('dp-shutdown'))!.connected).toBe(false);
  });
});
