import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  diffConfigs,
  emptyConfig,
  encodeConfig,
  generateSigningKeyPair,
  indexConfig,
  issueCertificate,
  issueRevocationList,
  loadSigningKey,
  loadTrustedKeys,
  parseSnapshotConfig,
  RootTrust,
  sha256Hex,
  signDelta,
  signEncodedSnapshot,
  signSnapshot,
  SNAPSHOT_ALG,
  writeSigningKeyPair,
  type GatehouseConfig,
  type SigningKey,
  type TrustedKeys,
} from '@gatehouse/shared';
import { nodeConfigOf, type NodeConfig } from '../runtime/node-config.js';
import { DataPlaneMetrics } from '../status/metrics.js';
import { WorkerPool, type ConfigMeta } from '../workers/worker-pool.js';
import { SnapshotApplier, type ConfigCompiler, type ConfigTarget } from './snapshot-applier.js';
import { SyncErrors } from './errors.js';
import { SnapshotCache } from './snapshot-cache.js';
import { VERSION_FLOOR_FILE, VersionFloor } from './version-floor.js';

const logger = createLogger('test', { level: 'silent' });

function config(name: string): GatehouseConfig {
  const c = emptyConfig();
  c.services.push({ id: `id-${name}`, name } as GatehouseConfig['services'][number]);
  return c;
}

/** The primary's compile of the node part: refuses an upstream named "unbalanced". */
const compiler: ConfigCompiler = {
  compile(node) {
    if (node.upstreams.some((u) => u.name === 'unbalanced')) throw new Error('upstream cannot be compiled');
  },
};

class RecordingTarget implements ConfigTarget {
  applied: ConfigMeta[] = [];
  /** The next round fails with this (a message: a plain error). */
  failNext: string | Error | null = null;
  /**
   * Like the pool: the workers parse and compile (refusing a service named "uncompilable"), then
   * the check runs on the node part; any error fails the round.
   */
  async apply(bytes: Uint8Array, meta: ConfigMeta, check: (node: NodeConfig) => void): Promise<void> {
    const parsed = parseSnapshotConfig(Buffer.from(bytes).toString('utf8'));
    if (parsed.services.some((s) => s.name === 'uncompilable'))
      throw SyncErrors.compileFailed(`config ${meta.version} does not compile: route cannot be compiled`);
    check(nodeConfigOf(parsed));
    if (this.failNext) {
      const failure = this.failNext;
      this.failNext = null;
      throw typeof failure === 'string' ? new Error(failure) : failure;
    }
    this.applied.push(meta);
  }
}

describe('SnapshotApplier', () => {
  let dir: string;
  let key: SigningKey;
  let trusted: TrustedKeys;
  let target: RecordingTarget;
  let cache: SnapshotCache;
  let metrics: DataPlaneMetrics;
  let applier: SnapshotApplier;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-applier-'));
    const files = await writeSigningKeyPair(join(dir, 'keys'));
    key = await loadSigningKey(files.privateKeyFile);
    trusted = await loadTrustedKeys([files.publicKeysFile]);
    target = new RecordingTarget();
    cache = new SnapshotCache(join(dir, 'data'), logger);
    metrics = new DataPlaneMetrics({ defaultMetrics: false });
    applier = new SnapshotApplier({ trustedKeys: trusted, compiler, target, cache, logger, metrics });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sign = (name: string, version: bigint, k: SigningKey = key) =>
    signSnapshot({ config: config(name), version, cpId: 'cp', key: k });

  it('applies a verified snapshot to the target, then caches it', async () => {
    const s = await sign('a', 1n);
    const out = await applier.handle(s, 'control_plane');
    expect(out).toMatchObject({ ok: true, version: 1n, changed: true });
    expect(target.applied).toEqual([{ version: 1n, hash: s.hash }]);
    expect(applier.held).toMatchObject({ version: 1n, hash: s.hash, source: 'control_plane' });
    expect((await cache.loadVerified(trusted))?.verified.hash).toBe(s.hash);
  });

  /** A delta from config(from) at 1 to config(to) at 2; `opsTo` (default `to`) gives the ops signed. */
  const delta = (from: string, to: string, opsTo = to, k: SigningKey = key) => {
    const a = encodeConfig(config(from));
    const b = encodeConfig(config(to));
    const ops = diffConfigs(indexConfig(a.bytes), indexConfig(encodeConfig(config(opsTo)).bytes))!;
    return signDelta({
      base: { version: 1n, hash: a.hash },
      target: { version: 2n, hash: b.hash, size: b.bytes.length },
      ops,
      cpId: 'cp',
      key: k,
    });
  };

  it('applies a delta to the config served at the signed full hash, counts it and caches a verifiable snapshot', async () => {
    await applier.handle(await sign('a', 1n), 'control_plane');
    const d = await delta('a', 'b');
    const out = await applier.handleDelta(d);
    expect(out).toMatchObject({ ok: true, version: 2n, hash: encodeConfig(config('b')).hash, changed: true });
    expect(target.applied.map((m) => m.version)).toEqual([1n, 2n]);
    expect(applier.held).toMatchObject({ version: 2n, hash: d.hash });
    // The cache verifies at boot as a snapshot (the delta's JWS beside the full bytes).
    expect((await cache.loadVerified(trusted))?.verified.hash).toBe(d.hash);
    expect(await metrics.registry.getSingleMetricAsString('gatehouse_dp_delta_applies_total')).toMatch(
      / 1$/m,
    );
  });

  it('refuses a signed delta whose ops do not give the signed hash, one on another base, one with none held', async () => {
    expect(await applier.handleDelta(await delta('a', 'b'))).toMatchObject({
      ok: false,
      code: 'GH_ERR_SNAPSHOT_DELTA_BASE',
    });
    await applier.handle(await sign('a', 1n), 'control_plane');
    const wrong = await applier.handleDelta(await delta('a', 'b', 'c'));
    expect(wrong).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_HASH_MISMATCH' });
    const otherBase = await applier.handleDelta(await delta('z', 'b'));
    expect(otherBase).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_DELTA_BASE' });
    expect(applier.held?.version).toBe(1n);
    expect(target.applied.map((m) => m.version)).toEqual([1n]);
    expect(await metrics.registry.getSingleMetricAsString('gatehouse_dp_delta_rejects_total')).toMatch(
      /code="GH_ERR_SNAPSHOT_HASH_MISMATCH"} 1/,
    );
  });

  it('refuses an older or equal version with a stale-version reason and keeps the config', async () => {
    await applier.handle(await sign('a', 5n), 'control_plane');
    const older = await applier.handle(await sign('b', 4n), 'control_plane');
    expect(older).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_STALE_VERSION' });
    const equal = await applier.handle(await sign('c', 5n), 'control_plane');
    expect(equal).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_STALE_VERSION' });
    expect(target.applied.map((m) => m.version)).toEqual([5n]);
    expect(applier.held?.version).toBe(5n);
  });

  it('acks the hash already served without swapping, and records a newer version of it', async () => {
    const s1 = await sign('a', 1n);
    await applier.handle(s1, 'control_plane');
    const same = await applier.handle(s1, 'control_plane');
    expect(same).toMatchObject({ ok: true, changed: false });
    const s2 = await sign('a', 2n);
    expect(s2.hash).toBe(s1.hash);
    expect(await applier.handle(s2, 'control_plane')).toMatchObject({ ok: true, changed: false });
    expect(target.applied).toHaveLength(1);
    expect(applier.held?.version).toBe(2n);
    expect((await cache.loadVerified(trusted))?.verified.version).toBe(2n);
  });

  it('re-caches the served config when the CP re-signs it with a rotated key, so the cache verifies once the old key goes', async () => {
    const next = await writeSigningKeyPair(join(dir, 'next'));
    const newKey = await loadSigningKey(next.privateKeyFile);
    const both = await loadTrustedKeys([
      join(dir, 'keys', 'snapshot-signing.jwks.json'),
      next.publicKeysFile,
    ]);
    applier = new SnapshotApplier({ trustedKeys: both, compiler, target, cache, logger, metrics });
    const old = await sign('a', 3n);
    await applier.handle(old, 'control_plane');
    // The CP restarted with the new key: the same config and version, signed by the new kid.
    const resigned = await sign('a', 3n, newKey);
    expect(resigned.hash).toBe(old.hash);
    expect(await applier.handle(resigned, 'control_plane')).toMatchObject({ ok: true, changed: false });
    expect(target.applied).toHaveLength(1);
    const onlyNew = await loadTrustedKeys([next.publicKeysFile]);
    expect((await cache.loadVerified(onlyNew))?.verified).toMatchObject({ version: 3n, kid: newKey.kid });
    // The same signature again changes nothing; an older version is not cached over it.
    expect(await applier.handle(resigned, 'control_plane')).toMatchObject({ ok: true, changed: false });
    expect(await applier.handle(await sign('a', 2n), 'control_plane')).toMatchObject({
      ok: true,
      changed: false,
    });
    expect((await cache.loadVerified(onlyNew))?.verified.version).toBe(3n);
  });

  it('a key rotation and a revocation under a root key (chaos F28) re-cache the served config and swap and compile nothing', async () => {
    const rootPair = await generateSigningKeyPair();
    const root = { kid: rootPair.kid, key: await importJWK(rootPair.privateJwk, SNAPSHOT_ALG) };
    const certified = async (): Promise<SigningKey> => {
      const pair = await generateSigningKeyPair();
      const now = Math.floor(Date.now() / 1000);
      return {
        kid: pair.kid,
        key: await importJWK(pair.privateJwk, SNAPSHOT_ALG),
        certificate: await issueCertificate(root, pair.publicJwk, {
          notBefore: now - 60,
          expiresAt: now + 86_400,
        }),
      };
    };
    const rootTrust = new RootTrust({
      roots: new Map([[rootPair.kid, await importJWK(rootPair.publicJwk, SNAPSHOT_ALG)]]),
    });
    let compiles = 0;
    const counting: ConfigCompiler = {
      compile: () => {
        compiles += 1;
      },
    };
    applier = new SnapshotApplier({
      trustedKeys: rootTrust,
      compiler: counting,
      target,
      cache,
      logger,
      metrics,
    });
    const first = await certified();
    await applier.handle(await sign('a', 3n, first), 'control_plane');
    expect([target.applied.length, compiles]).toEqual([1, 1]);
    // `gatehouse keys rotate`: the CP re-signs the same config with the new key.
    const second = await certified();
    const rotated = await applier.handle(await sign('a', 3n, second), 'control_plane');
    expect(rotated).toMatchObject({ ok: true, changed: false });
    expect(applier.held?.kid).toBe(second.kid);
    // `gatehouse keys revoke`: the same config again, its header carrying the new list.
    const revocations = await issueRevocationList(root, { revoked: [first.kid], version: 1 });
    const listed = await applier.handle(await sign('a', 3n, { ...second, revocations }), 'control_plane');
    expect(listed).toMatchObject({ ok: true, changed: false });
    expect(rootTrust.revocations?.claims.revoked).toEqual([first.kid]);
    // Neither reached a worker nor the primary's compiler; the cache holds the last signature.
    expect([target.applied.length, compiles]).toEqual([1, 1]);
    expect((await cache.loadVerified(rootTrust))?.verified.kid).toBe(second.kid);
  });

  it('refuses tampered bytes and unknown keys', async () => {
    await applier.handle(await sign('a', 1n), 'control_plane');
    const good = await sign('b', 2n);
    const evil = await sign('evil', 2n);
    const tampered = await applier.handle({ ...good, config: evil.config }, 'control_plane');
    expect(tampered).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_HASH_MISMATCH' });
    const stranger = await loadSigningKey((await writeSigningKeyPair(join(dir, 'k2'))).privateKeyFile);
    const unknown = await applier.handle(await sign('b', 3n, stranger), 'control_plane');
    expect(unknown).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_UNKNOWN_KEY' });
    expect(applier.held?.version).toBe(1n);
    expect(metrics.snapshotRejects.get()).toBeDefined();
  });

  it('refuses a config that does not compile; no worker keeps it', async () => {
    const out = await applier.handle(await sign('uncompilable', 1n), 'control_plane');
    expect(out).toMatchObject({ ok: false, code: 'GH_ERR_DP_CONFIG_COMPILE' });
    expect(out.ok === false && out.reason).toMatch(/route cannot be compiled/);
    expect(target.applied).toHaveLength(0);
    expect(applier.held).toBeNull();
    expect(await cache.read()).toBeNull();
  });

  it('refuses a config whose upstreams the primary cannot compile (its check of the node part); nothing is applied or cached', async () => {
    const c = config('a');
    c.upstreams.push({ id: 'u1', name: 'unbalanced' } as GatehouseConfig['upstreams'][number]);
    const out = await applier.handle(
      await signSnapshot({ config: c, version: 1n, cpId: 'cp', key }),
      'control_plane',
    );
    expect(out).toMatchObject({ ok: false, code: 'GH_ERR_DP_CONFIG_COMPILE' });
    expect(out.ok === false && out.reason).toMatch(/upstream cannot be compiled/);
    expect(target.applied).toHaveLength(0);
    expect(await cache.read()).toBeNull();
  });

  it('refuses signed bytes that are not a config with the malformed code; no worker keeps them', async () => {
    const s1 = await sign('a', 1n);
    await applier.handle(s1, 'control_plane');
    const bytes = Buffer.from('{"services":"nope"}');
    const bad = await signEncodedSnapshot({ bytes, hash: sha256Hex(bytes), version: 2n, cpId: 'cp', key });
    const out = await applier.handle(bad, 'control_plane');
    expect(out).toMatchObject({ ok: false, code: 'GH_ERR_SNAPSHOT_MALFORMED' });
    expect(target.applied.map((m) => m.version)).toEqual([1n]);
    expect(applier.held?.hash).toBe(s1.hash);
  });

  it('keeps the old config and cache when the workers fail to swap', async () => {
    const s1 = await sign('a', 1n);
    await applier.handle(s1, 'control_plane');
    target.failNext = 'worker 123 exited';
    const out = await applier.handle(await sign('b', 2n), 'control_plane');
    expect(out).toMatchObject({ ok: false, reason: 'worker 123 exited' });
    expect(applier.held?.hash).toBe(s1.hash);
    expect((await cache.loadVerified(trusted))?.verified.version).toBe(1n);
  });

  it('boots from the cache (verified again) without rewriting it', async () => {
    await cache.write(await sign('cached', 9n));
    expect(await applier.loadFromCache()).toBe(true);
    expect(applier.held).toMatchObject({ version: 9n, source: 'cache' });
    expect(target.applied.map((m) => m.version)).toEqual([9n]);
  });

  it('a worker failing while it takes the cached snapshot is said as such, not as a refusal of the snapshot', async () => {
    await cache.write(await sign('cached', 9n));
    const logged: string[] = [];
    const seen = createLogger(
      'test',
      { level: 'error' },
      { write: (line: string) => void logged.push(line) },
    );
    applier = new SnapshotApplier({ trustedKeys: trusted, compiler, target, cache, logger: seen, metrics });
    target.failNext = SyncErrors.applyFailed('worker exited while booting (code 1, signal null)');
    expect(await applier.loadFromCache()).toBe(false);
    expect(applier.lastRefusal('cache')).toBeNull();
    expect(applier.lastCacheApplyFailure).toMatchObject({
      code: 'GH_ERR_DP_CONFIG_APPLY',
      reason: 'worker exited while booting (code 1, signal null)',
      version: '9',
    });
    expect(logged.join('')).toContain('a worker failed while taking it (the snapshot was not refused)');
    expect(logged.join('')).not.toContain('cached snapshot refused');
  });

  it('does not boot from a cache signed by an untrusted key', async () => {
    const stranger = await loadSigningKey((await writeSigningKeyPair(join(dir, 'k3'))).privateKeyFile);
    await cache.write(await sign('cached', 9n, stranger));
    expect(await applier.loadFromCache()).toBe(false);
    expect(applier.held).toBeNull();
    expect(target.applied).toHaveLength(0);
  });

  describe('rollback protection (highest version accepted, persisted)', () => {
    const restart = async (allowRollback = false) => {
      const floor = new VersionFloor(join(dir, 'data'), logger);
      await floor.load();
      target = new RecordingTarget();
      applier = new SnapshotApplier({
        trustedKeys: trusted,
        compiler,
        target,
        cache,
        floor,
        allowRollback,
        logger,
      });
      return floor;
    };

    it('records every accepted version in the data folder', async () => {
      const floor = await restart();
      await applier.handle(await sign('a', 739n), 'control_plane');
      await applier.handle(await sign('b', 740n), 'control_plane');
      expect(floor.version).toBe(740n);
      expect(JSON.parse(await readFile(join(dir, 'data', VERSION_FLOOR_FILE), 'utf8'))).toMatchObject({
        version: '740',
      });
    });

    it('refuses an older cache at boot, and says why', async () => {
      await restart();
      const v739 = await sign('old', 739n);
      await applier.handle(v739, 'control_plane');
      await applier.handle(await sign('new', 740n), 'control_plane');
      await cache.write(v739); // the old signed cache put back
      await restart();
      expect(await applier.loadFromCache()).toBe(false);
      expect(applier.held).toBeNull();
      expect(target.applied).toHaveLength(0);
      expect(applier.lastRefusal('cache')).toMatchObject({
        code: 'GH_ERR_DP_VERSION_ROLLBACK',
        version: '739',
        kid: key.kid,
      });
      expect(applier.lastRefusal('cache')?.reason).toMatch(
        /739 is older than the highest version this data plane has accepted \(740\)/,
      );
    });

    it('serves it with the operator override, which then lowers the floor', async () => {
      await restart();
      const v739 = await sign('old', 739n);
      await applier.handle(v739, 'control_plane');
      await applier.handle(await sign('new', 740n), 'control_plane');
      await cache.write(v739);
      const floor = await restart(true);
      expect(await applier.loadFromCache()).toBe(true);
      expect(applier.held?.version).toBe(739n);
      expect(floor.version).toBe(739n);
    });

    it('never applies a version below the floor from the stream; the floor itself again is fine', async () => {
      await restart();
      await applier.handle(await sign('new', 740n), 'control_plane');
      await restart(); // no cache served: nothing held
      await cache.write(await sign('x', 1n)); // irrelevant to the stream
      const older = await applier.handle(await sign('old', 739n), 'control_plane');
      expect(older).toMatchObject({ ok: false, code: 'GH_ERR_DP_VERSION_ROLLBACK' });
      expect(applier.lastRefusal('control_plane')).toMatchObject({
        code: 'GH_ERR_DP_VERSION_ROLLBACK',
        version: '739',
      });
      expect(await applier.handle(await sign('new', 740n), 'control_plane')).toMatchObject({ ok: true });
      expect(applier.lastRefusal('control_plane')).toBeNull();
    });

    it('refuses the boot cache when the floor file is unreadable', async () => {
      await restart();
      await applier.handle(await sign('a', 5n), 'control_plane');
      await writeFile(join(dir, 'data', VERSION_FLOOR_FILE), 'garbage');
      await restart();
      expect(await applier.loadFromCache()).toBe(false);
      expect(applier.lastRefusal('cache')?.reason).toMatch(/highest version accepted is unknown/);
    });
  });

  it('reports the last refusal from the CP with code, kid, version and time', async () => {
    const stranger = await loadSigningKey((await writeSigningKeyPair(join(dir, 'k4'))).privateKeyFile);
    await applier.handle(await sign('b', 3n, stranger), 'control_plane');
    expect(applier.lastRefusal('control_plane')).toMatchObject({
      code: 'GH_ERR_SNAPSHOT_UNKNOWN_KEY',
      kid: stranger.kid,
      version: '3',
      at: expect.stringMatching(/^\d{4}-/),
    });
    expect(applier.lastRefusal('cache')).toBeNull();
  });

  it('says why an encrypted cache is not served without its key', async () => {
    const sealed = new SnapshotCache(join(dir, 'data'), logger, { key: randomBytes(32) });
    await sealed.write(await sign('cached', 9n));
    expect(await applier.loadFromCache()).toBe(false);
    expect(applier.lastRefusal('cache')).toMatchObject({ code: 'GH_ERR_DP_CACHE_KEY' });
  });

  it('writes back encrypted a plain cache read while a key is set', async () => {
    await cache.write(await sign('cached', 9n));
    const cacheKey = randomBytes(32);
    const sealed = new SnapshotCache(join(dir, 'data'), logger, { key: cacheKey });
    applier = new SnapshotApplier({ trustedKeys: trusted, compiler, target, cache: sealed, logger });
    expect(await applier.loadFromCache()).toBe(true);
    expect((await readFile(sealed.file)).subarray(0, 8).toString()).toBe('GHCACHE1');
  });
});

/** One answer of the echo worker fixture, on a fresh connection (round-robin over the workers). */
function echo(port: number): Promise<{ pid: number; worker: number; services: string[]; swaps: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(JSON.parse(body) as Awaited<ReturnType<typeof echo>>));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('SnapshotApplier over a worker pool (prepare, then commit)', () => {
  let dir: string;
  let key: SigningKey;
  let pool: WorkerPool;
  let cache: SnapshotCache;
  let applier: SnapshotApplier;
  let port: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-applier-pool-'));
    const files = await writeSigningKeyPair(join(dir, 'keys'));
    key = await loadSigningKey(files.privateKeyFile);
    const trusted = await loadTrustedKeys([files.publicKeysFile]);
    pool = new WorkerPool({
      size: 2,
      listen: { host: '127.0.0.1', port: 0 },
      logger,
      exec: fileURLToPath(new URL('../workers/fixtures/echo-worker.ts', import.meta.url)),
      execArgv: ['--import', 'tsx'],
      applyTimeoutMs: 5_000,
      drainTimeoutMs: 1_000,
    });
    await pool.start();
    port = pool.port!;
    cache = new SnapshotCache(join(dir, 'data'), logger);
    applier = new SnapshotApplier({ trustedKeys: trusted, compiler, target: pool, cache, logger });
  });
  afterEach(async () => {
    await pool.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const signed = (version: bigint, ...names: string[]) => {
    const c = emptyConfig();
    for (const name of names) c.services.push({ id: name, name } as GatehouseConfig['services'][number]);
    return signSnapshot({ config: c, version, cpId: 'cp', key });
  };
  /** Per worker: the services it serves and how many configs it swapped in. */
  const served = async () => {
    const seen = new Map<number, { worker: number; services: string[]; swaps: number }>();
    for (let i = 0; i < 12 && seen.size < 2; i++) {
      const a = await echo(port);
      seen.set(a.pid, a);
    }
    return seen;
  };

  it('NACKs a snapshot one worker cannot compile: no worker swapped it in, the old config and cache stay', async () => {
    const s1 = await signed(1n, 'v1');
    expect(await applier.handle(s1, 'control_plane')).toMatchObject({ ok: true });
    const before = await served();
    const refusing = Math.max(...[...before.values()].map((a) => a.worker));
    const out = await applier.handle(await signed(2n, 'v2', `refuse-in-worker-${refusing}`), 'control_plane');
    expect(out).toMatchObject({ ok: false, code: 'GH_ERR_DP_CONFIG_COMPILE' });
    expect(out.ok === false && out.reason).toMatch(`worker ${refusing} finds this config invalid`);
    const after = await served();
    expect([...after.values()].map((a) => a.services)).toEqual([['v1'], ['v1']]);
    // The worker that compiled it never swapped it in (nor back out).
    for (const [pid, a] of before) expect(after.get(pid)?.swaps).toBe(a.swaps);
    expect(applier.held?.hash).toBe(s1.hash);
    expect((await cache.read())?.hash).toBe(s1.hash);
  });

  it('NACKs a round in which a worker dies while compiling; the same snapshot sent again applies everywhere', async () => {
    await applier.handle(await signed(1n, 'v1'), 'control_plane');
    const dying = Math.max(...[...(await served()).values()].map((a) => a.worker));
    const s2 = await signed(2n, 'v2', `exit-in-worker-${dying}`);
    const out = await applier.handle(s2, 'control_plane');
    expect(out).toMatchObject({ ok: false, code: 'GH_ERR_DP_CONFIG_APPLY' });
    expect((await cache.read())?.version).toBe(1n);
    // The replacement (another worker id) compiles it: the retry is acknowledged.
    for (let i = 0; i < 100 && pool.serving < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await applier.handle(s2, 'control_plane')).toMatchObject({ ok: true, changed: true });
    expect([...(await served()).values()].map((a) => a.services.includes('v2'))).toEqual([true, true]);
    expect((await cache.read())?.version).toBe(2n);
  });
});
