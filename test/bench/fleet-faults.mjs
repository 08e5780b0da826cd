// Fleet fault figures (issue 12, "measure and report"): a real local fleet, `gatehouse dev
// --control-planes 2 --data-planes eu=2` (dp-eu-1 on cp-1, dp-eu-2 on cp-2) over a fresh Postgres
// database and a nats-server of this script's own, and three figures:
//   1. propagation: an Admin API write on cp-1 → both DPs hold the new hash (NATS up);
//   2. NATS outage: nats-server killed; a write on cp-1 → both DPs hold it (cp-2 learns of it by
//      reading config_version in Postgres every 5 s), then nats-server restarted → the same write
//      figure again once the replicas are back on NATS;
//   3. failover: kill -9 of cp-1 under a request loop on dp-eu-1 → dp-eu-1 in sync on cp-2, the
//      requests that failed, and a write on cp-2 → dp-eu-1 serves it.
// Prints JSON. Times are wall-clock from this process polling each DP's /status every 25 ms.
// Build first (node scripts/bootstrap.mjs). Needs Postgres on 127.0.0.1:5432 (user postgres) and
// /usr/sbin/nats-server (NATS_SERVER_BIN). Usage:
//   node test/bench/fleet-faults.mjs [--writes 5]
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createConnection, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({ options: { writes: { type: 'string', default: '5' } } });
const writes = Number(args.writes);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

function portAnswers(port) {
  return new Promise((res) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

async function until(what, check, timeoutMs = 60_000, everyMs = 25) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(everyMs);
  }
}

const json = async (url, init = {}) => {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
};
const dpStatus = async (dp) => (await json(`http://${dp.status}/status`)).body;
const post = (cp, path, body) =>
  json(`http://${cp.admin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.floor((s.length - 1) / 2)]) : null;
};

// --- the parts ------------------------------------------------------------------------------
const natsPort = await freePort();
const natsBin = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
let nats = null;
const startNats = async () => {
  nats = spawn(natsBin, ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: 'ignore' });
  await until('nats-server answers', () => portAnswers(natsPort));
};
const dbName = `gh_bench_faults_${process.pid}`;
const psql = (sql) =>
  execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-qc', sql], { stdio: 'ignore' });
psql(`CREATE DATABASE ${dbName}`);
const upstream = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
await new Promise((r) => upstream.once('listening', r));
const dataDir = mkdtempSync(join(tmpdir(), 'gh-fleet-faults-'));
await startNats();

const dev = spawn(
  join(root, 'gatehouse'),
  [
    'dev',
    '--control-planes',
    '2',
    '--data-planes',
    'eu=2',
    '--data-dir',
    dataDir,
    ...['--admin-port', '0', '--cluster-port', '0', '--proxy-port', '0', '--status-port', '0'],
  ],
  {
    cwd: root,
    env: {
      ...process.env,
      GATEHOUSE_LOG_LEVEL: 'warn',
      DATABASE_URL: `postgresql://postgres@127.0.0.1:5432/${dbName}`,
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const cleanup = () => {
  try {
    dev.kill('SIGINT');
  } catch {
    /* gone */
  }
  nats?.kill('SIGKILL');
  upstream.close();
};
process.on('exit', cleanup);

try {
  const fleetFile = join(dataDir, 'fleet.json');
  await until('the fleet is up', async () => existsSync(fleetFile), 180_000, 250);
  const fleet = JSON.parse(readFileSync(fleetFile, 'utf8'));
  const [cp1, cp2] = fleet.control_planes;
  const [dp1, dp2] = fleet.data_planes;
  const dps = [dp1, dp2];
  const up = `http://127.0.0.1:${upstream.address().port}`;
  if ((await post(cp1, '/services', { name: 'up', url: up })).status !== 201) throw new Error('service');

  /** Hashes of every DP, once they all hold one config; null while they differ. */
  const agreed = async () => {
    const hashes = await Promise.all(dps.map(async (dp) => (await dpStatus(dp)).config?.hash ?? null));
    return hashes.every((h) => h && h === hashes[0]) ? hashes[0] : null;
  };
  await until('both DPs in sync', async () => (await agreed()) !== null);

  let n = 0;
  /** ms from a write on `cp` to every DP holding a hash it did not hold before. */
  const writeToAll = async (cp) => {
    const before = await agreed();
    const t0 = performance.now();
    const r = await post(cp, '/services/up/routes', { name: `r${++n}`, paths: [`/r${n}`] });
    if (r.status !== 201) throw new Error(`write ${r.status} ${JSON.stringify(r.body)}`);
    await until('every DP has the write', async () => {
      const h = await agreed();
      return h !== null && h !== before;
    });
    return performance.now() - t0;
  };

  const result = { fleet: '2 CPs (Postgres + NATS), 2 DPs (one per CP)', writes };
  const natsUp = [];
  for (let i = 0; i < writes; i++) natsUp.push(await writeToAll(cp1));
  result.write_to_all_dps_ms_nats_up = { median: median(natsUp), max: Math.round(Math.max(...natsUp)) };

  nats.kill('SIGKILL');
  await sleep(2_000);
  const natsDown = [];
  for (let i = 0; i < writes; i++) natsDown.push(await writeToAll(cp1));
  result.write_to_all_dps_ms_nats_down = { median: median(natsDown), max: Math.round(Math.max(...natsDown)) };

  await startNats();
  const restartedAt = performance.now();
  // The first write after the restart that reaches the other replica's DP at NATS speed (under
  // 1 s, where the Postgres poll takes up to 5 s) marks the replicas back on NATS.
  const afterRestart = [];
  let backOnNatsMs = null;
  for (let i = 0; i < writes * 4 && afterRestart.filter((ms) => ms < 1_000).length < writes; i++) {
    const ms = await writeToAll(cp1);
    afterRestart.push(ms);
    if (ms < 1_000 && backOnNatsMs === null) backOnNatsMs = Math.round(performance.now() - restartedAt);
  }
  result.nats_restart_to_nats_speed_ms = backOnNatsMs;
  result.write_to_all_dps_ms_after_restart = {
    median: median(afterRestart.filter((ms) => ms < 1_000)),
    writes: afterRestart.map(Math.round),
  };

  // Failover under a request loop on dp-eu-1.
  const s1 = await dpStatus(dp1);
  if (s1.sync.controlPlane !== cp1.cluster) throw new Error(`dp-eu-1 is on ${s1.sync.controlPlane}`);
  let running = true;
  const counts = { ok: 0, failed: 0 };
  const loop = (async () => {
    while (running) {
      try {
        const r = await fetch(`http://${dp1.proxy}/r1`, { signal: AbortSignal.timeout(5_000) });
        await r.arrayBuffer();
        if (r.status === 200) counts.ok++;
        else counts.failed++;
      } catch {
        counts.failed++;
      }
    }
  })();
  await until('requests flow', async () => counts.ok > 50);
  const hash = s1.config.hash;
  const killedAt = performance.now();
  process.kill(cp1.pid, 'SIGKILL');
  let failoverMs = null;
  await until('dp-eu-1 in sync on cp-2', async () => {
    const s = await dpStatus(dp1);
    if (s.sync.state === 'connected' && s.sync.controlPlane === cp2.cluster && s.config?.hash === hash)
      failoverMs = performance.now() - killedAt;
    return failoverMs !== null;
  });
  const t0 = performance.now();
  if ((await post(cp2, '/services/up/routes', { name: 'after', paths: ['/after'] })).status !== 201)
    throw new Error('write after failover');
  await until('dp-eu-1 serves the write made on cp-2', async () => {
    const r = await fetch(`http://${dp1.proxy}/after`);
    await r.arrayBuffer();
    return r.status === 200;
  });
  const afterFailoverMs = performance.now() - t0;
  running = false;
  await loop;
  result.failover = {
    kill_to_synced_on_next_cp_ms: Math.round(failoverMs),
    write_on_new_cp_to_served_ms: Math.round(afterFailoverMs),
    requests_ok: counts.ok,
    requests_failed: counts.failed,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  dev.kill('SIGINT');
  await new Promise((r) => (dev.exitCode === null ? dev.once('exit', r) : r()));
  nats?.kill('SIGKILL');
  upstream.close();
  psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  rmSync(dataDir, { recursive: true, force: true });
}
