#!/usr/bin/env node
// A fleet of simulated data planes on one control plane (issue 12: 1,000 DPs per CP).
// Starts `gatehouse cp --dev` (PGlite, or Postgres with --db postgres), connects --dps simulated
// DPs from this process (data-plane/dist/simulator: each its own gRPC connection over the dev
// cluster mTLS, real signature/hash/version checks, real Ack and heartbeats), then makes --changes
// Admin API writes one after the other and measures, for each, the time from the write to every
// DP holding the new snapshot. Prints JSON: connect time, change → all applied p50/p99/max, CP RSS
// and CPU per connected DP (CPU while connecting, and at rest: --idle-s seconds with every DP
// connected and nothing changing, heartbeats only, beside the CP's own idle CPU before any DP
// connected), CP CPU per change, snapshot bytes on the wire per change: with delta
// sync (--deltas on, the default: each change is one route added, so it travels as a delta) the
// config bytes the CP wrote per change (gatehouse_cp_config_bytes_sent_total, full + delta) beside
// what full snapshots to every DP would be; --deltas off plays DPs that do not take deltas.
// --routes N first imports N services with a route each (`gatehouse config import`), so the
// config is that large when the DPs connect and each change is one route among N + 1.
// Build first (node scripts/bootstrap.mjs). Usage:
//   node test/bench/fleet-scale.mjs [--dps 1000] [--changes 20] [--db pglite|postgres] [--regions eu,us] [--deltas on|off]
//     [--idle-s 30] [--routes 0] [--cpu-prof <dir>]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createLogger,
  loadClusterTls,
  loadTrustedKeys,
  devDataPlaneTlsFiles,
} from '../../shared/dist/index.js';
import { SimulatedFleet } from '../../data-plane/dist/simulator/fleet-simulator.js';
import { clusterChannel } from '../../data-plane/dist/sync/cluster-tls.js';
import { loadPluginRegistry } from '../../data-plane/dist/plugins/index.js';
import {
  admin,
  cpuMsOf,
  mib,
  rssOf,
  runGatehouse,
  since,
  sleep,
  startControlPlane,
  tempDir,
} from './lib/processes.mjs';

const CPU_PROF = new URL('./lib/cpu-prof.mjs', import.meta.url).href;

const { values: a } = parseArgs({
  options: {
    dps: { type: 'string', default: '1000' },
    changes: { type: 'string', default: '20' },
    db: { type: 'string', default: 'pglite' },
    regions: { type: 'string', default: 'eu,us' },
    deltas: { type: 'string', default: 'on' },
    'idle-s': { type: 'string', default: '30' },
    routes: { type: 'string', default: '0' },
    // A folder: the CP is CPU-profiled (lib/cpu-prof.mjs) and writes its profile there when it stops.
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(a.dps);
const CHANGES = Number(a.changes);
const IDLE_S = Number(a['idle-s']);
const ROUTES = Number(a.routes);

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x) => Math.round(x * 10) / 10;

async function until(what, fn, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(20);
  }
  throw new Error(`timed out: ${what}`);
}

/** The CP's snapshot size figures from its /metrics. */
async function snapshotBytes(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    compressed: value('gatehouse_cp_snapshot_bytes'),
    uncompressed: value('gatehouse_cp_snapshot_uncompressed_bytes'),
  };
}

/** Config bytes the CP wrote to DPs so far, by kind (full, delta), and the deltas sent. */
async function sentBytes(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const value = (re) => Number(re.exec(text)?.[1] ?? 0);
  return {
    full: value(/^gatehouse_cp_config_bytes_sent_total\{kind="full"\} (\S+)$/m),
    delta: value(/^gatehouse_cp_config_bytes_sent_total\{kind="delta"\} (\S+)$/m),
    deltas: value(/^gatehouse_cp_deltas_sent_total (\S+)$/m),
  };
}

const cp = await startControlPlane({
  db: a.db,
  ...(a['cpu-prof']
    ? { nodeOptions: `--import=${CPU_PROF}`, env: { GATEHOUSE_CPU_PROF_DIR: a['cpu-prof'] } }
    : {}),
});
const fleet = new SimulatedFleet({
  controlPlane: cp.clusterAddress,
  count: N,
  trustedKeys: await loadTrustedKeys([cp.trustedKeys]),
  channel: clusterChannel({ mode: 'pki', material: await loadClusterTls(devDataPlaneTlsFiles(cp.dataDir)) }),
  plugins: (await loadPluginRegistry()).pluginInfos(),
  regions: a.regions.split(',').filter(Boolean),
  logger: createLogger('fleet-sim', { level: 'warn' }),
  deltas: a.deltas !== 'off',
});
/** CP CPU ms per second over the next `seconds`. */
async function cpuRate(seconds) {
  const cpu0 = cpuMsOf(cp.pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return (cpuMsOf(cp.pid) - cpu0) / ((performance.now() - t0) / 1000);
}

try {
  if (ROUTES > 0) {
    const services = [{ name: 'fleet', url: 'http://127.0.0.1:9' }];
    for (let i = 0; i < ROUTES; i++)
      services.push({
        name: `bulk-${i}`,
        url: `http://backend-${i % 50}.internal:8080/v1`,
        routes: [{ name: `bulk-route-${i}`, paths: [`/bulk-${i}`], methods: ['GET', 'POST'] }],
      });
    const file = join(tempDir('fleet-routes'), 'config.json');
    writeFileSync(file, JSON.stringify({ _format_version: '3.0', services }));
    const run = await runGatehouse(['config', 'import', file, '--admin-url', cp.adminUrl]);
    if (run.code !== 0) throw new Error(`import failed: ${run.stderr}`);
    await cp.waitForLog((l) => l.msg === 'snapshot published' && l.services >= ROUTES + 1, 300_000);
  } else {
    await admin(`${cp.adminUrl}/services`, 'POST', { name: 'fleet', url: 'http://127.0.0.1:9' });
  }
  await sleep(500);
  const idle = { rss: rssOf(cp.pid), cpu: cpuMsOf(cp.pid) };
  // The CP's own CPU at rest with no DP (a third of the window: it is the smaller figure).
  const baselineIdle = IDLE_S > 0 ? await cpuRate(Math.max(5, IDLE_S / 3)) : NaN;

  const t0 = performance.now();
  fleet.start();
  await until(
    'every DP connected and holding a snapshot',
    () => fleet.versions().every((v) => v !== null),
    300_000,
  );
  const connectMs = since(t0);
  await sleep(6000); // a heartbeat round on every stream
  const connected = { rss: rssOf(cp.pid), cpu: cpuMsOf(cp.pid) };
  // At rest: every DP connected, nothing changing (heartbeats every 5 s, throttled registry writes).
  const connectedIdle = IDLE_S > 0 ? await cpuRate(IDLE_S) : NaN;
  const stillConnected = fleet.connected();

  const perChange = [];
  const all = [];
  let lastApplied = new Map();
  fleet.on('applied', (x) => lastApplied.set(x.index, x));
  const cpuBefore = cpuMsOf(cp.pid);
  const sentBefore = await sentBytes(cp.adminUrl);
  const changesFrom = Date.now();
  for (let i = 0; i < CHANGES; i++) {
    lastApplied = new Map();
    const before = Math.max(...fleet.versions().map((v) => Number(v)));
    const w0 = performance.now();
    const r = await admin(`${cp.adminUrl}/services/fleet/routes`, 'POST', { paths: [`/c${i}`] });
    if (r.status !== 201) throw new Error(`admin answered ${r.status}`);
    await until(
      `change ${i} on every DP`,
      () => lastApplied.size === N && [...lastApplied.values()].every((x) => Number(x.version) > before),
      60_000,
    );
    const lat = [...lastApplied.values()].map((x) => x.at - w0).sort((p, q) => p - q);
    all.push(...lat);
    perChange.push(lat.at(-1));
    await sleep(200);
  }
  const changeCpu = cpuMsOf(cp.pid) - cpuBefore;
  const sentAfter = await sentBytes(cp.adminUrl);
  const changesUntil = Date.now();
  all.sort((p, q) => p - q);
  perChange.sort((p, q) => p - q);
  const size = await snapshotBytes(cp.adminUrl);
  console.log(
    JSON.stringify(
      {
        dps: N,
        db: a.db,
        routes: ROUTES,
        connect_all_ms: connectMs,
        change_to_dp_ms: { p50: round(pct(all, 50)), p99: round(pct(all, 99)), max: round(all.at(-1)) },
        change_to_all_dps_ms: { p50: round(pct(perChange, 50)), max: round(perChange.at(-1)) },
        cp_rss_mib: { idle: mib(idle.rss), connected: mib(connected.rss) },
        cp_rss_kib_per_dp: Math.round((connected.rss - idle.rss) / 1024 / N),
        cp_cpu_ms_connecting: connected.cpu - idle.cpu,
        cp_idle_cpu: {
          window_s: IDLE_S,
          no_dps_ms_per_s: round(baselineIdle),
          connected_ms_per_s: round(connectedIdle),
          // What the connected DPs add at rest, per DP: µs of CP CPU per second.
          us_per_s_per_dp: round(((connectedIdle - baselineIdle) * 1000) / N),
          dps_connected_at_end: stillConnected,
        },
        cp_cpu_ms_per_change: round(changeCpu / CHANGES),
        snapshot_bytes: size,
        wire_bytes_per_change_full: size.compressed * N,
        deltas: a.deltas,
        // One DP's share of a change: the full snapshot's config bytes, and a delta's (JWS + ops).
        wire_bytes_per_change_per_dp: {
          full: size.compressed,
          delta:
            sentAfter.deltas > sentBefore.deltas
              ? Math.round((sentAfter.delta - sentBefore.delta) / (sentAfter.deltas - sentBefore.deltas))
              : null,
        },
        wire_bytes_per_change_sent: {
          full: Math.round((sentAfter.full - sentBefore.full) / CHANGES),
          delta: Math.round((sentAfter.delta - sentBefore.delta) / CHANGES),
          deltas_sent_per_change: round((sentAfter.deltas - sentBefore.deltas) / CHANGES),
        },
        // Epoch ms of the changes: the window of the CPU profile to read (--cpu-prof).
        changes_window_epoch_ms: [changesFrom, changesUntil],
      },
      null,
      2,
    ),
  );
} finally {
  await fleet.stop();
  await cp.stop();
}
