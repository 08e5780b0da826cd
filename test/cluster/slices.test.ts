/**
 * Per-slice snapshots over the real cluster stream (PGlite store, gRPC, signatures): each DP gets
 * its slice; a change to an eu-only entity sends the us DP nothing; the CP's heartbeat carries
 * the DP's slice hash; a DP that holds a newer version than its placement's snapshot gets the
 * slice re-signed at the newest version; invalid labels end the stream.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { regionTag, verifySnapshot } from '@gatehouse/shared';
import {
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
const services = async (d: TestDataPlane) => {
  const s = d.snapshots().at(-1)!;
  return (await verifySnapshot(toSigned(s), cluster.trusted)).config.services.map((x) => x.name).sort();
};
/** Writes and waits until the publisher published the new version (and its slices). */
async function write(fn: () => Promise<unknown>) {
  await fn();
  await cluster.publisher.waitForVersion(await cluster.store.currentVersion());
  await cluster.publisher.slicesSettled();
}

// One cluster for the file (the tests run in order; each adds its own eu-only service).
beforeAll(async () => {
  tdb = await openPgliteDatabase();
  cluster = await startTestCluster(tdb.db);
  await write(async () => {
    await cluster.store.services.create({ name: 'shared', host: 'shared.internal', port: 80 });
    await cluster.store.services.create({
      name: 'eu-only',
      host: 'eu.internal',
      port: 80,
      tags: [regionTag('eu')],
    });
  });
}, 120_000);
afterEach(() => {
  for (const d of dps.splice(0)) d.close();
});
afterAll(async () => {
  await cluster?.stop();
  await tdb?.close();
});

describe('per-slice snapshots over the cluster stream', () => {
  it('sends each DP its slice, and nothing to the us DP when an eu-only entity changes', async () => {
    const eu = dp();
    const us = dp();
    eu.hello({ nodeId: 'dp-eu', region: 'eu', labels: {} });
    us.hello({ nodeId: 'dp-us', region: 'us', labels: {} });
    const [euSnap, usSnap] = [await eu.next('snapshot'), await us.next('snapshot')];
    expect(await services(eu)).toEqual(['eu-only', 'shared']);
    expect(await services(us)).toEqual(['shared']);
    expect(euSnap.hash).not.toBe(usSnap.hash);

    await write(() =>
      cluster.store.services.create({
        name: 'eu-2',
        host: 'eu2.internal',
        port: 80,
        tags: [regionTag('eu')],
      }),
    );
    await eu.next('snapshot');
    expect(await services(eu)).toEqual(['eu-2', 'eu-only', 'shared']);
    // The CP answers the us DP's heartbeat with the us slice's hash, and sent it nothing new.
    us.heartbeat(usSnap.hash, usSnap.version);
    expect((await us.next('heartbeat')).configHash).toBe(usSnap.hash);
    expect(us.snapshots()).toHaveLength(1);
    expect(cluster.server.connections().find((c) => c.nodeId === 'dp-us')?.sliceKey).toBe('region=us');
  });

  it('re-signs the slice at the newest version for a DP holding a newer version than it', async () => {
    const first = dp();
    first.hello({ nodeId: 'dp-us-1', region: 'us', labels: {} });
    const old = await first.next('snapshot');
    await write(() =>
      cluster.store.services.create({
        name: 'eu-3',
        host: 'eu3.internal',
        port: 80,
        tags: [regionTag('eu')],
      }),
    );
    const newest = cluster.publisher.latest!.snapshot.version;
    expect(newest).toBeGreaterThan(old.version);
    // A DP that held the eu slice at the newest version restarts as a us DP.
    const moved = dp();
    moved.hello({
      nodeId: 'dp-moved',
      region: 'us',
      labels: {},
      configHash: 'eu-hash',
      configVersion: newest,
    });
    const got = await moved.next('snapshot');
    expect(got.hash).toBe(old.hash);
    expect(got.version).toBe(newest);
  });

  it('ends the stream of a DP whose labels are invalid', async () => {
    const d = dp();
    d.hello({ nodeId: 'dp-bad', region: 'eu', labels: { 'bad key': 'x' } });
    const status = await d.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/label key/);
  });
});
