/**
 * Data-plane failover between control-plane replicas: a real data plane (in-process primary + a
 * worker process) given three addresses — a dead one, a DNS name (localhost, verified by that
 * name over mutual TLS) and an IP — against real grpc-js servers. It skips the dead address,
 * syncs from the second, and when that one dies like kill -9 under a request loop it moves to
 * the third, keeps serving (0 failed requests) and takes the next config from there.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataPlane, type DataPlane, type DataPlaneStatus } from '@gatehouse/data-plane';
import {
  createLogger,
  loadSigningKey,
  signSnapshot,
  writeSigningKeyPair,
  type SigningKey,
} from '@gatehouse/shared';
import { testClusterCerts } from '../helpers/cluster-certs.js';
import { FakeControlPlane } from './helpers/fake-cp.js';
import { configFor, freePort, httpGet, startUpstream, waitUntil } from './helpers/fixtures.js';

const { dpFiles } = await testClusterCerts();
const logger = createLogger('dp-failover-test', { level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent' });

describe('data-plane failover between control planes', () => {
  let dir: string;
  let key: SigningKey;
  let trustedFile: string;
  let upstream: { server: Server; port: number };
  let cpA: FakeControlPlane;
  let cpB: FakeControlPlane;
  let dp: DataPlane | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-dp-failover-'));
    const pair = await writeSigningKeyPair(join(dir, 'keys'));
    key = await loadSigningKey(pair.privateKeyFile);
    trustedFile = pair.publicKeysFile;
    upstream = await startUpstream('echo');
    cpA = new FakeControlPlane();
    cpB = new FakeControlPlane();
    await Promise.all([cpA.start(), cpB.start()]);
  });

  afterAll(async () => {
    await dp?.stop();
    cpA?.kill();
    cpB?.kill();
    await new Promise((r) => upstream?.server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('skips a dead address, fails over when its CP dies, never stops serving', async () => {
    const v1 = await signSnapshot({
      config: configFor(upstream.port, ['/a']),
      version: 1n,
      cpId: 'fleet',
      key,
    });
    cpA.latest = v1;
    cpB.latest = v1;
    const dead = await freePort();
    const proxyPort = await freePort();
    const list = `127.0.0.1:${dead},localhost:${cpA.port},127.0.0.1:${cpB.port}`;
    dp = await startDataPlane({
      controlPlane: list,
      trustedKeyFiles: [trustedFile],
      clusterTls: dpFiles,
      dataDir: join(dir, 'dp'),
      workers: 1,
      proxyListen: { host: '127.0.0.1', port: proxyPort },
      statusListen: { host: '127.0.0.1', port: 0 },
      logger,
      sync: { backoff: { baseMs: 50, maxMs: 400 }, heartbeatIntervalMs: 300, watchdogMs: 3_000 },
      drainTimeoutMs: 2_000,
    });
    const status = async () =>
      (await (await fetch(`http://127.0.0.1:${dp!.statusAddress.port}/status`)).json()) as DataPlaneStatus;

    // The dead first address is skipped; localhost (verified as "localhost") serves v1.
    await cpA.waitFor('ack', (a) => a.version === 1n);
    expect(cpB.received).toHaveLength(0);
    const onA = await status();
    expect(onA.sync).toMatchObject({
      state: 'connected',
      controlPlanes: [`127.0.0.1:${dead}`, `localhost:${cpA.port}`, `127.0.0.1:${cpB.port}`],
    });
    expect(onA.sync.controlPlane).toMatch(new RegExp(`:${cpA.port}$`));
    await waitUntil('the DP serves v1', async () => (await httpGet(proxyPort, '/a')).status === 200);

    // A request loop while A dies like kill -9.
    let running = true;
    const counts = { ok: 0, failed: [] as string[] };
    const loop = (async () => {
      while (running) {
        try {
          const r = await httpGet(proxyPort, '/a');
          if (r.status === 200) counts.ok++;
          else counts.failed.push(`status ${r.status}`);
        } catch (e) {
          counts.failed.push((e as Error).message);
        }
      }
    })();
    await waitUntil('requests flow', async () => counts.ok > 5);
    cpA.kill();
    const hello = await cpB.waitFor('hello');
    expect(hello.configHash).toBe(v1.hash); // it says what it serves: nothing to resend
    await waitUntil('the DP is connected to B', async () => {
      const s = await status();
      return s.sync.state === 'connected' && s.sync.controlPlane === `127.0.0.1:${cpB.port}`;
    });
    const v2 = await signSnapshot({
      config: configFor(upstream.port, ['/a', '/b']),
      version: 2n,
      cpId: 'fleet',
      key,
    });
    cpB.publish(v2);
    await cpB.waitFor('ack', (a) => a.version === 2n);
    const okBefore = counts.ok;
    await waitUntil('more requests after the failover', async () => counts.ok > okBefore + 5);
    running = false;
    await loop;
    expect(counts.failed).toEqual([]);
    expect((await httpGet(proxyPort, '/b')).status).toBe(200);
    expect((await status()).sync.reconnects).toBeGreaterThanOrEqual(2);
  });
});
