/**
 * Cold start from JetStream, with real processes: a CP on Postgres with a nats-server of our own
 * (JetStream on) stores each snapshot in the `gatehouse_snapshots` bucket; the CP is stopped; a
 * DP whose disk cache was deleted starts with --nats-url and serves the config from the bucket.
 * A tampered object in the bucket is refused by a fresh DP (logged, counted, in /status); once
 * the CP is back, its stream wins and that DP serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  decodeSnapshotManifest,
  encodeSnapshotManifest,
  SNAPSHOT_BUCKET,
  snapshotChunkKey,
  snapshotHeadKey,
} from '@gatehouse/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../test/helpers/db.js';
import {
  adminJson,
  freePort,
  httpStatus,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';
import { portAnswers } from '../test/helpers/ports.js';

interface DpStatus {
  ready: boolean;
  config: { version: string; hash: string; source: string } | null;
  jetstream_boot: { state: string; attempts: number; last_error: { code: string } | null } | null;
}

const dpStatus = async (dp: DpHandle) => (await (await fetch(`${dp.status}/status`)).json()) as DpStatus;

describe('cold start from JetStream while the control plane is down', () => {
  let nats: ChildProcess;
  let natsUrl: string;
  let nc: NatsConnection;
  let kv: KV;
  let db: { url: string; drop(): Promise<void> };
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cpDir: string;
  let cp: CpHandle;
  let cpPorts: { adminPort: number; clusterPort: number };
  const dps: DpHandle[] = [];
  let env: NodeJS.ProcessEnv;

  const dpArgs = () => ['--nats-url', natsUrl, '--traffic-summary-interval', '0'];
  const startOurCp = () =>
    startCp({ dataDir: cpDir, env, ...cpPorts, args: ['--cp-id', 'cp-cold'] }).then((h) => (cp = h));

  beforeAll(async () => {
    const natsPort = await freePort();
    nats = spawn(
      process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server',
      ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', tempDir('cold-start-nats')],
      { stdio: 'ignore' },
    );
    await waitUntil('nats-server answers', () => portAnswers(natsPort));
    natsUrl = `nats://127.0.0.1:${natsPort}`;
    nc = await connect({ servers: natsUrl });
    db = await createPostgresDatabase();
    upstream = await startUpstream();
    env = { DATABASE_URL: db.url, NATS_URL: natsUrl };
    cpDir = tempDir('cold-start-cp');
    cpPorts = { adminPort: await freePort(), clusterPort: await freePort() };
    await startOurCp();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...dps, cp].map((p) => p?.proc.stop()));
    await nc?.close();
    nats?.kill('SIGKILL');
    await db?.drop();
    upstream?.server.closeAllConnections();
    upstream?.server.close();
  });

  it('CP stopped, DP cache deleted: the DP serves the config from JetStream', async () => {
    expect((await adminJson(cp.admin, 'POST', '/services', { name: 'cold', url: upstream.url })).status).toBe(
      201,
    );
    expect(
      (await adminJson(cp.admin, 'POST', '/services/cold/routes', { name: 'cold', paths: ['/cold'] })).status,
    ).toBe(201);
    // A DP of the fleet, synced from the CP (it writes its disk cache).
    const dpDir = tempDir('cold-start-dp');
    const start = (waitReady = true) =>
      startDp({
        cluster: `127.0.0.1:${cpPorts.clusterPort}`,
        publicKeys: cp.publicKeys,
        dataDir: dpDir,
        workers: 1,
        args: dpArgs(),
        waitReady,
      });
    let dp = await start();
    await waitUntil('the DP serves /cold', async () => (await httpStatus(`${dp.proxy}/cold`)) === 200);
    const version = (await dpStatus(dp)).config!.version;
    await waitUntil('the CP stored that snapshot in JetStream', async () => {
      kv ??= await new Kvm(nc).open(SNAPSHOT_BUCKET);
      const head = await kv.get(snapshotHeadKey('default'));
      return head !== null && String(decodeSnapshotManifest(head.value).version) === version;
    });
    await dp.proc.stop();

    await cp.proc.stop();
    rmSync(join(dpDir, 'snapshot.pb'));
    dp = await start();
    dps.push(dp);
    const s = await dpStatus(dp);
    expect(s.config).toMatchObject({ version, source: 'jetstream' });
    expect(await httpStatus(`${dp.proxy}/cold`)).toBe(200);
    expect(dp.proc.output).toMatch(/cold start: serving the snapshot stored in JetStream/);
  });

  it('a tampered object is refused by a fresh DP, which keeps trying; the CP stream, once back, wins', async () => {
    // Flip one character of the JWS signature inside the stored Snapshot message, then rewrite
    // the chunks and a manifest that matches them (an attacker with write access can).
    const head = decodeSnapshotManifest((await kv.get(snapshotHeadKey('default')))!.value);
    const parts: Buffer[] = [];
    for (let n = 0; n < head.chunks; n++)
      parts.push(Buffer.from((await kv.get(snapshotChunkKey('default', head.id, n)))!.value));
    const blob = Buffer.concat(parts);
    const jws = blob.indexOf('eyJ');
    const sig = blob.indexOf('.', blob.indexOf('.', jws) + 1) + 10;
    blob[sig] = blob[sig] === 0x41 ? 0x42 : 0x41;
    await kv.put(snapshotChunkKey('default', 'tampered0', 0), blob);
    await kv.put(
      snapshotHeadKey('default'),
      encodeSnapshotManifest({
        ...head,
        id: 'tampered0',
        chunks: 1,
        size: blob.length,
        sha256: createHash('sha256').update(blob).digest('hex'),
      }),
    );

    const dp = await startDp({
      cluster: `127.0.0.1:${cpPorts.clusterPort}`,
      publicKeys: cp.publicKeys,
      dataDir: tempDir('cold-start-fresh'),
      workers: 1,
      args: dpArgs(),
      waitReady: false,
    });
    dps.push(dp);
    await waitUntil(
      'the DP refused the tampered object',
      async () => (await dpStatus(dp)).jetstream_boot?.last_error?.code === 'GH_ERR_SNAPSHOT_BAD_SIGNATURE',
      60_000,
    );
    expect((await dpStatus(dp)).ready).toBe(false);
    expect(await httpStatus(`${dp.proxy}/cold`)).toBe(503);
    const metrics = await (await fetch(`${dp.status}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_dp_jetstream_boot_total\{result="refused"\} [1-9]/);
    expect(dp.proc.output).toMatch(/the snapshot stored in JetStream was refused/);

    await startOurCp();
    await waitUntil('the DP serves the config from the CP', async () => (await dpStatus(dp)).ready, 60_000);
    expect((await dpStatus(dp)).config?.source).toBe('control_plane');
    expect(await httpStatus(`${dp.proxy}/cold`)).toBe(200);
    await waitUntil(
      'the cold start stopped trying',
      async () => (await dpStatus(dp)).jetstream_boot?.state !== 'waiting',
    );
  });
});
