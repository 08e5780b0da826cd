/**
 * A real data plane (in-process primary + 2 worker processes forked from the built package)
 * against a fake control plane (real grpc-js server) and a real upstream.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startDataPlane,
  type DataPlane,
  type DataPlaneOptions,
  type DataPlaneStatus,
} from '@gatehouse/data-plane';
import { loadPluginRegistry } from '@gatehouse/data-plane/plugins';
import {
  createLogger,
  GATEHOUSE_VERSION,
  loadSigningKey,
  signSnapshot,
  writeSigningKeyPair,
  type SignedSnapshot,
  type SigningKey,
} from '@gatehouse/shared';
import { testClusterCerts } from '../helpers/cluster-certs.js';
import { FakeControlPlane } from './helpers/fake-cp.js';
import { configFor, freePort, httpGet, httpGetMany, startUpstream, waitUntil } from './helpers/fixtures.js';

/** The DP's cluster certificate files (the fake CP speaks mutual TLS). */
const { dpFiles } = await testClusterCerts();
const logger = createLogger('dp-test', { level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });

let keysDir: string;
let key: SigningKey;
let strangerKey: SigningKey;
let trustedFile: string;
let upstream: { server: Server; port: number };

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-keys-'));
  const pair = await writeSigningKeyPair(join(keysDir, 'cp'));
  key = await loadSigningKey(pair.privateKeyFile);
  trustedFile = pair.publicKeysFile;
  strangerKey = await loadSigningKey((await writeSigningKeyPair(join(keysDir, 'stranger'))).privateKeyFile);
  upstream = await startUpstream('echo');
});

afterAll(async () => {
  await new Promise((r) => upstream.server.close(r));
  await rm(keysDir, { recursive: true, force: true });
});

const snapshot = (version: bigint, paths: string[], k: SigningKey = key): Promise<SignedSnapshot> =>
  signSnapshot({ config: configFor(upstream.port, paths), version, cpId: 'fake-cp', key: k });

describe('data plane', () => {
  let dataDir: string;
  let cp: FakeControlPlane | null;
  let dp: DataPlane | null;
  let proxyPort: number;

  const start = async (controlPlane: string, extra: Partial<DataPlaneOptions> = {}) => {
    dp = await startDataPlane({
      controlPlane,
      trustedKeyFiles: [trustedFile],
      clusterTls: dpFiles,
      dataDir,
      workers: 2,
      proxyListen: { host: '127.0.0.1', port: proxyPort },
      statusListen: { host: '127.0.0.1', port: 0 },
      region: 'test-1',
      labels: { env: 'test' },
      logger,
      sync: {
        backoff: { baseMs: 50, maxMs: 400 },
        heartbeatIntervalMs: 300,
        watchdogMs: 3_000,
        refusalDelayMs: 400,
      },
      drainTimeoutMs: 2_000,
      ...extra,
    });
    return dp;
  };
  const statusUrl = (path: string) => `http://127.0.0.1:${dp!.statusAddress.port}${path}`;
  const status = async () => (await fetch(statusUrl('/status'))).json() as Promise<DataPlaneStatus>;

  afterEach(async () => {
    await dp?.stop();
    cp?.kill();
    dp = null;
    cp = null;
    await rm(dataDir, { recursive: true, force: true });
  });

  const setup = async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-data-'));
    proxyPort = await freePort();
    cp = new FakeControlPlane();
    await cp.start();
  };

  it('says Hello, gets its first config from the CP, serves it on every worker and becomes ready', async () => {
    await setup();
    await start(cp!.address);
    const hello = await cp!.waitFor('hello');
    expect(hello).toMatchObject({
      softwareVersion: GATEHOUSE_VERSION,
      region: 'test-1',
      configHash: '',
      configVersion: 0n,
    });
    expect(hello.labels).toEqual({ env: 'test' });
    expect(hello.nodeId).toBe((await readFile(join(dataDir, 'node-id'), 'utf8')).trim());
    expect((await fetch(statusUrl('/status/ready'))).status).toBe(503);

    const v1 = await snapshot(1n, ['/a']);
    cp!.publish(v1);
    const ack = await cp!.waitFor('ack', (a) => a.version === 1n);
    expect(ack.hash).toBe(v1.hash);
    expect((await fetch(statusUrl('/status/ready'))).status).toBe(200);

    const answers = await httpGetMany(proxyPort, '/a/x', 8);
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(JSON.parse(answers[0]!.body)).toEqual({ upstream: 'echo', path: '/a/x' });

    const s = await status();
    expect(s).toMatchObject({
      node_id: hello.nodeId,
      ready: true,
      config: { version: '1', hash: v1.hash, source: 'control_plane' },
      sync: { state: 'connected' },
      workers: { configured: 2, alive: 2, serving: 2 },
    });
    const metrics = await (await fetch(statusUrl('/metrics'))).text();
    expect(metrics).toMatch(/^gatehouse_dp_config_version 1$/m);
    expect(metrics).toMatch(/^gatehouse_dp_control_plane_connected 1$/m);
    expect(metrics).toMatch(/^gatehouse_dp_snapshot_applies_total\{source="control_plane"\} 1$/m);
  });

  it('swaps a new snapshot into every worker before it ACKs', async () => {
    await setup();
    await start(cp!.address);
    cp!.publish(await snapshot(1n, ['/a']));
    await cp!.waitFor('ack', (a) => a.version === 1n);

    // A frozen worker cannot swap: no ACK may go out until it has.
    const [frozen] = dp!.pool.workerPids;
    process.kill(frozen!, 'SIGSTOP');
    const mark = cp!.received.length;
    cp!.publish(await snapshot(2n, ['/v2']));
    const early = await cp!.waitFor('ack', (a) => a.version === 2n, 1_500, mark).catch(() => null);
    expect(early).toBeNull();
    process.kill(frozen!, 'SIGCONT');
    await cp!.waitFor('ack', (a) => a.version === 2n, 20_000, mark);

    for (let v = 3n; v <= 4n; v += 1n) {
      const path = `/v${v}`;
      cp!.publish(await snapshot(v, [path]));
      await cp!.waitFor('ack', (a) => a.version === v);
      // No wait after the ACK: each worker must already route the new path.
      const answers = await httpGetMany(proxyPort, path, 8);
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    }
    expect((await httpGet(proxyPort, '/a')).status).toBe(404);
  });

  it('NACKs tampered, unknown-key and older snapshots with the reason, and keeps serving the old config', async () => {
    await setup();
    await start(cp!.address);
    const v2 = await snapshot(2n, ['/good']);
    cp!.publish(v2);
    await cp!.waitFor('ack', (a) => a.version === 2n);

    const honest = await snapshot(3n, ['/good', '/honest']);
    const evil = await snapshot(3n, ['/evil']);
    cp!.send({ ...honest, config: evil.config, uncompressedSize: evil.uncompressedSize });
    const tampered = await cp!.waitFor('nack', (n) => n.version === 3n);
    expect(tampered.reason).toMatch(/GH_ERR_SNAPSHOT_HASH_MISMATCH/);

    const mark = cp!.received.length;
    cp!.send(await snapshot(3n, ['/evil'], strangerKey));
    const unknown = await cp!.waitFor('nack', (n) => n.version === 3n, 20_000, mark);
    expect(unknown.reason).toMatch(/GH_ERR_SNAPSHOT_UNKNOWN_KEY/);

    cp!.send(await snapshot(1n, ['/old']));
    const older = await cp!.waitFor('nack', (n) => n.version === 1n);
    expect(older.reason).toMatch(/GH_ERR_SNAPSHOT_STALE_VERSION/);

    // Signed and verified, but the workers cannot compile it (a regex path that is not one): the
    // primary does not compile routes, the workers' refusal is the config's compile error.
    const uncompilable = await snapshot(4n, ['/good', '~/(unclosed']);
    cp!.send(uncompilable);
    const refused = await cp!.waitFor('nack', (n) => n.version === 4n);
    expect(refused.reason).toMatch(/GH_ERR_DP_CONFIG_COMPILE.*config 4 does not compile: worker \d+: /);

    for (const a of await httpGetMany(proxyPort, '/good', 6)) expect(a.status).toBe(200);
    for (const p of ['/evil', '/old', '/honest']) expect((await httpGet(proxyPort, p)).status).toBe(404);
    const s = await status();
    expect(s.config).toMatchObject({ version: '2', hash: v2.hash });
    const metrics = await (await fetch(statusUrl('/metrics'))).text();
    expect(metrics).toMatch(/gatehouse_dp_snapshot_rejects_total\{code="GH_ERR_SNAPSHOT_UNKNOWN_KEY"\} 1/);
    expect(metrics).toMatch(/gatehouse_dp_snapshot_rejects_total\{code="GH_ERR_DP_CONFIG_COMPILE"\} 1/);
  });

  it('keeps serving when the CP is killed, and reconnects and syncs when it comes back', async () => {
    await setup();
    await start(cp!.address);
    cp!.publish(await snapshot(1n, ['/a']));
    await cp!.waitFor('ack', (a) => a.version === 1n);
    const port = cp!.port;
    cp!.kill();
    await waitUntil('sync is disconnected', async () => (await status()).sync.state !== 'connected');
    for (const a of await httpGetMany(proxyPort, '/a', 10)) expect(a.status).toBe(200);
    expect((await fetch(statusUrl('/status/ready'))).status).toBe(200);

    cp = new FakeControlPlane();
    await cp.start(port);
    const hello = await cp.waitFor('hello');
    expect(hello.configVersion).toBe(1n);
    cp.publish(await snapshot(2n, ['/a', '/b']));
    await cp.waitFor('ack', (a) => a.version === 2n);
    expect((await httpGet(proxyPort, '/b')).status).toBe(200);
    const s = await status();
    expect(s.sync.state).toBe('connected');
    expect(s.sync.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('restarted while the CP is down, serves from its verified cache and is ready; then reconnects', async () => {
    await setup();
    await start(cp!.address);
    const v5 = await snapshot(5n, ['/cached']);
    cp!.publish(v5);
    await cp!.waitFor('ack', (a) => a.version === 5n);
    const port = cp!.port;
    cp!.kill();
    await dp!.stop();
    expect((await httpGet(proxyPort, '/cached').catch((e: Error) => e)) instanceof Error).toBe(true);

    // The workers get the cached config as they boot and listen once it is in (docs/dev/
    // architecture.md, "Start time"): the proxy port never answers without it while they start.
    const seen = new Set<number>();
    let starting = true;
    const poll = (async () => {
      while (starting) {
        const a = await httpGet(proxyPort, '/cached').catch(() => null);
        if (a) seen.add(a.status);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await start(`127.0.0.1:${port}`).finally(() => (starting = false));
    await poll;
    expect([...seen].filter((s) => s !== 200)).toEqual([]);
    expect((await fetch(statusUrl('/status/ready'))).status).toBe(200);
    for (const a of await httpGetMany(proxyPort, '/cached', 6)) expect(a.status).toBe(200);
    expect((await status()).config).toMatchObject({ version: '5', hash: v5.hash, source: 'cache' });

    cp = new FakeControlPlane();
    cp.latest = v5;
    await cp.start(port);
    const hello = await cp.waitFor('hello');
    expect(hello).toMatchObject({ configHash: v5.hash, configVersion: 5n });
    cp.publish(await snapshot(6n, ['/cached', '/new']));
    await cp.waitFor('ack', (a) => a.version === 6n);
    expect((await httpGet(proxyPort, '/new')).status).toBe(200);
  });

  it('boots without a config when the cache is corrupt, and takes the next one from the CP', async () => {
    await setup();
    await start(cp!.address);
    cp!.publish(await snapshot(1n, ['/a']));
    await cp!.waitFor('ack', (a) => a.version === 1n);
    await dp!.stop();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dataDir, 'snapshot.pb'), 'garbage');
    cp!.kill();
    cp = new FakeControlPlane();
    await cp.start();
    await start(cp.address);
    expect((await fetch(statusUrl('/status/ready'))).status).toBe(503);
    const hello = await cp.waitFor('hello');
    expect(hello.configHash).toBe('');
    cp.publish(await snapshot(2n, ['/a']));
    await cp.waitFor('ack', (a) => a.version === 2n);
    expect((await httpGet(proxyPort, '/a')).status).toBe(200);
  });

  it('replaces a killed worker, which serves the current config', async () => {
    await setup();
    await start(cp!.address);
    cp!.publish(await snapshot(1n, ['/a']));
    await cp!.waitFor('ack', (a) => a.version === 1n);
    cp!.publish(await snapshot(2n, ['/b']));
    await cp!.waitFor('ack', (a) => a.version === 2n);
    const [victim] = dp!.pool.workerPids;
    process.kill(victim!, 'SIGKILL');
    await waitUntil('the worker is replaced', async () => {
      const s = await status();
      return s.workers.restarts === 1 && s.workers.alive === 2 && s.workers.serving === 2;
    });
    expect(dp!.pool.workerPids).not.toContain(victim);
    const answers = await httpGetMany(proxyPort, '/b', 10);
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect((await httpGet(proxyPort, '/a')).status).toBe(404);
  });

  it('logs a Refusal, keeps serving and retries later', async () => {
    await setup();
    await start(cp!.address);
    cp!.publish(await snapshot(1n, ['/a']));
    await cp!.waitFor('ack', (a) => a.version === 1n);
    cp!.refuse('kong_version_incompatible', 'DP 0.1.0 is newer than CP');
    let s: DataPlaneStatus | null = null;
    await waitUntil('the refusal is reported', async () => {
      s = await status();
      return s.sync.refusal !== null;
    });
    expect(s!.sync.refusal).toEqual({
      syncStatus: 'kong_version_incompatible',
      reason: 'DP 0.1.0 is newer than CP',
      at: expect.any(String),
    });
    expect(s!.sync.lastError).toMatch(/refused/);
    expect((await httpGet(proxyPort, '/a')).status).toBe(200);
    await cp!.waitFor(
      'hello',
      () => true,
      20_000,
      cp!.received.findIndex((m) => m.message.case === 'ack') + 1,
    );
  });
});

describe('data plane compatibility with its control plane', () => {
  let dataDir: string;
  let cp: FakeControlPlane;
  let dp: DataPlane | null = null;
  let proxyPort: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-data-'));
    proxyPort = await freePort();
    cp = new FakeControlPlane();
    await cp.start();
  });
  afterAll(async () => {
    await dp?.stop();
    cp.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  const start = (extra: Partial<DataPlaneOptions> = {}) =>
    startDataPlane({
      controlPlane: cp.address,
      trustedKeyFiles: [trustedFile],
      clusterTls: dpFiles,
      dataDir,
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: proxyPort },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger,
      sync: { backoff: { baseMs: 50, maxMs: 400 }, heartbeatIntervalMs: 300, refusalDelayMs: 400 },
      drainTimeoutMs: 1_000,
      ...extra,
    });

  it("says the plugin registry's plugins and its software version in Hello", async () => {
    dp = await start();
    const hello = await cp.waitFor('hello', (h) => h.nodeId === dp!.nodeId);
    const expected = (await loadPluginRegistry()).pluginInfos();
    expect(expected.length).toBeGreaterThan(0);
    expect(hello.plugins.map((p) => ({ name: p.name, version: p.version }))).toEqual(expected);
    expect(hello.softwareVersion).toBe(GATEHOUSE_VERSION);
    await dp.stop();
    dp = null;
  });

  it('keeps its stream and its config on a plugin refusal, and takes the next snapshot the CP sends', async () => {
    dp = await start({ plugins: [{ name: 'cors', version: '9.9.9' }], softwareVersion: '0.1.7' });
    const mark = cp.received.length;
    const hello = await cp.waitFor('hello', (h) => h.nodeId === dp!.nodeId, 20_000, mark);
    expect(hello.plugins.map((p) => `${p.name}@${p.version}`)).toEqual(['cors@9.9.9']);
    expect(hello.softwareVersion).toBe('0.1.7');
    cp.publish(await snapshot(10n, ['/kept']));
    await cp.waitFor('ack', (a) => a.version === 10n, 20_000, mark);

    cp.refuse('plugin_set_incompatible', 'configured key-auth plugin is missing from data plane');
    const s0 = () =>
      fetch(`http://127.0.0.1:${dp!.statusAddress.port}/status`).then(
        (r) => r.json() as Promise<DataPlaneStatus>,
      );
    await waitUntil('the refusal is reported', async () => (await s0()).sync.refusal !== null);
    const s = await s0();
    expect(s.sync).toMatchObject({
      state: 'connected',
      refusal: {
        syncStatus: 'plugin_set_incompatible',
        reason: 'configured key-auth plugin is missing from data plane',
      },
      reconnects: 0,
    });
    expect(s.software_version).toBe('0.1.7');
    expect((await httpGet(proxyPort, '/kept')).status).toBe(200);
    // The stream stays open: no new Hello, heartbeats continue on it.
    const afterRefusal = cp.received.length;
    await cp.waitFor('heartbeat', () => true, 5_000, afterRefusal);
    expect(cp.received.slice(mark + 1).some((m) => m.message.case === 'hello')).toBe(false);

    cp.publish(await snapshot(11n, ['/next']));
    await cp.waitFor('ack', (a) => a.version === 11n, 20_000, mark);
    expect((await httpGet(proxyPort, '/next')).status).toBe(200);
    expect((await s0()).sync.refusal).toBeNull();
    const metrics = await (await fetch(`http://127.0.0.1:${dp.statusAddress.port}/metrics`)).text();
    expect(metrics).toMatch(
      /^gatehouse_dp_control_plane_refusals_total\{sync_status="plugin_set_incompatible"\} 1$/m,
    );
  });
});

describe('data plane liveness', () => {
  it('reconnects when the CP goes silent (watchdog), while serving', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-data-'));
    const proxyPort = await freePort();
    const cp = new FakeControlPlane();
    await cp.start();
    const dp = await startDataPlane({
      controlPlane: cp.address,
      trustedKeyFiles: [trustedFile],
      clusterTls: dpFiles,
      dataDir,
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: proxyPort },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger,
      sync: { backoff: { baseMs: 50, maxMs: 200 }, heartbeatIntervalMs: 300, watchdogMs: 1_500 },
    });
    try {
      cp.publish(await snapshot(1n, ['/a']));
      await cp.waitFor('ack', (a) => a.version === 1n);
      const mark = cp.received.length;
      cp.silent = true;
      const hello = await cp.waitFor('hello', () => true, 10_000, mark);
      expect(hello.configVersion).toBe(1n);
      expect(dp.status().sync.lastError).toMatch(/no message from the control plane/);
      expect((await httpGet(proxyPort, '/a')).status).toBe(200);
    } finally {
      await dp.stop();
      cp.kill();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('workers exit when the primary is killed', async () => {
    const { spawn } = await import('node:child_process');
    const { createInterface } = await import('node:readline');
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-data-'));
    const proxyPort = await freePort();
    const { SnapshotCache } = await import('@gatehouse/data-plane');
    await new SnapshotCache(dataDir, logger).write(await snapshot(1n, ['/a']));
    const script = new URL('./helpers/run-dp.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, JSON.stringify({ trustedKeyFile: trustedFile, dataDir, proxyPort })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`data plane exited early (${code})`)));
      });
      expect(JSON.parse(line)).toHaveProperty('status');
      await waitUntil(
        'the cached config is served',
        async () => (await httpGet(proxyPort, '/a')).status === 200,
      );
      child.kill('SIGKILL');
      await waitUntil('the proxy port is free', async () => {
        const err = await httpGet(proxyPort, '/a').then(
          () => null,
          (e: NodeJS.ErrnoException) => e,
        );
        return err?.code === 'ECONNREFUSED';
      });
    } finally {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
