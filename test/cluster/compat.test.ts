/**
 * Version and plugin compatibility (Kong's hybrid-mode rules) on the real cluster server, with a
 * real SnapshotPublisher fed by an in-memory config source (so configs can use plugins) and the
 * real registry on PGlite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  completeConfig,
  emptyConfig,
  loadSigningKey,
  writeSigningKeyPair,
  type GatehouseConfig,
  type Plugin,
  type SigningKey,
} from '@gatehouse/shared';
import {
  createClusteringRouter,
  createFleet,
  DataPlaneRegistry,
  startClusterServer,
  type ClusterServer,
  type DataPlaneRecord,
} from '../../control-plane/src/cluster/index.js';
import { SnapshotPublisher, type ConfigSource } from '../../control-plane/src/snapshot/index.js';
import {
  eventually,
  getJson,
  logger,
  openPgliteDatabase,
  TEST_CERTS,
  TestDataPlane,
  type TestDatabase,
} from './harness.js';

/** A config source in memory: every set() is a committed write with a new version. */
class MemorySource implements ConfigSource {
  private version = 1n;
  private config: GatehouseConfig = emptyConfig();
  private readonly listeners = new Set<(v: bigint) => void>();

  readConfig() {
    return Promise.resolve({ version: this.version, config: structuredClone(this.config) });
  }

  onChange(listener: (v: bigint) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  set(config: GatehouseConfig): bigint {
    this.version += 1n;
    this.config = config;
    for (const l of this.listeners) l(this.version);
    return this.version;
  }
}

let n = 0;
const plugin = (name: string): Plugin => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  name,
  instance_name: null,
  config: {},
  protocols: ['http', 'https'],
  enabled: true,
  service: null,
  route: null,
  consumer: null,
  consumer_group: null,
  tags: null,
  created_at: 1,
  updated_at: 1,
});
const withPlugins = (...names: string[]) => completeConfig({ plugins: names.map(plugin) });

const CP_PLUGINS = [
  { name: 'key-auth', version: '1.4.0' },
  { name: 'cors', version: '2.0.0' },
  { name: 'acl', version: '1.0.0' },
];

let tdb: TestDatabase;
let keysDir: string;
let key: SigningKey;

beforeAll(async () => {
  tdb = await openPgliteDatabase();
  keysDir = await mkdtemp(join(tmpdir(), 'gh-compat-keys-'));
  key = await loadSigningKey((await writeSigningKeyPair(keysDir)).privateKeyFile);
});
afterAll(async () => {
  await tdb?.close();
  await rm(keysDir, { recursive: true, force: true });
});

describe('plugin compatibility between the CP and its data planes', () => {
  let source: MemorySource;
  let publisher: SnapshotPublisher;
  let registry: DataPlaneRegistry;
  let server: ClusterServer;
  let http: Server;
  let adminUrl: string;
  const dps: TestDataPlane[] = [];
  const dp = () => {
    const d = new TestDataPlane(server.address);
    dps.push(d);
    return d;
  };
  const record = async (id: string) => {
    const { body } = await getJson<{ data: DataPlaneRecord[] }>(`${adminUrl}/clustering/data-planes`);
    return body.data.find((r) => r.id === id);
  };
  const publish = async (config: GatehouseConfig) => {
    const version = source.set(config);
    return publisher.waitForVersion(version);
  };

  beforeEach(async () => {
    await tdb.db.prisma.clusteringDataPlane.deleteMany({});
    source = new MemorySource();
    publisher = new SnapshotPublisher({
      source,
      key,
      cpId: 'cp-compat',
      logger,
      debounceMs: 5,
      maxWaitMs: 20,
    });
    await publisher.start();
    registry = new DataPlaneRegistry(tdb.db.prisma, logger);
    server = await startClusterServer({
      host: '127.0.0.1',
      port: 0,
      publisher,
      registry,
      logger,
      plugins: CP_PLUGINS,
      heartbeatIntervalMs: 200,
      tls: TEST_CERTS.serverTls,
    });
    const app = express();
    app.use(createClusteringRouter(registry, publisher));
    http = createServer(app);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const a = http.address();
    adminUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });

  afterEach(async () => {
    for (const d of dps.splice(0)) d.close();
    await server.stop({ graceMs: 200 });
    await publisher.stop();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  });

  it('refuses a config using a plugin the DP lacks (plugin_set_incompatible), keeps the stream, and sends the config once it is compatible again', async () => {
    await publish(withPlugins('cors'));
    const d = dp();
    d.hello({ nodeId: 'dp-no-cors', plugins: [{ name: 'key-auth', version: '1.4.0' }] });
    const refusal = await d.next('refusal');
    expect(refusal).toMatchObject({
      syncStatus: 'plugin_set_incompatible',
      reason: 'configured cors plugin 2.0.0 is missing from data plane',
    });
    await registry.flush();
    expect(await record('dp-no-cors')).toMatchObject({
      sync_status: 'plugin_set_incompatible',
      last_nack_reason: 'configured cors plugin 2.0.0 is missing from data plane',
      connected: true,
    });
    // The stream stays open: heartbeats are answered, and no snapshot was sent.
    d.heartbeat();
    await d.next('heartbeat');
    expect(d.snapshots()).toHaveLength(0);

    const ok = await publish(withPlugins('key-auth'));
    const snap = await d.next('snapshot');
    expect(snap.hash).toBe(ok.snapshot.hash);
    d.ack(snap);
    await eventually(async () => (await record('dp-no-cors'))?.sync_status === 'normal');
    expect((await record('dp-no-cors'))?.last_nack_reason).toBeNull();
  });

  it('refuses a newly published config that a connected, in-sync DP cannot run, and keeps it connected', async () => {
    const first = await publish(withPlugins('key-auth'));
    const d = dp();
    d.hello({ nodeId: 'dp-in-sync', plugins: [{ name: 'key-auth', version: '1.4.0' }] });
    const snap = await d.next('snapshot');
    expect(snap.hash).toBe(first.snapshot.hash);
    d.ack(snap);
    await eventually(async () => (await record('dp-in-sync'))?.sync_status === 'normal');

    await publish(withPlugins('key-auth', 'acl'));
    expect(await d.next('refusal')).toMatchObject({ syncStatus: 'plugin_set_incompatible' });
    await registry.flush();
    expect(await record('dp-in-sync')).toMatchObject({
      sync_status: 'plugin_set_incompatible',
      connected: true,
      config_hash: first.snapshot.hash,
    });
    expect(d.snapshots()).toHaveLength(1);
    expect(server.connections().find((c) => c.nodeId === 'dp-in-sync')?.refusal?.status).toBe(
      'plugin_set_incompatible',
    );
  });

  it('refuses a plugin whose DP minor is newer or whose major differs (plugin_version_incompatible), accepts an older minor', async () => {
    await publish(withPlugins('key-auth'));
    const newer = dp();
    newer.hello({ nodeId: 'dp-newer-minor', plugins: [{ name: 'key-auth', version: '1.5.0' }] });
    expect(await newer.next('refusal')).toEqual(
      expect.objectContaining({
        syncStatus: 'plugin_version_incompatible',
        reason:
          'configured data plane key-auth plugin version 1.5.0 is different to control plane plugin version 1.4.0',
      }),
    );
    const major = dp();
    major.hello({ nodeId: 'dp-other-major', plugins: [{ name: 'key-auth', version: '2.0.0' }] });
    expect((await major.next('refusal')).syncStatus).toBe('plugin_version_incompatible');

    const older = dp();
    older.hello({ nodeId: 'dp-older-minor', plugins: [{ name: 'key-auth', version: '1.2.9' }] });
    await older.next('snapshot');
    await registry.flush();
    expect((await record('dp-newer-minor'))?.sync_status).toBe('plugin_version_incompatible');
    expect((await record('dp-other-major'))?.sync_status).toBe('plugin_version_incompatible');
    expect((await record('dp-older-minor'))?.sync_status).toBe('unknown');
  });

  it('ignores plugins the config does not use, and sends a plugin-free config to any DP', async () => {
    const p = publisher.latest!; // the empty config built at start
    expect(p.plugins).toEqual([]);
    const d = dp();
    d.hello({ nodeId: 'dp-bare', plugins: [] });
    expect((await d.next('snapshot')).hash).toBe(p.snapshot.hash);
  });

  it('still refuses and disconnects a DP whose software version is incompatible (kong_version_incompatible)', async () => {
    const d = dp();
    d.hello({ nodeId: 'dp-next-major', softwareVersion: '1.0.0' });
    expect((await d.next('refusal')).syncStatus).toBe('kong_version_incompatible');
    await d.status;
    await registry.flush();
    expect(await record('dp-next-major')).toMatchObject({
      sync_status: 'kong_version_incompatible',
      connected: false,
    });
  });

  it('fleet.checkPlugin lists the connected DPs that could not run a plugin, with the reason', async () => {
    const fleet = createFleet({ registry, cpPlugins: CP_PLUGINS });
    const a = dp();
    a.hello({ nodeId: 'dp-a', plugins: [{ name: 'key-auth', version: '1.4.0' }] });
    const b = dp();
    b.hello({
      nodeId: 'dp-b',
      region: 'eu',
      plugins: [
        { name: 'key-auth', version: '1.4.0' },
        { name: 'cors', version: '2.1.0' },
      ],
    });
    const c = dp();
    c.hello({ nodeId: 'dp-c', plugins: [{ name: 'cors', version: '2.0.3' }] });
    await eventually(() => server.connections().length === 3);
    await registry.flush();

    expect(await fleet.checkPlugin('key-auth')).toEqual({
      incompatible: [
        {
          id: 'dp-c',
          hostname: 'dp-c.host',
          reason: 'configured key-auth plugin 1.4.0 is missing from data plane',
          sync_status: 'plugin_set_incompatible',
        },
      ],
    });
    const cors = await fleet.checkPlugin('cors');
    expect(cors.incompatible.map((i) => [i.id, i.sync_status])).toEqual([
      ['dp-a', 'plugin_set_incompatible'],
      ['dp-b', 'plugin_version_incompatible'],
    ]);
    // An explicit version is compared instead of the CP's own.
    expect((await fleet.checkPlugin('cors', '2.1.0')).incompatible.map((i) => i.id)).toEqual(['dp-a']);

    // Only the DPs whose slice holds the plugin: its scope tags and those of what it is attached to.
    const eu = { tags: [['gatehouse:region=eu'], null] };
    expect((await fleet.checkPlugin('cors', undefined, eu)).incompatible.map((i) => i.id)).toEqual(['dp-b']);
    const nowhere = { tags: [['gatehouse:region=eu'], ['gatehouse:label=tier=gold']] };
    expect((await fleet.checkPlugin('cors', undefined, nowhere)).incompatible).toEqual([]);
    expect(
      (await fleet.checkPlugin('cors', undefined, { tags: [['ordinary'], []] })).incompatible,
    ).toHaveLength(2);

    // A disconnected DP is not part of the fleet any more.
    a.close();
    await eventually(() => server.connections().length === 2);
    await registry.flush();
    expect((await fleet.checkPlugin('cors')).incompatible.map((i) => i.id)).toEqual(['dp-b']);
  });
});

describe('data plane registry housekeeping', () => {
  let registry: DataPlaneRegistry;
  const prisma = () => tdb.db.prisma;
  const hello = (id: string, configHash = 'h1') => ({
    id,
    hostname: `${id}.host`,
    ip: '127.0.0.1',
    region: '',
    labels: {},
    version: '0.1.0',
    plugins: [],
    configHash,
    configVersion: 1n,
  });
  const lastSeen = async (id: string) =>
    (await prisma().clusteringDataPlane.findUniqueOrThrow({ where: { id } })).last_seen.getTime();

  beforeEach(async () => {
    await prisma().clusteringDataPlane.deleteMany({});
    registry = new DataPlaneRegistry(prisma(), logger, { heartbeatWriteIntervalMs: 10_000 });
  });

  it('writes last_seen on a heartbeat at most once per interval unless the DP reports a new hash', async () => {
    await registry.connected(hello('dp-hb'));
    const t0 = await lastSeen('dp-hb');
    await new Promise((r) => setTimeout(r, 20));
    await registry.heartbeat('dp-hb', 'h1', 1n);
    await registry.heartbeat('dp-hb', 'h1', 1n);
    expect(await lastSeen('dp-hb')).toBe(t0);
    await registry.heartbeat('dp-hb', 'h2', 2n);
    const t1 = await lastSeen('dp-hb');
    expect(t1).toBeGreaterThan(t0);
    const row = await prisma().clusteringDataPlane.findUniqueOrThrow({ where: { id: 'dp-hb' } });
    expect(row.config_hash).toBe('h2');

    const eager = new DataPlaneRegistry(prisma(), logger, { heartbeatWriteIntervalMs: 0 });
    await new Promise((r) => setTimeout(r, 20));
    await eager.heartbeat('dp-hb', 'h2', 2n);
    expect(await lastSeen('dp-hb')).toBeGreaterThan(t1);
  });

  it('a heartbeat re-asserts connected after another replica cleared it for the old stream of the same DP', async () => {
    const replicaA = new DataPlaneRegistry(prisma(), logger);
    const replicaB = new DataPlaneRegistry(prisma(), logger, { heartbeatWriteIntervalMs: 30 });
    await replicaA.connected(hello('dp-moved'));
    await replicaB.connected(hello('dp-moved'));
    // A notices the DP's old stream died only after the DP said Hello to B.
    await replicaA.disconnected('dp-moved');
    expect((await replicaB.get('dp-moved'))?.connected).toBe(false);
    await new Promise((r) => setTimeout(r, 40));
    await replicaB.heartbeat('dp-moved', 'h1', 1n);
    expect((await replicaB.get('dp-moved'))?.connected).toBe(true);
  });

  it('writes the acks of many DPs together after the batch window, one statement for DPs that acked the same config', async () => {
    const slow = new DataPlaneRegistry(prisma(), logger, { batchWindowMs: 60_000 });
    const ids = ['dp-b1', 'dp-b2', 'dp-b3'];
    for (const id of ids) await slow.connected(hello(id));
    const acks = ids.map((id) => slow.acked(id, 2n, 'h2'));
    await new Promise((r) => setTimeout(r, 30));
    // Not written yet: the window is still open (read past the registry, which would write it).
    const waiting = await prisma().clusteringDataPlane.findMany({ where: { id: { in: ids } } });
    expect(waiting.map((r) => r.config_hash)).toEqual(['h1', 'h1', 'h1']);
    await slow.flush();
    await Promise.all(acks);
    const rows = await prisma().clusteringDataPlane.findMany({ where: { id: { in: ids } } });
    expect(rows.map((r) => [r.config_hash, r.config_version, r.sync_status])).toEqual(
      ids.map(() => ['h2', 2n, 'normal']),
    );
    // One statement: one updated_at (Prisma's @updatedAt is set per statement).
    expect(new Set(rows.map((r) => r.updated_at.getTime())).size).toBe(1);
  });

  it("keeps a DP's writes in order when a Nack follows an ack still waiting for the batch, and reads see both", async () => {
    const slow = new DataPlaneRegistry(prisma(), logger, { batchWindowMs: 60_000 });
    await slow.connected(hello('dp-order'));
    void slow.acked('dp-order', 2n, 'h2');
    void slow.nacked('dp-order', 'bad plugin config');
    const row = await slow.get('dp-order');
    expect(row).toMatchObject({
      config_hash: 'h2',
      sync_status: 'unknown',
      last_nack_reason: 'bad plugin config',
    });
    void slow.heartbeat('dp-order', 'h2', 2n);
    void slow.acked('dp-order', 3n, 'h3');
    expect((await slow.listConnected()).find((r) => r.id === 'dp-order')).toMatchObject({
      config_hash: 'h3',
      config_version: 3,
      sync_status: 'normal',
    });
  });

  it('reads a row whose connected flag is set but that has not been seen for staleAfterMs as disconnected', async () => {
    await registry.connected(hello('dp-fresh'));
    await registry.connected(hello('dp-orphan'));
    await prisma().clusteringDataPlane.update({
      where: { id: 'dp-orphan' },
      data: { last_seen: new Date(Date.now() - 5 * 60_000) },
    });
    expect((await registry.get('dp-orphan'))?.connected).toBe(false);
    expect((await registry.get('dp-fresh'))?.connected).toBe(true);
    expect((await registry.listConnected()).map((r) => r.id)).toEqual(['dp-fresh']);
  });

  it('purges the rows of DPs not seen for 14 days, on a timer of the cluster server', async () => {
    await registry.connected(hello('dp-gone'));
    await registry.connected(hello('dp-recent'));
    await prisma().clusteringDataPlane.update({
      where: { id: 'dp-gone' },
      data: { last_seen: new Date(Date.now() - 15 * 24 * 3600_000), connected: false },
    });
    await prisma().clusteringDataPlane.update({
      where: { id: 'dp-recent' },
      data: { last_seen: new Date(Date.now() - 13 * 24 * 3600_000), connected: false },
    });
    const feed = Object.assign(new (await import('node:events')).EventEmitter(), {
      acquireSlice: () => 'default',
      releaseSlice: () => undefined,
      renewSlice: () => undefined,
      latestSlice: () => null,
    });
    const server = await startClusterServer({
      host: '127.0.0.1',
      port: 0,
      publisher: feed,
      registry,
      logger,
      purgeIntervalMs: 50,
      tls: { mode: 'off' }, // the channel is not under test: no stream is opened
    });
    try {
      await eventually(
        async () => (await prisma().clusteringDataPlane.count({ where: { id: 'dp-gone' } })) === 0,
      );
      // A row written back after the first purge is removed by the next run of the timer.
      await prisma().clusteringDataPlane.create({
        data: {
          ...{ id: 'dp-gone', hostname: 'x', ip: '127.0.0.1', version: '0.1.0', config_hash: '' },
          last_seen: new Date(Date.now() - 20 * 24 * 3600_000),
        },
      });
      await eventually(
        async () => (await prisma().clusteringDataPlane.count({ where: { id: 'dp-gone' } })) === 0,
      );
      expect(await prisma().clusteringDataPlane.count({ where: { id: 'dp-recent' } })).toBe(1);
    } finally {
      await server.stop({ graceMs: 100 });
    }
  });
});
