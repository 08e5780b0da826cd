#!/usr/bin/env node
// `gatehouse dev`: a local Gatehouse as separate supervised processes. No fleet flags: one
// control plane and one data plane on embedded defaults (single.mjs). With --control-planes /
// --data-planes: a fleet of CP replicas and regional DPs (fleet.mjs). Supervision: supervisor.mjs;
// the children's command lines: children.mjs; the fleet flags: fleet-args.mjs.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseControlPlaneCount, parseDataPlanes, parsePort } from './fleet-args.mjs';
import { fleetEnvironmentProblem, planFleet, PORT_STRIDE, runFleet } from './fleet.mjs';
import { runSingle } from './single.mjs';

const HELP = `Usage: gatehouse dev [options]

Runs a control plane and one data plane as separate processes on embedded defaults:
PGlite database and dev signing keys in the data folder, no NATS. A process that exits is
restarted (backoff 0.5 s doubling to 15 s); the data plane keeps serving while the control
plane is away. Ctrl-C stops both.

With --control-planes and/or --data-planes it runs a fleet instead: that many CP replicas
(more than one needs DATABASE_URL and NATS_URL set) sharing one signing key and one set of
cluster certificates, and data planes in the regions given, spread over the CPs; each DP is
given every CP and fails over between them. A table of every process and its ports is printed
and written to <data-dir>/fleet.json. Ports go up by ${PORT_STRIDE} per process from the bases
below; a base of 0 picks free ports.

Options:
  --data-dir <dir>     Folder for the processes' state [env GATEHOUSE_DEV_DIR] (default: .gatehouse)
  --workers <n>        Worker processes per data plane [env GATEHOUSE_WORKERS] (default: number
                       of CPUs; 1 in a fleet)
  --proxy-port <port>  Proxy port (default: 8000)    --admin-port <port>   Admin API port (default: 8001)
  --proxy-ssl-port <p> HTTPS proxy port (default: 8443; not in a fleet)
  --cluster-port <p>   Cluster gRPC port (default: 8005)  --status-port <p>  DP status port (default: 8100)
  --admin-gui-port <p> Admin UI port (default: 8002; not in a fleet)
  --control-planes <n> Fleet: control-plane replicas, 1-9 (default 1)
  --data-planes <list> Fleet: data planes per region, region=count[,region=count] (e.g. eu=2,us=1;
                       default: one, in region "local")
  --help               Show this help.
Other GATEHOUSE_* variables are passed to every process (see 'gatehouse cp --help', 'gatehouse dp --help').
The control plane's pid is in <data-dir>/cp/cp.lock; each process's pid is also in the log.
`;

function refuse(message) {
  process.stderr.write(`gatehouse dev: ${message}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      workers: { type: 'string' },
      'proxy-port': { type: 'string' },
      'proxy-ssl-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'admin-gui-port': { type: 'string' },
      'cluster-port': { type: 'string' },
      'status-port': { type: 'string' },
      'control-planes': { type: 'string' },
      'data-planes': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  }).values;
} catch (e) {
  process.stderr.write(`gatehouse dev: ${e.message}\n\n${HELP}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const fleet = args['control-planes'] !== undefined || args['data-planes'] !== undefined;
const setting = (name, parsed) => {
  if (parsed.problem) refuse(`invalid setting --${name}: ${parsed.problem}`);
  return parsed.value;
};
const port = (name, dflt) => setting(name, parsePort(args[name] ?? String(dflt), { allowZero: fleet }));
const ports = {
  proxy: port('proxy-port', 8000),
  proxySsl: port('proxy-ssl-port', 8443),
  admin: port('admin-port', 8001),
  adminGui: port('admin-gui-port', 8002),
  cluster: port('cluster-port', 8005),
  status: port('status-port', 8100),
};
const dataDir = resolve(args['data-dir'] ?? process.env.GATEHOUSE_DEV_DIR ?? '.gatehouse');

if (!fleet) {
  mkdirSync(dataDir, { recursive: true });
  await runSingle({ dataDir, ports, workers: args.workers });
} else {
  if (args['proxy-ssl-port'] !== undefined)
    refuse("invalid setting --proxy-ssl-port: a fleet's data planes serve plain HTTP only");
  const cpCount = setting('control-planes', parseControlPlaneCount(args['control-planes'] ?? '1'));
  const regions = setting('data-planes', parseDataPlanes(args['data-planes'] ?? 'local=1'));
  const envProblem = fleetEnvironmentProblem(cpCount);
  if (envProblem) refuse(envProblem);
  const workers = args.workers ?? process.env.GATEHOUSE_WORKERS ?? '1';
  const planned = await planFleet({ dataDir, cpCount, regions, ports });
  if (planned.problem) refuse(`invalid ports: ${planned.problem}`);
  const plan = planned.value;
  mkdirSync(dataDir, { recursive: true });
  await runFleet({ dataDir, plan, workers });
}
