import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SignedSnapshot } from '@gatehouse/shared';
import type { PublishedSnapshot } from '../../control-plane/src/snapshot/index.js';
import {
  BlackHoleProxy,
  eventually,
  openPgliteDatabase,
  startTestCluster,
  TestDataPlane,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

let tdb: TestDatabase;
let cluster: TestCluster | undefined;
let proxy: BlackHoleProxy | undefined;
const dps: TestDataPlane[] = [];

beforeAll(async () => {
  tdb = await openPgliteDatabase();
});
afterAll(async () => {
  await tdb?.close();
});
afterEach(async () => {
  for (const d of dps.splice(0)) d.close();
  await proxy?.close();
  proxy = undefined;
  await cluster?.stop();
  cluster = undefined;
});

describe('cluster stream liveness', () => {
  it('closes a stream that stops sending (no heartbeats) and marks the DP disconnected', async () => {
    cluster = await startTestCluster(tdb.db, { heartbeatIntervalMs: 100, deadAfterMs: 600 });
    const d = new TestDataPlane(cluster.server.address);
    dps.push(d);
    d.hello({ nodeId: 'dp-silent' });
    await d.next('snapshot');
    // The CP keeps heartbeating a silent DP until it gives up on it.
    await d.next('heartbeat');
    const status = await d.status;
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toMatch(/no message from the data plane for 600 ms/);
    await cluster.registry.flush();
    expect(await cluster.registry.get('dp-silent')).toMatchObject({ connected: false });
    expect(cluster.server.connections()).toHaveLength(0);
  });

  it('keeps a heartbeating DP connected well past the dead-after window', async () => {
    cluster = await startTestCluster(tdb.db, { heartbeatIntervalMs: 100, deadAfterMs: 400 });
    const d = new TestDataPlane(cluster.server.address);
    dps.push(d);
    d.hello({ nodeId: 'dp-alive' });
    const snap = await d.next('snapshot');
    for (let i = 0; i < 12; i++) {
      d.heartbeat(snap.hash, snap.version);
      const hb = await d.next('heartbeat');
      expect(hb.configHash).toBe(snap.hash);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(cluster.server.connections().map((c) => c.nodeId)).toEqual(['dp-alive']);
    await cluster.registry.flush();
    expect(await cluster.registry.get('dp-alive')).toMatchObject({ connected: true, config_hash: snap.hash });
  });

  it('detects a black-holed DP (nothing passes either way) and marks it disconnected', async () => {
    cluster = await startTestCluster(tdb.db, {
      heartbeatIntervalMs: 200,
      deadAfterMs: 1500,
      keepaliveTimeMs: 300,
      keepaliveTimeoutMs: 300,
    });
    proxy = new BlackHoleProxy(cluster.server.address);
    const d = new TestDataPlane(await proxy.listen());
    dps.push(d);
    d.hello({ nodeId: 'dp-blackholed' });
    const snap = await d.next('snapshot');
    d.ack(snap);
    await eventually(async () => (await cluster!.registry.get('dp-blackholed'))?.sync_status === 'normal');
    const cut = Date.now();
    proxy.block();
    await eventually(() => cluster!.server.connections().length === 0, 10_000);
    const detectedMs = Date.now() - cut;
    console.log(`black-holed DP dropped after ${detectedMs} ms (keepalive 300+300 ms, dead-after 1500 ms)`);
    await eventually(async () => (await cluster!.registry.get('dp-blackholed'))?.connected === false);
  });

  it('only queues the newest snapshot for a DP that cannot keep up', async () => {
    const feed = new (class extends EventEmitter {
      latest: PublishedSnapshot | null = null;
      // One slice: every DP gets the whole (fake) config.
      acquireSlice = () => 'default';
      releaseSlice = () => undefined;
      renewSlice = () => undefined;
      latestSlice = () => this.latest;
      publish(n: number): SignedSnapshot {
        // Incompressible 2 MiB payloads, so HTTP/2 flow control stalls the stream at once.
        const snapshot: SignedSnapshot = {
          version: BigInt(n),
          hash: randomBytes(32).toString('hex'),
          jws: `jws-${n}`,
          config: randomBytes(2 * 1024 * 1024),
          compression: 'identity',
          uncompressedSize: 2 * 1024 * 1024,
        };
        this.latest = { snapshot, builtAt: new Date(), buildMs: 0, plugins: [] };
        this.emit('slice', 'default', this.latest);
        return snapshot;
      }
    })();
    feed.publish(1);
    cluster = await startTestCluster(tdb.db, {
      publisher: feed,
      heartbeatIntervalMs: 200,
      deadAfterMs: 30_000,
    });
    proxy = new BlackHoleProxy(cluster.server.address);
    const d = new TestDataPlane(await proxy.listen());
    dps.push(d);
    d.hello({ nodeId: 'dp-slow' });
    await d.next('snapshot');
    proxy.block();
    let newest!: SignedSnapshot;
    for (let n = 2; n <= 12; n++) newest = feed.publish(n);
    const conn = await eventually(() => cluster!.server.connections().find((c) => c.snapshotsDropped > 0));
    proxy.unblock();
    let last = await d.next('snapshot', 20_000);
    while (last.hash !== newest.hash) last = await d.next('snapshot', 20_000);
    const received = d.snapshots().length;
    const stats = cluster.server.connections().find((c) => c.nodeId === 'dp-slow')!;
    console.log(
      `slow DP: 11 snapshots offered while blocked, ${received - 1} delivered, ${stats.snapshotsDropped} dropped`,
    );
    expect(conn.snapshotsDropped).toBeGreaterThan(0);
    expect(received - 1).toBeLessThanOrEqual(3);
    expect(stats.snapshotsSent + stats.snapshotsDropped).toBe(12);
    expect(last.version).toBe(12n);
  });
});
