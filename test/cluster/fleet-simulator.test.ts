/**
 * The fleet simulator (issue 12): many DPs in one process, each with its own gRPC connection and
 * the real snapshot checks, against a real cluster server, ConfigStore and publisher.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedKeys, writeSigningKeyPair } from '@gatehouse/shared';
import { SimulatedFleet, type SimulatedApply } from '../../data-plane/src/simulator/fleet-simulator.js';
import { clusterChannel } from '../../data-plane/src/sync/cluster-tls.js';
import {
  addService,
  eventually,
  getJson,
  logger,
  openPgliteDatabase,
  startTestCluster,
  TEST_CERTS,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

const COUNT = 40;

/** Established TCP connections accepted on 127.0.0.1:`port` (Linux: /proc/net/tcp). */
async function establishedTo(port: number): Promise<number> {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1);
  return rows.filter((r) => {
    const f = r.trim().split(/\s+/);
    return f[1] === local && f[3] === '01';
  }).length;
}

describe('fleet simulator', () => {
  let db: TestDatabase;
  let cluster: TestCluster;
  const fleets: SimulatedFleet[] = [];

  const fleet = (o: Partial<ConstructorParameters<typeof SimulatedFleet>[0]> = {}) => {
    const f = new SimulatedFleet({
      controlPlane: `127.0.0.1:${cluster.server.port}`,
      count: COUNT,
      trustedKeys: cluster.trusted,
      channel: clusterChannel({ mode: 'pki', material: TEST_CERTS.dp }),
      plugins: [],
      regions: ['eu', 'us'],
      logger,
      backoff: { baseMs: 50, maxMs: 500 },
      ...o,
    });
    fleets.push(f);
    return f;
  };

  beforeAll(async () => {
    db = await openPgliteDatabase();
    cluster = await startTestCluster(db.db);
  });

  afterAll(async () => {
    await Promise.all(fleets.map((f) => f.stop()));
    await cluster?.stop();
    await db?.close();
  });

  it('connects every simulated DP on a connection of its own, each verifies and holds every change', async () => {
    const f = fleet();
    const applied: SimulatedApply[] = [];
    f.on('applied', (a) => applied.push(a));
    f.start();
    const first = await eventually(() => cluster.publisher.latest);
    await eventually(() => f.holding(first.snapshot.hash) === COUNT, 30_000);
    expect(f.connected()).toBe(COUNT);
    // One TCP connection per DP, as on real machines (not one shared HTTP/2 connection).
    expect(cluster.server.connections().length).toBe(COUNT);
    expect(await establishedTo(cluster.server.port)).toBe(COUNT);

    await addService(cluster.store, 'sim-change');
    const next = await eventually(() => {
      const latest = cluster.publisher.latest!;
      return latest.snapshot.version > first.snapshot.version ? latest : null;
    });
    await eventually(() => f.holding(next.snapshot.hash) === COUNT, 30_000);
    expect(new Set(applied.filter((a) => a.hash === next.snapshot.hash).map((a) => a.index)).size).toBe(
      COUNT,
    );
    // The CP's registry has every one of them in sync, in both regions.
    await eventually(async () => {
      const { body } = await getJson<{ data: { id: string; sync_status: string; region: string | null }[] }>(
        `${cluster.adminUrl}/clustering/data-planes`,
      );
      const sims = body.data.filter((d) => d.id.startsWith('sim-'));
      return (
        sims.length === COUNT &&
        sims.every((d) => d.sync_status === 'normal') &&
        new Set(sims.map((d) => d.region)).size === 2
      );
    }, 30_000);
  });

  it('refuses snapshots signed by a key it does not trust, as a real DP does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-sim-keys-'));
    try {
      const other = await loadTrustedKeys([(await writeSigningKeyPair(dir)).publicKeysFile]);
      const f = fleet({ count: 3, trustedKeys: other, idPrefix: 'untrusting' });
      const refused: string[] = [];
      f.on('refused', (r) => refused.push(r.code));
      f.start();
      await eventually(() => refused.length >= 3, 30_000);
      expect(new Set(refused)).toEqual(new Set([refused[0]]));
      expect(refused[0]).toMatch(/^GH_ERR_SNAPSHOT_/);
      expect(f.versions()).toEqual([null, null, null]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a fleet of no DPs with a clear error', () => {
    expect(() => fleet({ count: 0 })).toThrow(/1 or more DPs, got 0/);
    expect(() => fleet({ count: Number.NaN })).toThrow(/1 or more DPs/);
  });
});
