/**
 * Delta sync (issue 12) against a real Postgres, ConfigStore, publisher and cluster server: a
 * one-route change at 10,000 routes travels as a delta to DPs that take deltas (the real config
 * client and applier), a forced mismatch falls back to the full snapshot, a tampered delta is
 * refused, and every DP's config hash equals the CP's full snapshot hash.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedDeltaFromProto, type SignedSnapshot } from '@gatehouse/shared';
import { SimulatedFleet } from '../../data-plane/src/simulator/fleet-simulator.js';
import { clusterChannel } from '../../data-plane/src/sync/cluster-tls.js';
import { SnapshotApplier, type SnapshotStore } from '../../data-plane/src/sync/snapshot-applier.js';
import type { PublishedSnapshot } from '../../control-plane/src/snapshot/index.js';
import {
  eventually,
  logger,
  openPostgresDatabase,
  startTestCluster,
  TEST_CERTS,
  TestDataPlane,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

const ROUTES = 10_000;

/** The real applier with an in-memory cache (what a DP's primary runs, minus workers). */
function applier(trusted: TestCluster['trusted']) {
  const cached: { snapshot: SignedSnapshot | null } = { snapshot: null };
  const cache: SnapshotStore = {
    file: '(memory)',
    encrypted: false,
    write: (s) => {
      cached.snapshot = s;
      return Promise.resolve();
    },
    load: () => Promise.resolve({ status: 'none' }),
  };
  const a = new SnapshotApplier({
    trustedKeys: trusted,
    compiler: { compile: () => undefined },
    target: { apply: () => Promise.resolve() },
    cache,
    logger,
  });
  return { applier: a, cached };
}

describe('delta sync', () => {
  let db: TestDatabase;
  let cluster: TestCluster;
  let serviceId: string;
  const fleets: SimulatedFleet[] = [];
  const dps: TestDataPlane[] = [];

  const fleet = (count: number, deltas: boolean, idPrefix: string) => {
    const f = new SimulatedFleet({
      controlPlane: `127.0.0.1:${cluster.server.port}`,
      count,
      trustedKeys: cluster.trusted,
      channel: clusterChannel({ mode: 'pki', material: TEST_CERTS.dp }),
      plugins: [],
      logger,
      backoff: { baseMs: 50, maxMs: 500 },
      deltas,
      idPrefix,
    });
    fleets.push(f);
    return f;
  };
  const rawDp = () => {
    const dp = new TestDataPlane(`127.0.0.1:${cluster.server.port}`);
    dps.push(dp);
    return dp;
  };
  const newer = (than: PublishedSnapshot) =>
    eventually(() => {
      const latest = cluster.publisher.latest!;
      return latest.snapshot.version > than.snapshot.version ? latest : null;
    }, 30_000);
  let routeNo = 0;
  /** A one-route change through the store (a real, version-bumping write). */
  const changeOneRoute = async () => {
    routeNo += 1;
    await cluster.store.entities.routes.update(`r-${routeNo}`, { paths: [`/changed-${routeNo}`] });
  };

  beforeAll(async () => {
    db = await openPostgresDatabase();
    cluster = await startTestCluster(db.db);
    const svc = await cluster.store.services.create({ name: 'many', host: 'many.internal', port: 80 });
    serviceId = (svc as { id: string }).id;
    // 10,000 routes in one version-bumping write (SQL: the Admin API path would take minutes).
    await cluster.store.write(async (tx) => {
      await tx.$executeRawUnsafe(
        `INSERT INTO routes (id, name, paths, service_id)
         SELECT gen_random_uuid(), 'r-' || i, ARRAY['/r-' || i], $1::uuid FROM generate_series(1, ${ROUTES}) AS i`,
        serviceId,
      );
    });
    await eventually(() => (cluster.publisher.latest?.snapshot.uncompressedSize ?? 0) > ROUTES * 100, 60_000);
  }, 120_000);

  afterAll(async () => {
    for (const dp of dps) dp.close();
    await Promise.all(fleets.map((f) => f.stop()));
    await cluster?.stop();
    await db?.close();
  });

  it('sends a one-route change at 10,000 routes as a delta, far smaller than the full snapshot; hashes equal', async ({
    annotate,
  }) => {
    const withDeltas = fleet(2, true, 'delta');
    const without = fleet(1, false, 'full');
    withDeltas.start();
    without.start();
    const first = cluster.publisher.latest!;
    await eventually(() => withDeltas.holding(first.snapshot.hash) === 2, 60_000);
    await eventually(() => without.holding(first.snapshot.hash) === 1, 60_000);
    const before = cluster.deltas.stats;

    await changeOneRoute();
    const next = await newer(first);
    await eventually(() => withDeltas.holding(next.snapshot.hash) === 2, 60_000);
    await eventually(() => without.holding(next.snapshot.hash) === 1, 60_000);

    const after = cluster.deltas.stats;
    expect(after.sent - before.sent).toBe(2);
    expect(after.unsupported - before.unsupported).toBe(1);
    const deltaBytes = (after.bytes.delta - before.bytes.delta) / 2;
    const fullBytes = after.bytes.full - before.bytes.full;
    expect(fullBytes).toBe(next.snapshot.config.length + next.snapshot.jws.length);
    // A 10,000-route config compresses to hundreds of KiB; one route's delta is about a KiB.
    expect(deltaBytes * 50).toBeLessThan(fullBytes);
    // The figures docs/cluster-protocol.md quotes (bytes one DP is sent for this change).
    await annotate(
      `one-route change at ${ROUTES} routes, per DP: full ${fullBytes} B, delta ${deltaBytes} B`,
    );
    const conns = cluster.server.connections();
    expect(conns.filter((c) => c.nodeId.startsWith('delta-')).map((c) => c.deltasSent)).toEqual([1, 1]);
  }, 120_000);

  it('falls back to the full snapshot when the DP Nacks a delta, and for an unknown base', async () => {
    const base = cluster.publisher.latest!;
    const dp = rawDp();
    dp.hello({
      nodeId: 'raw-nack',
      acceptsDeltas: true,
      configHash: base.snapshot.hash,
      configVersion: base.snapshot.version,
    });
    await changeOneRoute();
    const next = await newer(base);
    const delta = await dp.next('snapshotDelta', 30_000);
    expect(delta.baseHash).toBe(base.snapshot.hash);
    expect(delta.hash).toBe(next.snapshot.hash);
    const nacks = cluster.deltas.stats.fallbacks.nack;
    dp.nack(delta, 'GH_ERR_SNAPSHOT_DELTA_BASE: forced mismatch');
    const full = await dp.next('snapshot', 30_000);
    expect(full.hash).toBe(next.snapshot.hash);
    expect(cluster.deltas.stats.fallbacks.nack).toBe(nacks + 1);

    // A DP holding a config this CP never handed out gets the full snapshot.
    const unknown = cluster.deltas.stats.fallbacks.unknown_base;
    const stranger = rawDp();
    stranger.hello({
      nodeId: 'raw-unknown',
      acceptsDeltas: true,
      configHash: 'ab'.repeat(32),
      configVersion: 1n,
    });
    expect((await stranger.next('snapshot', 30_000)).hash).toBe(next.snapshot.hash);
    expect(cluster.deltas.stats.fallbacks.unknown_base).toBe(unknown + 1);
  }, 120_000);

  it('a real applier takes the delta to the signed hash, refuses a tampered one and keeps its config', async () => {
    const base = cluster.publisher.latest!;
    const { applier: a, cached } = applier(cluster.trusted);
    expect((await a.handle(base.snapshot, 'control_plane')).ok).toBe(true);
    const dp = rawDp();
    dp.hello({
      nodeId: 'raw-apply',
      acceptsDeltas: true,
      configHash: base.snapshot.hash,
      configVersion: base.snapshot.version,
    });
    await changeOneRoute();
    const next = await newer(base);
    const delta = signedDeltaFromProto(await dp.next('snapshotDelta', 30_000));

    // Tampered: one route's path changed inside the signed ops.
    const ops = gunzipSync(delta.ops).toString();
    const tampered = { ...delta, ops: gzipSync(Buffer.from(ops.replace(/\/changed-/, '/evil-'))) };
    const refused = await a.handleDelta(tampered);
    expect(refused).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_HASH_MISMATCH' });
    expect(a.held!.hash).toBe(base.snapshot.hash);

    // Not based on the config held: refused, nothing changes.
    const other = applier(cluster.trusted).applier;
    expect(await other.handleDelta(delta)).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_DELTA_BASE' });

    const ok = await a.handleDelta(delta);
    expect(ok).toMatchObject({ ok: true, changed: true, hash: next.snapshot.hash });
    expect(a.held).toMatchObject({ hash: next.snapshot.hash, version: next.snapshot.version });
    dp.ack(delta);

    // The cache holds the full result beside the delta's signature: a fresh applier (a restart)
    // verifies and serves it.
    const restarted = applier(cluster.trusted).applier;
    expect(await restarted.handle(cached.snapshot!, 'cache')).toMatchObject({
      ok: true,
      hash: next.snapshot.hash,
    });
    // …and the same bytes as the CP's full snapshot.
    expect(gunzipSync(cached.snapshot!.config).equals(gunzipSync(next.snapshot.config))).toBe(true);
  }, 120_000);
});
