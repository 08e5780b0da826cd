/**
 * Staged rollouts over the real cluster stream (Postgres, gRPC, signatures): while a rollout runs,
 * the DPs in its waves get the change and the others are held at the base snapshot (a DP that
 * connects meanwhile gets the base too); other config writes are refused with 409; passing the
 * wave releases everyone; a gate breach (from the per-DP figures) writes the base back as a new,
 * higher version and records the evidence.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifySnapshot, type GatehouseConfig } from '@gatehouse/shared';
import { gateWindowStart, RolloutManager } from '../../control-plane/src/rollouts/manager.js';
import { parsePlan, type NodeFigures } from '../../control-plane/src/rollouts/plan.js';
import { getRollout, passWave, startRollout } from '../../control-plane/src/rollouts/store.js';
import {
  logger,
  openPgliteDatabase,
  openPostgresDatabase,
  startTestCluster,
  TestDataPlane,
  toSigned,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

let tdb: TestDatabase;
let cluster: TestCluster;
let manager: RolloutManager;
let figures: NodeFigures[] = [];
const windowStarts: number[] = [];
const dps: TestDataPlane[] = [];

async function connect(
  nodeId: string,
  labels: Record<string, string>,
  held?: { hash: string; version: bigint },
) {
  const d = new TestDataPlane(cluster.server.address);
  dps.push(d);
  d.hello({ nodeId, labels, configHash: held?.hash ?? '', configVersion: held?.version ?? 0n });
  return d;
}

const serviceNames = async (s: Parameters<typeof toSigned>[0]) =>
  (await verifySnapshot(toSigned(s), cluster.trusted)).config.services.map((x) => x.name).sort();

async function settle() {
  await cluster.publisher.waitForVersion(await cluster.store.currentVersion());
  await cluster.publisher.slicesSettled();
  await manager.refresh();
}

/** The current config plus one service named `name` (a copy of the first one). */
async function withService(name: string): Promise<GatehouseConfig> {
  const { config } = await cluster.store.readConfig();
  const first = config.services[0]!;
  return { ...config, services: [...config.services, { ...first, id: randomUUID(), name }] };
}

// PGlite too: it has one connection, and the gate once waited on itself there (a read inside the
// advisory-lock transaction) until the transaction timed out, so a rollout never moved on.
describe.each(['postgres', 'pglite'] as const)('on %s', (kind) => {
  beforeAll(async () => {
    tdb = kind === 'postgres' ? await openPostgresDatabase() : await openPgliteDatabase();
    cluster = await startTestCluster(tdb.db, { select: (s, p) => manager.select(s, p) });
    manager = new RolloutManager({
      prisma: tdb.db.prisma,
      store: cluster.store,
      key: cluster.key,
      signer: () => cluster.publisher.signer,
      cpId: 'cp-test',
      logger,
      tickMs: 3_600_000,
      connectedDataPlanes: () => cluster.registry.listConnected(),
      trafficByDataPlane: (fromMs) => {
        windowStarts.push(fromMs);
        return figures;
      },
      reoffer: () => cluster.server.reoffer(),
      announce: () => {},
    });
    await manager.start();
    await cluster.store.services.create({ name: 'base', host: 'base.internal', port: 80 });
    await settle();
  }, 120_000);
  afterEach(() => {
    for (const d of dps.splice(0)) d.close();
  });
  afterAll(async () => {
    manager?.stop();
    await cluster?.stop();
    await tdb?.close();
  });

  describe('staged rollouts over the cluster stream', () => {
    it('holds the DPs outside the wave at the base, refuses other writes, releases them when the wave passes', async () => {
      const canary = await connect('canary-1', { canary: 'true' });
      const other = await connect('other-1', { tier: 'web' });
      const baseSnap = await canary.next('snapshot');
      canary.ack(baseSnap);
      other.ack(await other.next('snapshot'));
      expect(await serviceNames(baseSnap)).toEqual(['base']);

      const plan = parsePlan({ waves: [{ labels: { canary: 'true' } }], soak: 60 });
      const rollout = await startRollout(cluster.store, await withService('staged'), plan);
      expect(rollout.baseVersion).toBe(baseSnap.version);
      await settle();

      const changed = await canary.next('snapshot');
      expect(changed.version).toBe(rollout.targetVersion);
      expect(await serviceNames(changed)).toEqual(['base', 'staged']);

      // A DP that connects with nothing while the rollout runs gets the base, at the base version.
      const late = await connect('late-1', { tier: 'web' });
      const lateSnap = await late.next('snapshot');
      expect(lateSnap.version).toBe(baseSnap.version);
      expect(lateSnap.hash).toBe(baseSnap.hash);
      expect(await serviceNames(lateSnap)).toEqual(['base']);

      // Other config writes are refused while it runs.
      await expect(
        cluster.store.services.create({ name: 'sneaky', host: 'x.internal', port: 80 }),
      ).rejects.toMatchObject({
        code: 'GH_ERR_ROLLOUT_IN_PROGRESS',
        status: 409,
      });
      // The held DP got nothing past the base.
      expect(other.snapshots().every((s) => s.version <= baseSnap.version)).toBe(true);

      // The wave passes (the last wave, everyone, starts): the held DPs get the change.
      const evidence = { window: { from: 0, to: 0 }, wave: groupZero(), rest: groupZero(), breaches: [] };
      expect(await passWave(tdb.db.prisma, rollout, evidence)).toBe(true);
      await manager.refresh();
      const released = await other.next('snapshot');
      expect(released.version).toBe(rollout.targetVersion);
      expect(await serviceNames(released)).toEqual(['base', 'staged']);
      expect((await late.next('snapshot')).version).toBe(rollout.targetVersion);

      // The last wave passes: completed, and writes are allowed again.
      const r = (await getRollout(tdb.db.prisma, rollout.id))!;
      expect(await passWave(tdb.db.prisma, r, evidence)).toBe(true);
      expect((await getRollout(tdb.db.prisma, rollout.id))!.state).toBe('completed');
      await cluster.store.services.delete('staged');
      await settle();
    });

    it('rolls back on a gate breach judged from the per-DP figures: a new, higher version with the base config', async () => {
      const canary = await connect('canary-2', { canary: 'true' });
      const other = await connect('other-2', { tier: 'web' });
      const base = await canary.next('snapshot');
      canary.ack(base);
      other.ack(await other.next('snapshot'));
      // Both DPs are recorded connected before the gate reads the registry.
      await cluster.registry.flush();

      const plan = parsePlan({
        waves: [{ labels: { canary: 'true' } }],
        soak: 60,
        gate: { max_error_rate: 0.1, min_requests: 10 },
      });
      const rollout = await startRollout(cluster.store, await withService('broken'), plan);
      await settle();
      expect((await canary.next('snapshot')).version).toBe(rollout.targetVersion);

      // Too few requests yet, soak not over: the gate waits.
      figures = [{ nodeId: 'canary-2', requests: 5, errors_5xx: 5, p99_ms: 3 }];
      windowStarts.length = 0;
      await manager.tick();
      expect((await getRollout(tdb.db.prisma, rollout.id))!.state).toBe('running');
      // It reads whole analytics buckets after the wave started, never the one holding traffic
      // from before it (the e2e's good rollout right after a failed one was judged on its 502s).
      expect(windowStarts).toEqual([gateWindowStart(rollout.waveStartedAt)]);
      expect(windowStarts[0]! % 10_000).toBe(0);
      expect(windowStarts[0]!).toBeGreaterThanOrEqual(rollout.waveStartedAt);

      // The canary answers 502s: the gate fails at once, before the soak is over.
      figures = [
        { nodeId: 'canary-2', requests: 40, errors_5xx: 30, p99_ms: 3 },
        { nodeId: 'other-2', requests: 40, errors_5xx: 0, p99_ms: 3 },
      ];
      await manager.tick();
      const failed = (await getRollout(tdb.db.prisma, rollout.id))!;
      expect(failed.state).toBe('failed');
      expect(failed.rollbackVersion).toBeGreaterThan(failed.targetVersion);
      expect(failed.reason).toMatch(/above max_error_rate 0.1/);
      expect(failed.waves[0]!.evidence).toMatchObject({
        wave: { data_planes: 1, requests: 40, errors_5xx: 30, error_rate: 0.75 },
        rest: { data_planes: 1, requests: 40, errors_5xx: 0 },
      });
      await settle();
      const rolledBack = await canary.next('snapshot');
      expect(rolledBack.version).toBe(failed.rollbackVersion);
      expect(rolledBack.hash).toBe(base.hash);
      expect(await serviceNames(rolledBack)).toEqual(['base']);
      // The held DP never got the change, not even between the rollback and its snapshot (it holds
      // the base's config already, so the rollback itself sends it nothing).
      expect(
        other.snapshots().every((s) => s.version <= base.version || s.version >= failed.rollbackVersion!),
      ).toBe(true);
      // Writes are allowed again.
      await cluster.store.services.create({ name: 'after', host: 'after.internal', port: 80 });
    });
  });
});

function groupZero() {
  return { data_planes: 0, requests: 0, errors_5xx: 0, error_rate: 0, p99_ms: null };
}
