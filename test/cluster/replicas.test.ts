/**
 * Control-plane replicas over one Postgres and a nats-server of our own (never the machine's, so
 * no other test's replicas talk on the same subjects): the messaging adapter, the config change
 * and purge fan-out, malformed messages, NATS outages, the advisory-lock job runner and the DP
 * registry's `cp_id`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKey, writeSigningKeyPair, type SigningKey } from '@gatehouse/shared';
import { DataPlaneRegistry, PURGE_JOB } from '../../control-plane/src/cluster/registry.js';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { runExclusive } from '../../control-plane/src/jobs/exclusive.js';
import {
  connectReplicas,
  createCpMessaging,
  SUBJECTS,
  type CpMessaging,
  type OAuth2RevocationRelay,
  type PurgeOrder,
  type TargetHealthOrder,
} from '../../control-plane/src/messaging/index.js';
import { SnapshotPublisher } from '../../control-plane/src/snapshot/index.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import type { UsedToken } from '../../control-plane/src/store/oauth2-used-tokens.js';
import { grantRedeemer } from '../../control-plane/src/oauth2/grant-redemption.js';
import { oauth2Redemption } from '@gatehouse/proto';
import { freePort, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from '../ratelimit/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { addService, logger } from './harness.js';

let tdb: TestDatabase;
let nats: NatsServer;
let natsUrl: string;
let key: SigningKey;
let keyDir: string;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase('postgres');
  nats = await startNatsServer();
  natsUrl = nats.url;
  keyDir = await mkdtemp(join(tmpdir(), 'gh-replicas-keys-'));
  key = await loadSigningKey((await writeSigningKeyPair(keyDir)).privateKeyFile);
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
afterAll(async () => {
  await nats?.kill();
  await tdb?.drop();
  await rm(keyDir, { recursive: true, force: true });
});

/** Another connection to the same database, as another CP process has. */
async function openSecondConnection(): Promise<Database> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-replicas-db-'));
  const db = await openDatabase({ databaseUrl: tdb.databaseUrl!, dataDir: dir, logger });
  closers.push(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return db;
}

interface Replica {
  cpId: string;
  store: ConfigStore;
  publisher: SnapshotPublisher;
  messaging: CpMessaging;
  purges: PurgeOrder[];
  relay: { broadcastPurge(o: PurgeOrder): number };
  orders: TargetHealthOrder[];
  healthRelay: { broadcastTargetHealth(o: TargetHealthOrder): number };
  revoked: UsedToken[][];
  revocationRelay: OAuth2RevocationRelay;
}

async function startReplica(cpId: string, db: Database, versionCheckMs = 0): Promise<Replica> {
  const store = new ConfigStore(db.prisma, { logger });
  const publisher = new SnapshotPublisher({
    source: store,
    key,
    cpId,
    logger,
    debounceMs: 10,
    maxWaitMs: 50,
  });
  await publisher.start();
  const messaging = createCpMessaging({ natsUrl, cpId, logger, retryMs: 100 });
  const purges: PurgeOrder[] = [];
  const orders: TargetHealthOrder[] = [];
  const revoked: UsedToken[][] = [];
  const wiring = connectReplicas({
    messaging,
    store,
    publisher,
    versionCheckMs,
    local: {
      broadcastPurge: (o) => (purges.push(o), 1),
      broadcastTargetHealth: (o) => (orders.push(o), 1),
      broadcastOAuth2Revocations: (t) => (revoked.push([...t]), 1),
    },
  });
  closers.push(async () => {
    wiring.stop();
    await messaging.close();
    await publisher.stop();
  });
  return {
    cpId,
    store,
    publisher,
    messaging,
    purges,
    relay: wiring.purgeRelay,
    orders,
    healthRelay: wiring.targetHealthRelay,
    revoked,
    revocationRelay: wiring.oauth2RevocationRelay,
  };
}

async function twoReplicas(): Promise<[Replica, Replica]> {
  const a = await startReplica('cp-a', tdb.db);
  const b = await startReplica('cp-b', await openSecondConnection());
  await waitUntil(
    'both replicas on NATS',
    () => a.messaging.state === 'connected' && b.messaging.state === 'connected',
  );
  return [a, b];
}

async function rawNats(): Promise<NatsConnection> {
  const nc = await connect({ servers: natsUrl });
  closers.push(() => nc.close());
  return nc;
}

describe('CP replicas over NATS and one Postgres', () => {
  it('a write on replica A is rebuilt by replica B with the same version, hash and bytes', async () => {
    const [a, b] = await twoReplicas();
    await addService(a.store, `svc-${Date.now()}`);
    const version = await a.store.currentVersion();
    const onA = await a.publisher.waitForVersion(version);
    const onB = await b.publisher.waitForVersion(version);
    expect(onB.snapshot.version).toBe(onA.snapshot.version);
    expect(onB.snapshot.hash).toBe(onA.snapshot.hash);
    expect(onB.snapshot.uncompressedSize).toBe(onA.snapshot.uncompressedSize);
    expect(a.messaging.status().published).toBeGreaterThan(0);
    expect(b.messaging.status().received).toBeGreaterThan(0);
  });

  it('a proxy-cache purge on A goes to A’s DPs and to B’s, never back to A', async () => {
    const [a, b] = await twoReplicas();
    const order = { pluginId: null, key: 'ab'.repeat(32) };
    a.relay.broadcastPurge(order);
    await waitUntil('B relays the purge', () => b.purges.length === 1);
    expect(b.purges).toEqual([order]);
    expect(a.purges).toEqual([order]);
  });

  it('a target health order on A goes to A’s DPs and to B’s, never back to A', async () => {
    const [a, b] = await twoReplicas();
    const order = {
      upstreamId: '0b2c7c9e-5d0a-4c55-9a51-0d6f6f1f0a11',
      target: '[::1]:8080',
      healthy: false,
    };
    a.healthRelay.broadcastTargetHealth(order);
    await waitUntil('B relays the order', () => b.orders.length === 1);
    expect(b.orders).toEqual([order]);
    expect(a.orders).toEqual([order]);
  });

  it('a refresh redeemed on A revokes the old access token at A’s DPs and B’s, without a config write', async () => {
    const [a, b] = await twoReplicas();
    const suffix = Date.now().toString(36);
    const consumer = (await a.store.entities.consumers.create({ username: `oauth2-${suffix}` })) as {
      id: string;
    };
    const credential = (await a.store.entities.oauth2_credentials.create({
      name: 'app',
      consumer: { id: consumer.id },
    })) as { id: string };
    const version = await a.store.currentVersion();
    const redeem = grantRedeemer(a.store, (t) => a.revocationRelay.broadcastOAuth2Revocations(t));
    const exp = BigInt(Math.floor(Date.now() / 1000) + 600);
    const refresh = { jti: `refresh-${suffix}`, credentialId: credential.id, expiresAt: exp };
    const access = { jti: `access-${suffix}`, credentialId: credential.id, expiresAt: exp };
    // The same refresh token at both replicas at once: one wins, and only its revocation goes out.
    const redeemAtB = grantRedeemer(b.store, (t) => b.revocationRelay.broadcastOAuth2Revocations(t));
    const results = await Promise.all([
      redeem(oauth2Redemption(refresh, [access])),
      redeemAtB(oauth2Redemption(refresh, [access])),
    ]);
    expect(results.filter((used) => !used)).toHaveLength(1);
    const expected = [{ jti: access.jti, credentialId: credential.id, expiresAt: Number(exp) }];
    await waitUntil('both replicas relayed it', () => a.revoked.length === 1 && b.revoked.length === 1);
    expect(a.revoked).toEqual([expected]);
    expect(b.revoked).toEqual([expected]);
    expect(await a.store.currentVersion()).toBe(version);
  });

  it('drops and counts garbage on the replica subjects, and keeps working (fast-check)', async () => {
    const [, b] = await twoReplicas();
    const nc = await rawNats();
    let sentinel = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          SUBJECTS.configChanged,
          SUBJECTS.proxyCachePurge,
          SUBJECTS.targetHealth,
          SUBJECTS.oauth2Revoked,
        ),
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
          fc.string().map((s) => new TextEncoder().encode(`{"cp_id":"x","version":${s}}`)),
          fc
            .record({ upstream_id: fc.string(), target: fc.string(), healthy: fc.jsonValue() })
            .map((r) => new TextEncoder().encode(JSON.stringify({ cp_id: 'x', ...r }))),
          fc
            .array(fc.record({ jti: fc.string(), credential_id: fc.string(), expires_at: fc.jsonValue() }), {
              maxLength: 12,
            })
            .map((tokens) => new TextEncoder().encode(JSON.stringify({ cp_id: 'x', tokens }))),
        ),
        async (subject, payload) => {
          const before = b.messaging.status();
          nc.publish(subject, payload);
          // A valid purge after it: once B has it, B has handled the garbage too (one connection, in order).
          const key = (++sentinel).toString(16).padStart(64, '0');
          nc.publish(
            SUBJECTS.proxyCachePurge,
            new TextEncoder().encode(JSON.stringify({ cp_id: 'fuzzer', plugin_id: null, cache_key: key })),
          );
          await waitUntil('the sentinel purge', () => b.purges.some((p) => p.key === key), 10_000);
          const after = b.messaging.status();
          // Either dropped and counted, or (it happened to be a valid message) received.
          expect(after.dropped + after.received - before.dropped - before.received).toBe(2);
          expect(b.messaging.state).toBe('connected');
        },
      ),
      { numRuns: 60 },
    );
    expect(b.messaging.status().dropped).toBeGreaterThan(0);
  });

  it('NATS down: each replica keeps building its own writes; back up, the other catches up', async () => {
    const [a, b] = await twoReplicas();
    await nats.kill();
    await waitUntil('A sees NATS gone', () => a.messaging.state === 'disconnected');
    expect(a.messaging.status().state).toBe('disconnected');
    await addService(a.store, `svc-offline-${Date.now()}`);
    const version = await a.store.currentVersion();
    await a.publisher.waitForVersion(version);
    await nats.restart();
    await waitUntil(
      'both back',
      () => a.messaging.state === 'connected' && b.messaging.state === 'connected',
      30_000,
    );
    const onB = await b.publisher.waitForVersion(version, 30_000);
    expect(onB.snapshot.hash).toBe(a.publisher.latest!.snapshot.hash);
  });

  it('NATS down: replica B picks up a write on A by checking the config version in Postgres', async () => {
    const a = await startReplica('cp-a', tdb.db, 50);
    const b = await startReplica('cp-b', await openSecondConnection(), 50);
    await waitUntil(
      'both replicas on NATS',
      () => a.messaging.state === 'connected' && b.messaging.state === 'connected',
    );
    await nats.kill();
    try {
      await waitUntil('B sees NATS gone', () => b.messaging.state === 'disconnected');
      await addService(a.store, `svc-polled-${Date.now()}`);
      const version = await a.store.currentVersion();
      const onA = await a.publisher.waitForVersion(version);
      const onB = await b.publisher.waitForVersion(version, 30_000);
      expect(onB.snapshot.hash).toBe(onA.snapshot.hash);
      expect(b.messaging.state).toBe('disconnected');
    } finally {
      await nats.restart();
    }
  });

  it('a CP started while NATS is unreachable serves, and connects when NATS comes up', async () => {
    const port = await freePort();
    const m = createCpMessaging({
      natsUrl: `nats://127.0.0.1:${port}`,
      cpId: 'cp-late',
      logger,
      retryMs: 100,
    });
    closers.push(() => m.close());
    expect(m.state).toBe('connecting');
    m.publishConfigChanged(1n);
    expect(m.status().publish_failures).toBe(1);
    const late = await startNatsServer({ port });
    closers.push(() => late.kill());
    let connected = 0;
    m.on('connected', () => connected++);
    await waitUntil('connects', () => m.state === 'connected', 30_000);
    expect(connected).toBe(1);
  });

  it('authenticates with credentials given in NATS_URL (nats://user:pass@host)', async () => {
    const server = await startNatsServer({ user: 'gh', pass: 's3cret' });
    const port = server.port;
    closers.push(() => server.kill());
    const good = createCpMessaging({
      natsUrl: `nats://gh:s3cret@127.0.0.1:${port}`,
      cpId: 'cp-auth',
      logger,
      retryMs: 100,
    });
    const bad = createCpMessaging({
      natsUrl: `nats://gh:wrong@127.0.0.1:${port}`,
      cpId: 'cp-noauth',
      logger,
      retryMs: 100,
    });
    closers.push(
      () => good.close(),
      () => bad.close(),
    );
    await waitUntil('the right password connects', () => good.state === 'connected', 30_000);
    expect(bad.state).toBe('connecting');
  });
});

describe('periodic jobs on one replica at a time (advisory lock)', () => {
  it('a second replica skips a job while the first holds its lock, and runs it after', async () => {
    const other = await openSecondConnection();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = runExclusive(tdb.db.prisma, 'test-job', async () => {
      entered();
      await held;
      return 'first';
    });
    await inside;
    expect(await runExclusive(other.prisma, 'test-job', async () => 'second')).toEqual({ ran: false });
    // Another job's lock is independent.
    expect(await runExclusive(other.prisma, 'another-job', async () => 'other')).toEqual({
      ran: true,
      result: 'other',
    });
    release();
    expect(await first).toEqual({ ran: true, result: 'first' });
    expect(await runExclusive(other.prisma, 'test-job', async () => 'second')).toEqual({
      ran: true,
      result: 'second',
    });
  });

  it('the stale-DP purge is skipped (null) on a replica while another runs it', async () => {
    const other = await openSecondConnection();
    const registry = new DataPlaneRegistry(other.prisma, logger, { cpId: 'cp-b' });
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = runExclusive(tdb.db.prisma, PURGE_JOB, async () => {
      entered();
      await new Promise<void>((r) => (release = r));
    });
    await inside;
    expect(await registry.purgeStale()).toBeNull();
    release();
    await first;
    expect(await registry.purgeStale()).toBe(0);
  });
});

describe('DP registry across replicas (cp_id)', () => {
  const hello = (id: string) => ({
    id,
    hostname: `${id}.host`,
    ip: '127.0.0.1',
    region: '',
    labels: {},
    version: '0.1.0',
    plugins: [],
    configHash: 'h1',
    configVersion: 1n,
  });

  it('a DP that moved to replica B stays connected when A notices its old stream died', async () => {
    const a = new DataPlaneRegistry(tdb.db.prisma, logger, { cpId: 'cp-a' });
    const b = new DataPlaneRegistry((await openSecondConnection()).prisma, logger, { cpId: 'cp-b' });
    await a.connected(hello('dp-mover'));
    expect((await a.get('dp-mover'))?.cp_id).toBe('cp-a');
    await b.connected(hello('dp-mover'));
    await a.disconnected('dp-mover');
    const row = await a.get('dp-mover');
    expect(row).toMatchObject({ connected: true, cp_id: 'cp-b' });
    // B losing it does mark it disconnected.
    await b.disconnected('dp-mover');
    expect((await a.get('dp-mover'))?.connected).toBe(false);
    expect((await a.list()).data.find((d) => d.id === 'dp-mover')?.cp_id).toBe('cp-b');
  });
});
