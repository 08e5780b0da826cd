/**
 * Test harness for the cluster server: a real database (PGlite in a temp dir, or a throwaway
 * database on the local Postgres), the real ConfigStore, SnapshotPublisher and cluster server on
 * port 0, and `TestDataPlane`, a raw ClusterServiceClient speaking the protocol by hand.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import pg from 'pg';
import { create } from '@bufbuild/protobuf';
import {
  AckSchema,
  ClusterServiceClient,
  dpMessage,
  HeartbeatSchema,
  HelloSchema,
  NackSchema,
  PluginInfoSchema,
  type ControlPlaneMessage,
  type DataPlaneMessage,
  type Snapshot,
} from '@gatehouse/proto';
import {
  createLogger,
  GATEHOUSE_VERSION,
  loadSigningKey,
  loadTrustedKeys,
  writeSigningKeyPair,
  type Logger,
  type SignedSnapshot,
  type SigningKey,
  type TrustedKeys,
} from '@gatehouse/shared';
import {
  createClusteringRouter,
  DataPlaneRegistry,
  startClusterServer,
  type ClusterServer,
  type ClusterServerOptions,
  type SnapshotFeed,
} from '../../control-plane/src/cluster/index.js';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { SnapshotDeltas, SnapshotPublisher } from '../../control-plane/src/snapshot/index.js';
import { ConfigStore } from '../../control-plane/src/store/config-store.js';
import type { ClusterServerTls } from '../../control-plane/src/cluster/tls.js';
import { testClusterCerts } from '../helpers/cluster-certs.js';
import { seedPglite } from '../helpers/pglite-template.js';

/** The cluster runs on mutual TLS (pki) unless a test asks otherwise; generated once per process. */
export const TEST_CERTS = await testClusterCerts();

export const logger: Logger = createLogger('cluster-test', {
  level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent',
});
export const POSTGRES_URL =
  process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  db: Database;
  close(): Promise<void>;
}

/** PGlite in a fresh temp dir. */
export async function openPgliteDatabase(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'gh-cluster-db-'));
  await seedPglite(dir);
  const db = await openDatabase({ dataDir: dir, logger });
  return {
    db,
    async close() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A database of its own on the local Postgres, dropped on close. */
export async function openPostgresDatabase(): Promise<TestDatabase> {
  const name = `gh_cluster_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  const dir = await mkdtemp(join(tmpdir(), 'gh-cluster-db-'));
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: dir, logger });
  return {
    db,
    async close() {
      await db.close();
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestCluster {
  store: ConfigStore;
  publisher: SnapshotPublisher;
  /** Delta sync (DPs that say accepts_deltas get deltas). */
  deltas: SnapshotDeltas;
  registry: DataPlaneRegistry;
  server: ClusterServer;
  trusted: TrustedKeys;
  kid: string;
  /** The key snapshots are signed with. */
  key: SigningKey;
  /** Base URL of an HTTP server mounting createClusteringRouter. */
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startTestCluster(
  db: Database,
  opts: Partial<
    Pick<
      ClusterServerOptions,
      | 'heartbeatIntervalMs'
      | 'deadAfterMs'
      | 'softwareVersion'
      | 'keepaliveTimeMs'
      | 'keepaliveTimeoutMs'
      | 'select'
      | 'redeemOAuth2Grant'
    >
  > & { publisher?: SnapshotFeed; tls?: ClusterServerTls; logger?: Logger } = {},
): Promise<TestCluster> {
  const keyDir = await mkdtemp(join(tmpdir(), 'gh-cluster-keys-'));
  const written = await writeSigningKeyPair(keyDir);
  const key = await loadSigningKey(written.privateKeyFile);
  const trusted = await loadTrustedKeys([written.publicKeysFile]);
  const store = new ConfigStore(db.prisma, { logger });
  const publisher = new SnapshotPublisher({ source: store, key, cpId: 'cp-test', logger });
  // (opts.logger, when given, is the cluster server's: tests read what it logged)
  await publisher.start();
  const registry = new DataPlaneRegistry(db.prisma, logger);
  const deltas = new SnapshotDeltas({ key, cpId: 'cp-test', logger });
  const server = await startClusterServer({
    host: '127.0.0.1',
    port: 0,
    publisher,
    registry,
    logger,
    deltas,
    ...opts,
    tls: opts.tls ?? TEST_CERTS.serverTls,
  });
  const app = express();
  app.use(createClusteringRouter(registry, publisher));
  const http: Server = createServer(app);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const addr = http.address();
  const adminUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    store,
    publisher,
    deltas,
    registry,
    server,
    trusted,
    kid: written.kid,
    key,
    adminUrl,
    async stop() {
      await server.stop({ graceMs: 500 });
      await publisher.stop();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

/**
 * A logger that keeps every line (parsed JSON), for asserting what a server logged, and each line
 * that repeats a top-level key (pino writes both; a log reader keeps one: a field is lost).
 */
export function capturingLogger(): {
  logger: Logger;
  lines: Record<string, unknown>[];
  repeatedKeys: string[];
} {
  const lines: Record<string, unknown>[] = [];
  const repeatedKeys: string[] = [];
  const logger = createLogger(
    'cluster-test',
    { level: 'debug' },
    {
      write(line: string) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push(parsed);
        const keys = topLevelKeys(line);
        const repeated = keys.filter((k, i) => keys.indexOf(k) !== i);
        if (repeated.length > 0) repeatedKeys.push(`${String(parsed.msg)}: ${repeated.join(', ')}`);
      },
    },
  );
  return { logger, lines, repeatedKeys };
}

/** The keys of a JSON object's own members, in order, duplicates included. */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i += 1) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth += 1;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') depth -= 1;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

/** Adds a service through the store (a real, validated, version-bumping write). */
export async function addService(store: ConfigStore, name: string): Promise<void> {
  await store.services.create({ name, host: `${name}.internal`, port: 8080 });
}

export const toSigned = (s: Snapshot): SignedSnapshot => ({
  version: s.version,
  hash: s.hash,
  jws: s.jws,
  config: s.config,
  compression: s.compression as 'gzip' | 'identity',
  uncompressedSize: Number(s.uncompressedSize),
});

export interface HelloInit {
  nodeId: string;
  configHash?: string;
  configVersion?: bigint;
  /** The kid of the held snapshot's signature ('' or absent: not said, as an older DP). */
  configKid?: string;
  softwareVersion?: string;
  labels?: Record<string, string>;
  region?: string;
  /** Default: key-auth at the Gatehouse version. */
  plugins?: { name: string; version: string }[];
  /** Say that this DP applies deltas (delta sync). Default false, as an older DP. */
  acceptsDeltas?: boolean;
}

type CpValue<K extends string> = Extract<ControlPlaneMessage['message'], { case: K }>['value'];

/** A data plane played by hand over a raw ClusterServiceClient. */
export class TestDataPlane {
  readonly received: ControlPlaneMessage[] = [];
  readonly call: grpc.ClientDuplexStream<DataPlaneMessage, ControlPlaneMessage>;
  /** Resolves with the final status when the stream ends. */
  readonly status: Promise<grpc.StatusObject>;
  private readonly client: ClusterServiceClient;
  private waiters: (() => void)[] = [];
  private cursor = 0;

  /** `credentials`: default the test DP certificate (pki). */
  constructor(
    address: string,
    options: grpc.ClientOptions = {},
    credentials: grpc.ChannelCredentials = TEST_CERTS.dpCredentials(),
  ) {
    this.client = new ClusterServiceClient(address, credentials, {
      'grpc.max_receive_message_length': -1,
      ...options,
    });
    this.call = this.client.connect();
    this.status = new Promise((resolve) => {
      this.call.on('status', resolve);
    });
    this.call.on('data', (m: ControlPlaneMessage) => {
      this.received.push(m);
      this.wake();
    });
    this.call.on('error', () => this.wake());
    void this.status.then(() => {
      this.ended = true;
      this.wake();
    });
  }

  send(m: DataPlaneMessage): void {
    this.call.write(m);
  }

  hello(h: HelloInit): void {
    this.send(
      dpMessage({
        case: 'hello',
        value: create(HelloSchema, {
          nodeId: h.nodeId,
          hostname: `${h.nodeId}.host`,
          region: h.region ?? 'eu-west',
          labels: h.labels ?? { tier: 'test' },
          softwareVersion: h.softwareVersion ?? GATEHOUSE_VERSION,
          plugins: (h.plugins ?? [{ name: 'key-auth', version: GATEHOUSE_VERSION }]).map((p) =>
            create(PluginInfoSchema, p),
          ),
          configHash: h.configHash ?? '',
          configVersion: h.configVersion ?? 0n,
          configKid: h.configKid ?? '',
          acceptsDeltas: h.acceptsDeltas ?? false,
        }),
      }),
    );
  }

  ack(s: { version: bigint; hash: string }): void {
    this.send(dpMessage({ case: 'ack', value: create(AckSchema, { version: s.version, hash: s.hash }) }));
  }

  nack(s: { version: bigint; hash: string }, reason: string): void {
    this.send(
      dpMessage({ case: 'nack', value: create(NackSchema, { version: s.version, hash: s.hash, reason }) }),
    );
  }

  heartbeat(hash = '', version = 0n): void {
    this.send(
      dpMessage({
        case: 'heartbeat',
        value: create(HeartbeatSchema, {
          configHash: hash,
          configVersion: version,
          sentAtUnixMs: BigInt(Date.now()),
        }),
      }),
    );
  }

  /** The next message (after those already taken) of this kind. Rejects if the stream ends first. */
  async next<K extends 'snapshot' | 'snapshotDelta' | 'heartbeat' | 'refusal'>(
    kind: K,
    timeoutMs = 10_000,
  ): Promise<CpValue<K>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const m: { case: string | undefined; value?: unknown } = this.received[this.cursor++]!.message;
        if (m.case === kind) return m.value as CpValue<K>;
      }
      if (this.ended) throw new Error(`stream ended before a ${kind} arrived`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Snapshots received so far. */
  snapshots(): Snapshot[] {
    return this.received.flatMap((m) => (m.message.case === 'snapshot' ? [m.message.value] : []));
  }

  private ended = false;
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `condition not met within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

/**
 * A TCP proxy in front of the cluster server that can black-hole the connection: `block()` stops
 * reading on both sides (nothing passes, nothing is refused, as with a dead peer or a dropped
 * route), `unblock()` lets traffic flow again.
 */
export class BlackHoleProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private blocked = false;
  private readonly server = createNetServer((client) => {
    const [host, port] = splitAddress(this.target);
    const upstream = netConnect(port, host);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    for (const s of pair) {
      s.on('error', () => s.destroy());
      s.on('close', () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
    if (this.blocked) for (const s of pair) s.pause();
    else this.flow(pair);
  });

  constructor(private readonly target: string) {}

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    return `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  block(): void {
    this.blocked = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  unblock(): void {
    this.blocked = false;
    for (const pair of this.pairs) this.flow(pair);
  }

  private flow([a, b]: [Socket, Socket]): void {
    a.pipe(b);
    b.pipe(a);
    a.resume();
    b.resume();
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}
