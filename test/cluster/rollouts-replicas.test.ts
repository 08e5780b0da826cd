/**
 * A staged rollout across two CP replicas (one Postgres, a nats-server of our own): the rollout is
 * started on replica A, and the DPs streaming from replica B follow it as A's do — B's DP in the
 * wave gets the change, B's DP outside it is held at the base snapshot (a DP that connects to B
 * meanwhile too), writes on B are refused with 409, and passing the wave releases B's held DP.
 * Replica B learns of it the way a real CP does: `gatehouse.config.changed` over NATS makes its
 * publisher rebuild and its rollout manager re-read the rollout row.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySnapshot, type GatehouseConfig } from '@gatehouse/shared';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { connectReplicas, createCpMessaging } from '../../control-plane/src/messaging/index.js';
import { RolloutManager } from '../../control-plane/src/rollouts/manager.js';
import { parsePlan } from '../../control-plane/src/rollouts/plan.js';
import { getRollout, passWave, startRollout } from '../../control-plane/src/rollouts/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../ratelimit/helpers.js';
import { logger, startTestCluster, TestDataPlane, toSigned, type TestCluster } from './harness.js';

interface Replica {
  cluster: TestCluster;
  manager: RolloutManager;
  messaging: ReturnType<typeof createCpMessaging>;
}

let tdb: TestDatabase;
let nats: NatsServer;
let dbDir: string;
let secondDb: Database;
let a: Replica;
let b: Replica;
const closers: (() => Promise<unknown>)[] = [];
const dps: TestDataPlane[] = [];

async function startReplica(cpId: string, db: Database): Promise<Replica> {
  // The cluster server asks the manager, which needs the cluster's store: one is made after the other.
  const late: { manager?: RolloutManager } = {};
  const cluster = await startTestCluster(db, { select: (s, p) => late.manager!.select(s, p) });
  const messaging = createCpMessaging({ natsUrl: nats.url, cpId, logger, retryMs: 100 });
  const manager = new RolloutManager({
    prisma: db.prisma,
    store: cluster.store,
    key: cluster.key,
    signer: () => cluster.publisher.signer,
    cpId,
    logger,
    tickMs: 3_600_000,
    connectedDataPlanes: () => cluster.registry.listConnected(),
    trafficByDataPlane: () => [],
    reoffer: () => cluster.server.reoffer(),
    announce: (version) => messaging.publishConfigChanged(version),
  });
  late.manager = manager;
  await manager.start();
  const m = manager;
  const onReplicaChange = () => void m.refresh();
  messaging.on('configChanged', onReplicaChange);
  const wiring = connectReplicas({
    messaging,
    store: cluster.store,
    publisher: cluster.publisher,
    versionCheckMs: 0,
    local: { broadcastPurge: () => 0, broadcastTargetHealth: () => 0, broadcastOAuth2Revocations: () => 0 },
  });
  closers.push(async () => {
    wiring.stop();
    messaging.off('configChanged', onReplicaChange);
    m.stop();
    await messaging.close();
    await cluster.stop();
  });
  return { cluster, manager: m, messaging };
}

function connect(r: Replica, nodeId: string, labels: Record<string, string>) {
  const d = new TestDataPlane(r.cluster.server.address);
  dps.push(d);
  d.hello({ nodeId, labels, configHash: '', configVersion: 0n });
  return d;
}

const serviceNames = async (r: Replica, s: Parameters<typeof toSigned>[0]) =>
  (await verifySnapshot(toSigned(s), r.cluster.trusted)).config.services.map((x) => x.name).sort();

async function withService(name: string): Promise<GatehouseConfig> {
  const { config } = await a.cluster.store.readConfig();
  const first = config.services[0]!;
  return { ...config, services: [...config.services, { ...first, id: randomUUID(), name }] };
}

beforeAll(async () => {
  tdb = await createTestDatabase('postgres');
  nats = await startNatsServer();
  dbDir = await mkdtemp(join(tmpdir(), 'gh-rollout-replicas-'));
  // Replica B has its own connection pool to the same database, as another CP process has.
  secondDb = await openDatabase({ databaseUrl: tdb.databaseUrl!, dataDir: dbDir, logger });
  a = await startReplica('cp-a', tdb.db);
  b = await startReplica('cp-b', secondDb);
  await a.cluster.store.services.create({ name: 'base', host: 'base.internal', port: 80 });
  const version = await a.cluster.store.currentVersion();
  await a.cluster.publisher.waitForVersion(version);
  await b.cluster.publisher.waitForVersion(version);
}, 120_000);

afterAll(async () => {
  for (const d of dps.splice(0)) d.close();
  for (const c of closers.splice(0).reverse()) await c();
  await secondDb?.close();
  await rm(dbDir, { recursive: true, force: true });
  await nats?.kill();
  await tdb?.drop();
});

describe('a staged rollout across two CP replicas over NATS', () => {
  it("started on replica A: replica B's wave DP gets the change, its other DPs are held at the base until the wave passes", async () => {
    const canaryB = connect(b, 'canary-b', { canary: 'true' });
    const otherB = connect(b, 'other-b', { tier: 'web' });
    const otherA = connect(a, 'other-a', { tier: 'web' });
    const baseB = await canaryB.next('snapshot');
    canaryB.ack(baseB);
    otherB.ack(await otherB.next('snapshot'));
    otherA.ack(await otherA.next('snapshot'));
    expect(await serviceNames(b, baseB)).toEqual(['base']);

    const plan = parsePlan({ waves: [{ labels: { canary: 'true' } }], soak: 60 });
    const rollout = await startRollout(a.cluster.store, await withService('staged'), plan);
    expect(rollout.baseVersion).toBe(baseB.version);

    // Replica B hears of it over NATS: its wave DP gets the change.
    const changed = await canaryB.next('snapshot');
    expect(changed.version).toBe(rollout.targetVersion);
    expect(await serviceNames(b, changed)).toEqual(['base', 'staged']);
    await waitUntil(
      "replica B's manager holds the rollout",
      async () => b.manager.current?.id === rollout.id,
    );

    // A DP connecting to B while it runs gets the base, at the base version.
    const lateB = connect(b, 'late-b', { tier: 'web' });
    const lateSnap = await lateB.next('snapshot');
    expect(lateSnap.version).toBe(baseB.version);
    expect(await serviceNames(b, lateSnap)).toEqual(['base']);

    // Writes are refused on B too (the rollout row is in Postgres).
    await expect(
      b.cluster.store.services.create({ name: 'sneaky', host: 'x.internal', port: 80 }),
    ).rejects.toMatchObject({ code: 'GH_ERR_ROLLOUT_IN_PROGRESS', status: 409 });
    // Neither replica's held DPs got past the base.
    for (const held of [otherB, otherA])
      expect(held.snapshots().every((s) => s.version <= baseB.version)).toBe(true);

    // The wave passes (judged on A): both replicas release their held DPs.
    const evidence = { window: { from: 0, to: 0 }, wave: groupZero(), rest: groupZero(), breaches: [] };
    expect(await passWave(tdb.db.prisma, rollout, evidence)).toBe(true);
    await a.manager.refresh();
    // What A's gate does after passing a wave: announce it over NATS; B re-reads the row.
    a.messaging.publishConfigChanged(await a.cluster.store.currentVersion());
    const released = await otherB.next('snapshot');
    expect(released.version).toBe(rollout.targetVersion);
    expect(await serviceNames(b, released)).toEqual(['base', 'staged']);
    expect((await otherA.next('snapshot')).version).toBe(rollout.targetVersion);
    expect((await lateB.next('snapshot')).version).toBe(rollout.targetVersion);

    const r = (await getRollout(tdb.db.prisma, rollout.id))!;
    expect(await passWave(tdb.db.prisma, r, evidence)).toBe(true);
    expect((await getRollout(tdb.db.prisma, rollout.id))!.state).toBe('completed');
  }, 120_000);
});

function groupZero() {
  return { data_planes: 0, requests: 0, errors_5xx: 0, error_rate: 0, p99_ms: null };
}
