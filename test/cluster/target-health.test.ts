/**
 * Target health on the cluster stream, CP side, over a real gRPC stream: the DP's heartbeat lists
 * its unhealthy targets and the registry keeps them (bounded, hostile entries dropped, the stream
 * stays up); a target health order reaches the DP's stream.
 */
import { create } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DataPlaneHealthSchema,
  dpMessage,
  HeartbeatSchema,
  UnhealthyTargetSchema,
  type ControlPlaneMessage,
} from '@gatehouse/proto';
import {
  eventually,
  openPostgresDatabase,
  startTestCluster,
  TestDataPlane,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

let tdb: TestDatabase;
let cluster: TestCluster | undefined;
const dps: TestDataPlane[] = [];

beforeAll(async () => {
  tdb = await openPostgresDatabase();
});
afterAll(async () => {
  await tdb?.close();
});
afterEach(async () => {
  for (const d of dps.splice(0)) d.close();
  await cluster?.stop();
  cluster = undefined;
});

interface Entry {
  upstreamId: string;
  target: string;
  cause: string;
}

function heartbeat(d: TestDataPlane, targets: Entry[], dropped = 0, reported = true): void {
  d.send(
    dpMessage({
      case: 'heartbeat',
      value: create(HeartbeatSchema, {
        sentAtUnixMs: BigInt(Date.now()),
        health: create(DataPlaneHealthSchema, {
          status: 'ok',
          workers: 1,
          workersConfigured: 1,
          unhealthyTargets: targets.map((t) => create(UnhealthyTargetSchema, t)),
          unhealthyTargetsDropped: dropped,
          targetsReported: reported,
        }),
      }),
    }),
  );
}

async function connected(nodeId: string): Promise<TestDataPlane> {
  cluster ??= await startTestCluster(tdb.db);
  const d = new TestDataPlane(cluster.server.address);
  dps.push(d);
  d.hello({ nodeId });
  await eventually(async () => (await cluster!.registry.get(nodeId))?.connected);
  return d;
}

describe('target health on the cluster stream', () => {
  it('the registry keeps what the heartbeat reports, and an empty list once the targets recover', async () => {
    const d = await connected('dp-th-1');
    const entry = { upstreamId: 'u-1', target: 'a.internal:8080', cause: 'passive' };
    heartbeat(d, [entry]);
    const row = await eventually(async () => {
      const r = await cluster!.registry.get('dp-th-1');
      return r?.health?.unhealthy_targets?.length === 1 ? r : null;
    });
    expect(row.health!.unhealthy_targets).toEqual([
      { upstream_id: 'u-1', target: 'a.internal:8080', cause: 'passive' },
    ]);
    // A change is written at once (the throttled heartbeat write would wait 10 s).
    heartbeat(d, []);
    await eventually(
      async () => (await cluster!.registry.get('dp-th-1'))?.health?.unhealthy_targets?.length === 0,
    );
  });

  it('a DP that does not report target health has none recorded (older DPs)', async () => {
    const d = await connected('dp-th-old');
    heartbeat(d, [{ upstreamId: 'u', target: 'x:1', cause: 'manual' }], 0, false);
    const row = await eventually(async () => (await cluster!.registry.get('dp-th-old'))?.health);
    expect(row.unhealthy_targets).toBeUndefined();
  });

  it('hostile reports are bounded and cleaned; the stream stays up (fast-check)', async () => {
    const d = await connected('dp-th-hostile');
    const entry = fc.record({
      upstreamId: fc.oneof(fc.string({ maxLength: 80 }), fc.constant('')),
      target: fc.oneof(fc.string({ maxLength: 400 }), fc.constant('')),
      cause: fc.string({ maxLength: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 30 }),
        fc.nat({ max: 5 }),
        fc.nat(),
        async (list, copies, dropped) => {
          const all = Array.from({ length: copies * 300 + 1 }, () => list).flat();
          const marker = { upstreamId: `m-${Math.random()}`, target: 'marker:1', cause: 'active' };
          heartbeat(d, [marker, ...all], dropped);
          const row = await eventually(async () => {
            const r = await cluster!.registry.get('dp-th-hostile');
            return r?.health?.unhealthy_targets?.[0]?.upstream_id === marker.upstreamId ? r : null;
          });
          const kept = row.health!.unhealthy_targets!;
          expect(kept.length).toBeLessThanOrEqual(1000);
          for (const t of kept) {
            expect(t.upstream_id.length).toBeGreaterThan(0);
            expect(t.upstream_id.length).toBeLessThanOrEqual(64);
            expect(t.target.length).toBeGreaterThan(0);
            expect(t.target.length).toBeLessThanOrEqual(300);
            expect(['passive', 'active', 'manual']).toContain(t.cause);
          }
          expect(kept.length + row.health!.unhealthy_targets_dropped!).toBeGreaterThanOrEqual(1 + all.length);
        },
      ),
      { numRuns: 25 },
    );
    expect((await cluster!.registry.get('dp-th-hostile'))?.connected).toBe(true);
  });

  it('a target health order reaches every connected DP stream', async () => {
    const d1 = await connected('dp-th-o1');
    const d2 = await connected('dp-th-o2');
    const order = { upstreamId: 'u-9', target: '[::1]:9000', healthy: false };
    expect(cluster!.server.broadcastTargetHealth(order)).toBe(2);
    const got = (d: TestDataPlane) =>
      eventually(() => d.received.find((m: ControlPlaneMessage) => m.message.case === 'targetHealthOrder'));
    for (const d of [d1, d2]) {
      const m = await got(d);
      expect(m.message.case === 'targetHealthOrder' && m.message.value).toMatchObject(order);
    }
  });
});
