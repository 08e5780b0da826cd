/**
 * The JetStream snapshot store against a nats-server of our own (JetStream on, a temp store
 * folder): the CP's writer (chunks, compare-and-set on the head, versions only forward, one
 * snapshot kept per slice), the DP's reader over hostile bucket contents, and a real data plane
 * (workers, verifier) that starts with no cache and no CP from what the bucket holds — and
 * refuses a tampered object, keeps trying, and serves a good one once it is there.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamSnapshotStore, SnapshotStoreWriter } from '@gatehouse/control-plane';
import { readStoredSnapshot, startDataPlane, type DataPlane } from '@gatehouse/data-plane';
import {
  decodeSnapshotManifest,
  encodeConfig,
  encodeSnapshotManifest,
  isGatehouseError,
  loadSigningKey,
  loadTrustedKeys,
  sha256Hex,
  signEncodedSnapshot,
  signSnapshot,
  SNAPSHOT_BUCKET,
  snapshotChunkKey,
  snapshotHeadKey,
  sliceToken,
  verifySnapshotBytes,
  writeSigningKeyPair,
  type SignedSnapshot,
  type SigningKey,
  type TrustedKeys,
} from '@gatehouse/shared';
import { configFor, httpGet, startUpstream } from '../dp/helpers/fixtures.js';
import { quietLogger } from '../helpers/db.js';
import { waitUntil } from '../ratelimit/helpers.js';
import { freePort, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const logger = quietLogger('jetstream-snapshots');
let nats: NatsServer;
let natsUrl: string;
let nc: NatsConnection;
let key: SigningKey;
let otherKey: SigningKey;
let trusted: TrustedKeys;
let keysFile: string;
let buckets = 0;
const newBucket = () => `gh_test_${process.pid}_${++buckets}`;

/** A snapshot of `bytes` (any bytes: the store does not parse them) at `version`. */
function snapshotOf(bytes: Uint8Array, version: bigint, signer = key): Promise<SignedSnapshot> {
  return signEncodedSnapshot({ bytes, hash: sha256Hex(bytes), version, cpId: 'cp-test', key: signer });
}

async function chunkSubjects(bucket: string): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `$KV.${bucket}.snap.*.chunk.>` });
  return Object.keys(info.state.subjects ?? {});
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gh-js-'));
  nats = await startNatsServer({ jetstream: true });
  natsUrl = nats.url;
  nc = await connect({ servers: natsUrl });
  const files = await writeSigningKeyPair(join(dir, 'keys'));
  keysFile = files.publicKeysFile;
  key = await loadSigningKey(files.privateKeyFile);
  trusted = await loadTrustedKeys([files.publicKeysFile]);
  otherKey = await loadSigningKey((await writeSigningKeyPair(join(dir, 'other'))).privateKeyFile);
});

afterAll(async () => {
  await nc?.close();
  await nats?.kill();
});

describe('JetStreamSnapshotStore (the CP writer)', () => {
  it('stores a snapshot larger than max_payload in chunks; the reader gets the exact signed bytes back', async () => {
    const store = new JetStreamSnapshotStore({ bucket: newBucket(), logger });
    // Hex of random bytes: gzip halves it, so ~1.7 MB on the wire, over the 1 MiB max_payload.
    const bytes = Buffer.from(randomBytes(1_700_000).toString('hex'));
    const snap = await snapshotOf(bytes, 7n);
    expect(await store.write(nc, snap)).toBe('written');
    const kv = await new Kvm(nc).open(store.bucket);
    const manifest = decodeSnapshotManifest((await kv.get(snapshotHeadKey('default')))!.value);
    expect(manifest.chunks).toBeGreaterThan(2);
    const back = await readStoredSnapshot(kv, 'default');
    expect({ ...back!, config: null }).toEqual({ ...snap, config: null });
    expect(Buffer.from(back!.config).equals(snap.config)).toBe(true);
    const verified = await verifySnapshotBytes(back!, trusted);
    expect(verified.version).toBe(7n);
    expect(verified.bytes.equals(bytes)).toBe(true);
    // The same version again is a no-op.
    expect(await store.write(nc, snap)).toBe('current');
  });

  it('never replaces a newer version with an older one, and keeps one snapshot per slice', async () => {
    const store = new JetStreamSnapshotStore({ bucket: newBucket(), logger });
    expect(await store.write(nc, await snapshotOf(Buffer.from('v5'), 5n))).toBe('written');
    expect(await store.write(nc, await snapshotOf(Buffer.from('v3'), 3n))).toBe('newer-stored');
    expect(await store.write(nc, await snapshotOf(Buffer.from('v9'), 9n))).toBe('written');
    expect(await store.write(nc, await snapshotOf(Buffer.from('v8'), 8n), 'eu')).toBe('written');
    const kv = await new Kvm(nc).open(store.bucket);
    expect((await readStoredSnapshot(kv, 'default'))!.version).toBe(9n);
    expect((await readStoredSnapshot(kv, 'eu'))!.version).toBe(8n);
    // v5's chunks were purged once v9 won: one chunk per slice remains.
    expect((await chunkSubjects(store.bucket)).length).toBe(2);
  });

  it('a sweep removes the snapshots of placements nobody keeps (head and chunks), never the default slice, a kept one or a fresh one', async () => {
    const store = new JetStreamSnapshotStore({ bucket: newBucket(), logger });
    for (const slice of ['default', 'region=eu', 'region=us', 'label=tier=gold'])
      expect(await store.write(nc, await snapshotOf(Buffer.from(slice), 4n), slice)).toBe('written');
    const kv = await new Kvm(nc).open(store.bucket);

    // Written just now: a minimum age of an hour keeps every one of them.
    expect(await store.sweep(nc, ['region=eu'], 3_600_000)).toEqual([]);
    expect((await chunkSubjects(store.bucket)).length).toBe(4);

    const removed = await store.sweep(nc, ['region=eu'], 0);
    expect(removed.sort()).toEqual([sliceToken('label=tier=gold'), sliceToken('region=us')].sort());
    expect(await readStoredSnapshot(kv, 'region=us')).toBeNull();
    expect(await readStoredSnapshot(kv, 'label=tier=gold')).toBeNull();
    expect((await readStoredSnapshot(kv, 'region=eu'))!.version).toBe(4n);
    expect((await readStoredSnapshot(kv, 'default'))!.version).toBe(4n);
    const left = await chunkSubjects(store.bucket);
    expect(left.length).toBe(2);
    expect(left.every((s) => !s.includes(sliceToken('region=us')))).toBe(true);

    // A placement that comes back is stored again (the head was deleted, not left half-written).
    expect(await store.write(nc, await snapshotOf(Buffer.from('us again'), 5n), 'region=us')).toBe('written');
    expect((await readStoredSnapshot(kv, 'region=us'))!.version).toBe(5n);
    // And a sweep over an empty keep list still never touches 'default'.
    await store.sweep(nc, [], 0);
    expect((await readStoredSnapshot(kv, 'default'))!.version).toBe(4n);
  });

  it('two replicas racing: the highest version ends up stored and only its chunks remain', async () => {
    const bucket = newBucket();
    const other = await connect({ servers: natsUrl });
    try {
      const writers = [
        { nc, store: new JetStreamSnapshotStore({ bucket, logger, attempts: 50 }) },
        { nc: other, store: new JetStreamSnapshotStore({ bucket, logger, attempts: 50 }) },
      ];
      // Create the bucket once so both race on the head, not on creating the stream.
      await writers[0]!.store.write(nc, await snapshotOf(Buffer.from('v0'), 0n));
      const versions = fc.sample(fc.shuffledSubarray([...Array(24).keys()], { minLength: 24 }), {
        numRuns: 1,
        seed: 12,
      })[0]!;
      // Incompressible, so every write spends a while on its chunks between reading the head and
      // moving it: a writer without compare-and-set would put an older version over a newer one.
      const payload = new Map(
        versions.map((v) => [v + 1, Buffer.from(randomBytes(600_000).toString('hex'))]),
      );
      const snaps = await Promise.all(versions.map((v) => snapshotOf(payload.get(v + 1)!, BigInt(v + 1))));
      const results = await Promise.all(
        snaps.map((s, i) => writers[i % 2]!.store.write(writers[i % 2]!.nc, s)),
      );
      expect(results.filter((r) => r === 'written').length).toBeGreaterThan(0);
      const kv = await new Kvm(nc).open(bucket);
      const stored = await readStoredSnapshot(kv, 'default');
      expect(stored!.version).toBe(24n);
      expect((await verifySnapshotBytes(stored!, trusted)).bytes.equals(payload.get(24)!)).toBe(true);
      const { id, chunks } = decodeSnapshotManifest((await kv.get(snapshotHeadKey('default')))!.value);
      const left = await chunkSubjects(bucket);
      expect(left.sort()).toEqual(
        [...Array(chunks).keys()].map((n) => `$KV.${bucket}.${snapshotChunkKey('default', id, n)}`).sort(),
      );
    } finally {
      await other.close();
    }
  });
});

describe('SnapshotStoreWriter (newest-only, retried)', () => {
  it('writes the newest of a burst, and on a NATS without JetStream counts failures and keeps trying', async () => {
    const bucket = newBucket();
    const writer = new SnapshotStoreWriter({
      store: new JetStreamSnapshotStore({ bucket, logger }),
      connection: () => nc,
      logger,
    });
    for (let v = 1n; v <= 5n; v++) writer.offer(await snapshotOf(Buffer.from(`burst ${v}`), v));
    await waitUntil('the burst is written', async () => {
      await writer.settled();
      const kv = await new Kvm(nc).open(bucket);
      return (await readStoredSnapshot(kv, 'default'))?.version === 5n;
    });
    expect(writer.status()).toMatchObject({ pending: 0, last_error: null });
    await writer.close();

    const plain = await startNatsServer();
    const plainNc = await connect({ servers: plain.url });
    const failing = new SnapshotStoreWriter({
      store: new JetStreamSnapshotStore({ bucket, logger }),
      connection: () => plainNc,
      logger,
      retryMs: 50,
    });
    try {
      failing.offer(await snapshotOf(Buffer.from('no jetstream'), 1n));
      await waitUntil('two failed attempts', () => failing.status().failures >= 2);
      expect(failing.status()).toMatchObject({ pending: 1 });
      expect(failing.status().last_error).toBeTruthy();
    } finally {
      await failing.close();
      await plainNc.close();
      await plain.kill();
    }
  });
});

describe('readStoredSnapshot over hostile bucket contents', () => {
  let kv: KV;
  beforeAll(async () => {
    kv = await new Kvm(nc).create(newBucket(), { history: 1 });
  });

  /** Puts a head and chunks as given (no writer's rules). */
  async function put(head: Uint8Array, chunks: Uint8Array[], id: string): Promise<void> {
    for (const [n, c] of chunks.entries()) await kv.put(snapshotChunkKey('default', id, n), c);
    await kv.put(snapshotHeadKey('default'), head);
  }

  it('returns null or refuses with GH_ERR_SNAPSHOT_STORE_MALFORMED, never anything else; what it returns never verifies', async () => {
    const good = await snapshotOf(Buffer.from('{"services":[],"routes":[]}'), 3n);
    const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
    const manifest = fc.record({
      version: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      hash: hex64,
      id: fc.stringMatching(/^[A-Za-z0-9]{8,16}$/),
      chunks: fc.integer({ min: 1, max: 4 }),
      size: fc.integer({ min: 1, max: 4096 }),
      sha256: hex64,
    });
    const chunk = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }),
      fc.constant(Buffer.from(good.jws)),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.concat([Buffer.from([0x0a]), b])),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          // A manifest with hostile chunks, its digest matching them or not.
          fc.tuple(manifest, fc.array(chunk, { maxLength: 4 }), fc.boolean()).map(([m, cs, honest]) => {
            const all = Buffer.concat(cs);
            const head = honest
              ? { ...m, chunks: Math.max(1, cs.length), size: all.length || 1, sha256: sha256Hex(all) }
              : m;
            return { head: encodeSnapshotManifest(head), chunks: cs, id: m.id };
          }),
          // Arbitrary bytes as the head.
          fc.tuple(fc.uint8Array({ maxLength: 512 }), fc.array(chunk, { maxLength: 2 })).map(([h, cs]) => ({
            head: h,
            chunks: cs,
            id: 'abcdefgh',
          })),
          // JSON that is almost a manifest.
          fc.tuple(fc.jsonValue(), fc.array(chunk, { maxLength: 2 })).map(([j, cs]) => ({
            head: Buffer.from(JSON.stringify({ v: 1, id: 'abcdefgh', chunks: 1, size: 10, extra: j })),
            chunks: cs,
            id: 'abcdefgh',
          })),
        ),
        async ({ head, chunks, id }) => {
          await put(head, chunks, id);
          try {
            const snap = await readStoredSnapshot(kv, 'default');
            if (snap) await expect(verifySnapshotBytes(snap, trusted)).rejects.toSatisfy(isGatehouseError);
          } catch (e) {
            expect(isGatehouseError(e) && e.code).toBe('GH_ERR_SNAPSHOT_STORE_MALFORMED');
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('a data plane with no cache and no control plane', () => {
  let dp: DataPlane | null = null;
  afterAll(async () => {
    await dp?.stop();
  });

  it('refuses a tampered stored snapshot (logged, counted, in /status), keeps trying, then serves a good one', async () => {
    const upstream = await startUpstream('cold-start');
    try {
      // The default bucket: the nats-server is this file's own.
      const store = new JetStreamSnapshotStore({ bucket: SNAPSHOT_BUCKET, logger });
      const config = configFor(upstream.port, ['/cold']);
      // Signed by a key the DP does not trust: a forged object.
      expect(
        await store.write(nc, await signSnapshot({ config, version: 40n, cpId: 'evil', key: otherKey })),
      ).toBe('written');
      dp = await startDataPlane({
        trustedKeyFiles: [keysFile],
        dataDir: await mkdtemp(join(tmpdir(), 'gh-js-dp-')),
        natsUrl,
        workers: 1,
        proxyListen: { host: '127.0.0.1', port: 0 },
        statusListen: { host: '127.0.0.1', port: 0 },
        trafficSummaryIntervalMs: 0,
        logger,
      });
      const running = dp;
      await waitUntil(
        'the forged snapshot is refused',
        async () => running.status().jetstream_boot?.last_error?.code === 'GH_ERR_SNAPSHOT_UNKNOWN_KEY',
      );
      expect(running.ready()).toBe(false);
      expect((await httpGet(running.proxyPort()!, '/cold')).status).toBe(503);
      const metrics = await running.metrics.registry.metrics();
      expect(metrics).toMatch(/gatehouse_dp_jetstream_boot_total\{result="refused"\} [1-9]/);

      // The same config and version, signed by the trusted key but with its bytes altered.
      const genuine = await signSnapshot({ config, version: 41n, cpId: 'cp', key });
      const tampered = { ...genuine, config: Buffer.from(genuine.config).fill(1, 20, 24) };
      expect(await store.write(nc, tampered)).toBe('written');
      await waitUntil(
        'the altered snapshot is refused',
        async () =>
          ['GH_ERR_SNAPSHOT_HASH_MISMATCH', 'GH_ERR_SNAPSHOT_MALFORMED'].includes(
            running.status().jetstream_boot?.last_error?.code ?? '',
          ),
        30_000,
      );
      expect(running.ready()).toBe(false);

      // The CP stores a good one: the DP (still trying) serves it.
      const { hash } = encodeConfig(config);
      expect(await store.write(nc, await signSnapshot({ config, version: 42n, cpId: 'cp', key }))).toBe(
        'written',
      );
      await waitUntil('the DP serves the stored snapshot', async () => running.ready(), 60_000);
      expect(running.status().config).toMatchObject({ version: '42', source: 'jetstream' });
      await waitUntil('the cold start is done', () => running.status().jetstream_boot?.state === 'applied');
      expect(running.status().jetstream_boot?.last_error).toBeNull();
      expect(running.status().config?.hash).toBe(hash);
      expect((await httpGet(running.proxyPort()!, '/cold')).status).toBe(200);
    } finally {
      upstream.server.close();
    }
  });

  it('a DP of a region boots from its region’s slice; a DP of a region with no stored slice falls back to the default one', async () => {
    const upstream = await startUpstream('cold-start-slices');
    const started: DataPlane[] = [];
    try {
      // The bucket DPs read (this file's own nats-server); versions above the test before.
      const store = new JetStreamSnapshotStore({ bucket: SNAPSHOT_BUCKET, logger });
      // The default slice is newer than eu's: a DP must still take its own slice first.
      const eu = configFor(upstream.port, ['/eu-only']);
      const all = configFor(upstream.port, ['/default-only']);
      expect(
        await store.write(
          nc,
          await signSnapshot({ config: eu, version: 100n, cpId: 'cp', key }),
          'region=eu',
        ),
      ).toBe('written');
      expect(await store.write(nc, await signSnapshot({ config: all, version: 110n, cpId: 'cp', key }))).toBe(
        'written',
      );
      const start = async (region: string) => {
        const d = await startDataPlane({
          trustedKeyFiles: [keysFile],
          dataDir: await mkdtemp(join(tmpdir(), `gh-js-dp-${region}-`)),
          natsUrl,
          region,
          workers: 1,
          // Its own port: DPs of one process share node:cluster, where workers listening on port 0
          // share one port key (the eu DP's worker could take the us DP's connections).
          proxyListen: { host: '127.0.0.1', port: await freePort() },
          statusListen: { host: '127.0.0.1', port: 0 },
          trafficSummaryIntervalMs: 0,
          logger,
        });
        started.push(d);
        await waitUntil(`the ${region} DP serves a stored snapshot`, async () => d.ready(), 60_000);
        return d;
      };
      const euDp = await start('eu');
      expect(euDp.status().config).toMatchObject({
        version: '100',
        source: 'jetstream',
        hash: encodeConfig(eu).hash,
      });
      expect((await httpGet(euDp.proxyPort()!, '/eu-only')).status).toBe(200);
      expect((await httpGet(euDp.proxyPort()!, '/default-only')).status).toBe(404);

      const usDp = await start('us');
      expect(usDp.status().config).toMatchObject({
        version: '110',
        source: 'jetstream',
        hash: encodeConfig(all).hash,
      });
      expect((await httpGet(usDp.proxyPort()!, '/default-only')).status).toBe(200);
      expect((await httpGet(usDp.proxyPort()!, '/eu-only')).status).toBe(404);
    } finally {
      for (const d of started) await d.stop();
      upstream.server.close();
    }
  });
});
