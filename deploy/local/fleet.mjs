// `gatehouse dev --control-planes N --data-planes eu=2,us=1`: a fleet on this machine. CP
// replicas over one Postgres (DATABASE_URL) and NATS (NATS_URL) sharing the first one's dev
// signing keys and cluster certificates; data planes with --region, spread over the CPs (each
// given every CP, its own first, so it fails over to the others); a table of every process and
// its ports, also in <data-dir>/fleet.json (rewritten when a restarted process gets a new pid,
// removed at shutdown). Supervised as the single-CP dev is.
import { cpSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DEV_CLUSTER_CERT_DIR } from '../../shared/dist/index.js';
import { controlPlaneCommand, controlPlaneEnv, databaseUrl, dataPlaneCommand, natsUrl } from './children.mjs';
import { say, Supervisor } from './supervisor.mjs';

/** Ports of the i-th process of a kind are base + PORT_STRIDE * i (0: a free port each). */
export const PORT_STRIDE = 10;
export const FLEET_FILE = 'fleet.json';

/** Why this fleet cannot start with the environment given, or null. */
export function fleetEnvironmentProblem(cpCount) {
  if (cpCount < 2) return null;
  const missing = [databaseUrl() ? null : 'DATABASE_URL', natsUrl() ? null : 'NATS_URL'].filter(Boolean);
  if (!missing.length) return null;
  return (
    `--control-planes ${cpCount} needs ${missing.join(' and ')}: replicas share one Postgres database ` +
    `(DATABASE_URL=postgresql://...) and tell each other of every write over NATS (NATS_URL=nats://...); ` +
    `the embedded PGlite serves one control plane only`
  );
}

/**
 * Free ports handed out by the OS. Each listener stays open until `release()`: a port closed
 * at once may be handed out again by the next listen(0), and two processes of the fleet would
 * then be given the same port (seen in CI: a DP's status port equal to a CP's admin port).
 */
export function freePortPool() {
  const held = [];
  return {
    async take() {
      const s = createServer();
      await new Promise((r, j) => s.once('error', j).listen(0, '127.0.0.1', r));
      held.push(s);
      return s.address().port;
    },
    async release() {
      await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** Every process of the fleet with its id, folder and ports; a problem if two ports collide. */
export async function planFleet({ dataDir, cpCount, regions, ports }) {
  const pool = freePortPool();
  try {
    return await planWith(pool, { dataDir, cpCount, regions, ports });
  } finally {
    await pool.release();
  }
}

async function planWith(pool, { dataDir, cpCount, regions, ports }) {
  const portOf = async (base, i) => (base === 0 ? pool.take() : base + PORT_STRIDE * i);
  const cps = [];
  for (let i = 0; i < cpCount; i++) {
    cps.push({
      id: `cp-${i + 1}`,
      dir: join(dataDir, `cp-${i + 1}`),
      adminPort: await portOf(ports.admin, i),
      clusterPort: await portOf(ports.cluster, i),
    });
  }
  const dps = [];
  for (const { region, count } of regions) {
    for (let n = 1; n <= count; n++) {
      const j = dps.length;
      const home = j % cpCount; // spread over the CPs
      dps.push({
        id: `dp-${region}-${n}`,
        region,
        dir: join(dataDir, `dp-${region}-${n}`),
        home: cps[home].id,
        // Its own CP first, then the others in order: where it fails over to.
        controlPlanes: [...cps.slice(home), ...cps.slice(0, home)].map((c) => `127.0.0.1:${c.clusterPort}`),
        ports: { proxy: await portOf(ports.proxy, j), status: await portOf(ports.status, j) },
      });
    }
  }
  const used = new Map();
  const all = [
    ...cps.flatMap((c) => [
      [c.adminPort, `${c.id} admin`],
      [c.clusterPort, `${c.id} cluster`],
    ]),
    ...dps.flatMap((d) => [
      [d.ports.proxy, `${d.id} proxy`],
      [d.ports.status, `${d.id} status`],
    ]),
  ];
  for (const [port, what] of all) {
    if (port > 65535)
      return { problem: `${what} would be port ${port}: give lower base ports (or 0 for free ports)` };
    if (used.has(port))
      return {
        problem: `${what} and ${used.get(port)} would both be port ${port} (ports go up by ${PORT_STRIDE} per process): give other base ports, or 0 for free ports`,
      };
    used.set(port, what);
  }
  return { value: { cps, dps } };
}

export async function runFleet({ dataDir, plan, workers }) {
  const { cps, dps } = plan;
  const fleetFile = join(dataDir, FLEET_FILE);
  const children = new Map();
  const fleetJson = () => ({
    control_planes: cps.map((c) => ({
      id: c.id,
      admin: `127.0.0.1:${c.adminPort}`,
      cluster: `127.0.0.1:${c.clusterPort}`,
      pid: children.get(c.id)?.pid ?? null,
    })),
    data_planes: dps.map((d) => ({
      id: d.id,
      region: d.region,
      proxy: `127.0.0.1:${d.ports.proxy}`,
      status: `127.0.0.1:${d.ports.status}`,
      pid: children.get(d.id)?.pid ?? null,
    })),
  });
  let started = false;
  const writeFleetFile = () => {
    const tmp = `${fleetFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(fleetJson(), null, 2)}\n`);
    renameSync(tmp, fleetFile);
  };
  const supervisor = new Supervisor({
    onReady: () => {
      if (started) writeFleetFile(); // a restarted process: its new pid
    },
    onStop: () => rmSync(fleetFile, { force: true }),
  });
  rmSync(fleetFile, { force: true });
  const cpEnv = controlPlaneEnv();
  const [first] = cps;
  for (const c of cps) {
    children.set(
      c.id,
      supervisor.add(c.id, `control plane ${c.id}`, () =>
        controlPlaneCommand({
          dir: c.dir,
          adminPort: c.adminPort,
          clusterPort: c.clusterPort,
          cpId: c.id,
          env: cpEnv,
        }),
      ),
    );
  }
  for (const d of dps) {
    children.set(
      d.id,
      supervisor.add(d.id, `data plane ${d.id}`, () =>
        dataPlaneCommand({
          dir: d.dir,
          keysDir: first.dir,
          controlPlanes: d.controlPlanes,
          ports: d.ports,
          workers,
          nodeId: d.id,
          region: d.region,
        }),
      ),
    );
  }
  // The first CP migrates the database and writes the dev keys and cluster certificates; the
  // others get copies of both (one fleet: one signing key, one CA), then every DP starts.
  if (!(await supervisor.firstStart(children.get(first.id)))) return;
  for (const c of cps.slice(1)) {
    for (const sub of ['keys', DEV_CLUSTER_CERT_DIR])
      cpSync(join(first.dir, sub), join(c.dir, sub), { recursive: true, force: true });
  }
  const rest = await Promise.all(cps.slice(1).map((c) => supervisor.firstStart(children.get(c.id))));
  if (!rest.every(Boolean)) return;
  const up = await Promise.all(dps.map((d) => supervisor.firstStart(children.get(d.id))));
  if (!up.every(Boolean) || supervisor.stopping) return;
  started = true;
  writeFleetFile();
  process.stdout.write(`\n${fleetTable(fleetJson(), dps)}\n`);
  process.stdout.write(
    `Fleet is up (data in ${dataDir}; the same table in ${fleetFile}).\n` +
      `  Admin API of any CP, e.g. curl -s ${cps[0] ? `127.0.0.1:${cps[0].adminPort}` : ''}/clustering/data-planes\n` +
      `A process that exits is restarted; a DP whose CP is away fails over to another. Press Ctrl-C to stop.\n`,
  );
  say(`fleet of ${cps.length} control plane(s) and ${dps.length} data plane(s) is up`);
}

/** The printed table: one line per process. */
export function fleetTable(fleet, dps) {
  const home = new Map(dps.map((d) => [d.id, d.home]));
  const rows = [
    ['PROCESS', 'REGION', 'PID', 'ADMIN API', 'CLUSTER', 'PROXY', 'STATUS', 'SYNCS FROM'],
    ...fleet.control_planes.map((c) => [c.id, '-', String(c.pid), c.admin, c.cluster, '-', '-', '-']),
    ...fleet.data_planes.map((d) => [
      d.id,
      d.region,
      String(d.pid),
      '-',
      '-',
      d.proxy,
      d.status,
      `${home.get(d.id)} (then the others)`,
    ]),
  ];
  const widths = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
  return (
    rows.map((r) => `  ${r.map((cell, k) => cell.padEnd(widths[k])).join('  ')}`.trimEnd()).join('\n') + '\n'
  );
}
