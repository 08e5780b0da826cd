/**
 * A local fleet with one command (issue 12): `gatehouse dev --control-planes 3 --data-planes
 * eu=2,us=1` over a Postgres database and a nats-server of this test's own. Writes spread over
 * the three replicas reach every DP with one config hash; kill -9 of the replica a DP syncs from,
 * under a request loop on that DP, makes it fail over to another replica with no failed request
 * (the failover time, kill → synced on another replica, is printed, not asserted). And the
 * refusal: more than one CP without DATABASE_URL / NATS_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../test/helpers/db.js';
import {
  adminJson,
  freePort,
  runGatehouse,
  startUpstream,
  tempDir,
  waitUntil,
  type Proc,
} from './helpers/processes.js';
import { portAnswers } from '../test/helpers/ports.js';

interface FleetFile {
  control_planes: { id: string; admin: string; cluster: string; pid: number }[];
  data_planes: { id: string; region: string; proxy: string; status: string; pid: number }[];
}
interface DpStatus {
  config: { hash: string; version: string } | null;
  sync: { state: string; controlPlane: string | null; controlPlanes: string[] };
}

const dpStatus = async (dp: { status: string }) =>
  (await (
    await fetch(`http://${dp.status}/status`, { signal: AbortSignal.timeout(5_000) })
  ).json()) as DpStatus;
const cpHash = async (cp: { admin: string }) =>
  (await adminJson(`http://${cp.admin}`, 'GET', '/clustering/status')).json.control_plane.config_hash as
    string | null;

describe('gatehouse dev: a local fleet', () => {
  let nats: ChildProcess | null = null;
  let db: { url: string; drop(): Promise<void> };
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let dev: Proc;
  let dataDir: string;
  let fleet: FleetFile;

  beforeAll(async () => {
    const natsPort = await freePort();
    nats = spawn(
      process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server',
      ['-a', '127.0.0.1', '-p', String(natsPort)],
      {
        stdio: 'ignore',
      },
    );
    await waitUntil('nats-server answers', () => portAnswers(natsPort));
    db = await createPostgresDatabase();
    upstream = await startUpstream();
    dataDir = tempDir('dev-fleet');
    dev = runGatehouse(
      'dev',
      [
        'dev',
        '--control-planes',
        '3',
        '--data-planes',
        'eu=2,us=1',
        '--data-dir',
        dataDir,
        ...['--admin-port', '0', '--cluster-port', '0', '--proxy-port', '0', '--status-port', '0'],
      ],
      { DATABASE_URL: db.url, NATS_URL: `nats://127.0.0.1:${natsPort}` },
    );
    const file = join(dataDir, 'fleet.json');
    await waitUntil(
      'the fleet is up (fleet.json written)',
      async () => {
        if (!dev.alive) throw new Error(`gatehouse dev exited:\n${dev.output}`);
        return existsSync(file);
      },
      150_000,
    );
    fleet = JSON.parse(readFileSync(file, 'utf8')) as FleetFile;
  }, 180_000);

  afterAll(async () => {
    await dev?.stop();
    nats?.kill('SIGKILL');
    await db?.drop();
    await upstream?.close();
  });

  it('prints a table and writes fleet.json: 3 CPs, DPs with their regions, host:port addresses', () => {
    expect(fleet.control_planes.map((c) => c.id)).toEqual(['cp-1', 'cp-2', 'cp-3']);
    expect(fleet.data_planes.map((d) => [d.id, d.region])).toEqual([
      ['dp-eu-1', 'eu'],
      ['dp-eu-2', 'eu'],
      ['dp-us-1', 'us'],
    ]);
    for (const c of fleet.control_planes) {
      expect(Object.keys(c).sort()).toEqual(['admin', 'cluster', 'id', 'pid']);
      expect(c.admin).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(c.cluster).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(dev.output).toMatch(new RegExp(`${c.id}\\s+-\\s+${c.pid}\\s+${c.admin}\\s+${c.cluster}`));
    }
    for (const d of fleet.data_planes) {
      expect(Object.keys(d).sort()).toEqual(['id', 'pid', 'proxy', 'region', 'status']);
      expect(dev.output).toMatch(
        new RegExp(`${d.id}\\s+${d.region}\\s+${d.pid}\\s+-\\s+-\\s+${d.proxy}\\s+${d.status}`),
      );
    }
  });

  it('spreads the DPs over the replicas; writes on every replica reach every DP with one hash', async () => {
    const [cp1, cp2, cp3] = fleet.control_planes as [
      FleetFile['control_planes'][0],
      FleetFile['control_planes'][0],
      FleetFile['control_planes'][0],
    ];
    const statuses = await Promise.all(fleet.data_planes.map(dpStatus));
    expect(statuses.map((s) => s.sync.controlPlane)).toEqual([cp1.cluster, cp2.cluster, cp3.cluster]);
    // Each DP is given every replica, its own first.
    expect(statuses[1]!.sync.controlPlanes).toEqual([cp2.cluster, cp3.cluster, cp1.cluster]);

    expect(
      (await adminJson(`http://${cp1.admin}`, 'POST', '/services', { name: 'up', url: upstream.url })).status,
    ).toBe(201);
    expect(
      (await adminJson(`http://${cp2.admin}`, 'POST', '/services/up/routes', { name: 'r2', paths: ['/r2'] }))
        .status,
    ).toBe(201);
    expect(
      (await adminJson(`http://${cp3.admin}`, 'POST', '/services/up/routes', { name: 'r3', paths: ['/r3'] }))
        .status,
    ).toBe(201);
    await waitUntil(
      'every CP and every DP hold one config with both routes',
      async () => {
        const hashes = await Promise.all(fleet.control_planes.map(cpHash));
        const dps = await Promise.all(fleet.data_planes.map(dpStatus));
        const served = await Promise.all(
          fleet.data_planes.flatMap((d) =>
            ['/r2', '/r3'].map((p) => fetch(`http://${d.proxy}${p}`).then((r) => r.status)),
          ),
        );
        return (
          hashes[0] !== null &&
          hashes.every((h) => h === hashes[0]) &&
          dps.every((s) => s.config?.hash === hashes[0]) &&
          served.every((s) => s === 200)
        );
      },
      60_000,
    );
    const rows = (await adminJson(`http://${cp2.admin}`, 'GET', '/clustering/data-planes')).json.data as {
      id: string;
      cp_id: string;
    }[];
    expect(Object.fromEntries(rows.map((r) => [r.id, r.cp_id]))).toEqual({
      'dp-eu-1': 'cp-1',
      'dp-eu-2': 'cp-2',
      'dp-us-1': 'cp-3',
    });
  });

  it('kill -9 of the replica a DP is on, under a request loop: it fails over, 0 failed requests', async () => {
    const dp = fleet.data_planes[0]!;
    const [cp1, cp2] = fleet.control_planes as [
      FleetFile['control_planes'][0],
      FleetFile['control_planes'][0],
    ];
    expect((await dpStatus(dp)).sync.controlPlane).toBe(cp1.cluster);
    const before = (await dpStatus(dp)).config!.hash;

    const agent = new Agent({ connections: 4, keepAliveTimeout: 10_000 });
    let running = true;
    const counts = { ok: 0, failed: [] as string[] };
    const worker = async () => {
      while (running) {
        try {
          const r = await request(`http://${dp.proxy}/r2`, { dispatcher: agent });
          await r.body.text();
          if (r.statusCode === 200) counts.ok++;
          else counts.failed.push(`status ${r.statusCode}`);
        } catch (e) {
          counts.failed.push((e as Error).message);
        }
      }
    };
    const loop = Promise.all([worker(), worker()]);
    await waitUntil('requests flow', async () => counts.ok > 20);

    const killedAt = performance.now();
    process.kill(cp1.pid, 'SIGKILL');
    let failoverMs = 0;
    await waitUntil(
      'the DP is synced on another replica',
      async () => {
        const s = await dpStatus(dp);
        const moved = s.sync.state === 'connected' && s.sync.controlPlane !== cp1.cluster;
        if (moved && s.config?.hash === before) failoverMs = performance.now() - killedAt;
        return failoverMs > 0;
      },
      30_000,
    );
    const on = (await dpStatus(dp)).sync.controlPlane;
    expect(on).toBe(cp2.cluster); // the next in its list
    // Reported, not asserted (the box is shared): the time from kill -9 to synced on another replica.
    console.log(
      `[dev-fleet] failover of ${dp.id}: kill -9 of cp-1 -> synced on ${on} in ${failoverMs.toFixed(0)} ms`,
    );

    // A write after the failover reaches the DP from its new replica.
    expect(
      (
        await adminJson(`http://${cp2.admin}`, 'POST', '/services/up/routes', {
          name: 'after',
          paths: ['/after'],
        })
      ).status,
    ).toBe(201);
    await waitUntil('the DP serves the route written after the failover', async () => {
      const r = await fetch(`http://${dp.proxy}/after`);
      await r.arrayBuffer();
      return r.status === 200;
    });
    const okBefore = counts.ok;
    await waitUntil('more requests after the failover', async () => counts.ok > okBefore + 20);
    running = false;
    await loop;
    await agent.close();
    expect(counts.failed).toEqual([]);
    // The supervisor brings cp-1 back; fleet.json carries its new pid.
    await waitUntil('cp-1 is back with a new pid in fleet.json', async () => {
      const now = JSON.parse(readFileSync(join(dataDir, 'fleet.json'), 'utf8')) as FleetFile;
      return now.control_planes[0]!.pid !== cp1.pid && (await cpHash(now.control_planes[0]!)) !== null;
    });
  });

  it('Ctrl-C stops every process and removes fleet.json', async () => {
    const now = JSON.parse(readFileSync(join(dataDir, 'fleet.json'), 'utf8')) as FleetFile;
    const pids = [...now.control_planes, ...now.data_planes].map((p) => p.pid);
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(join(dataDir, 'fleet.json'))).toBe(false);
  });
});

describe('gatehouse dev: fleet refusals', () => {
  it('refuses more than one CP without DATABASE_URL and NATS_URL, naming both', async () => {
    const dev = runGatehouse(
      'dev',
      ['dev', '--control-planes', '2', '--data-dir', tempDir('dev-fleet-refuse')],
      {
        DATABASE_URL: '',
        GATEHOUSE_DATABASE_URL: '',
        NATS_URL: '',
        GATEHOUSE_NATS_URL: '',
      },
    );
    expect(await dev.exited).toBe(2);
    expect(dev.output).toContain('--control-planes 2 needs DATABASE_URL and NATS_URL');
  });

  it('a single CP on PGlite is not given NATS_URL (it would refuse it at every restart); its DP is', async () => {
    const dir = tempDir('dev-fleet-pglite');
    const dev = runGatehouse(
      'dev',
      [
        'dev',
        '--data-planes',
        'eu=1',
        '--data-dir',
        dir,
        ...['--admin-port', '0', '--cluster-port', '0', '--proxy-port', '0', '--status-port', '0'],
      ],
      {
        DATABASE_URL: '',
        GATEHOUSE_DATABASE_URL: '',
        NATS_URL: 'nats://127.0.0.1:1',
        GATEHOUSE_WORKERS: '1',
      },
    );
    try {
      await waitUntil(
        'the one-CP fleet is up',
        async () => {
          if (!dev.alive) throw new Error(`gatehouse dev exited:\n${dev.output}`);
          return existsSync(join(dir, 'fleet.json'));
        },
        150_000,
      );
      expect(dev.output).toContain('[dev] NATS_URL is not passed to the control plane');
      expect(dev.output).not.toContain('GH_ERR_CONFIG_REPLICAS_NEED_POSTGRES');
    } finally {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  });

  it('refuses a bad --data-planes list, naming the entry', async () => {
    const dev = runGatehouse('dev', [
      'dev',
      '--data-planes',
      'eu=2,eu=1',
      '--data-dir',
      tempDir('dev-fleet-refuse'),
    ]);
    expect(await dev.exited).toBe(2);
    expect(dev.output).toContain('invalid setting --data-planes: region "eu" is given twice');
  });
});
