#!/usr/bin/env node
// `gatehouse dev`: a control plane and one data plane as separate processes on embedded
// defaults (PGlite, dev keys, no NATS), with their logs prefixed, URLs printed, and Ctrl-C
// stopping both. If either dies, the other is stopped too.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HELP = `Usage: gatehouse dev [options]

Runs a control plane and one data plane as separate processes on embedded defaults:
PGlite database and dev signing keys in the data folder, no NATS.

Options:
  --data-dir <dir>     Folder for both processes' state [env GATEHOUSE_DEV_DIR] (default: .gatehouse)
  --workers <n>        Data-plane worker processes [env GATEHOUSE_WORKERS] (default: number of CPUs)
  --proxy-port <port>  Proxy port (default: 8000)    --admin-port <port>   Admin API port (default: 8001)
  --proxy-ssl-port <p> HTTPS proxy port (default: 8443)
  --cluster-port <p>   Cluster gRPC port (default: 8005)  --status-port <p>  DP status port (default: 8100)
  --help               Show this help.
Other GATEHOUSE_* variables are passed to both processes (see 'gatehouse cp --help', 'gatehouse dp --help').
`;

let args;
try {
  args = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      workers: { type: 'string' },
      'proxy-port': { type: 'string' },
      'proxy-ssl-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'cluster-port': { type: 'string' },
      'status-port': { type: 'string' },
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
const port = (name, dflt) => {
  const v = args[name] ?? String(dflt);
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    process.stderr.write(`gatehouse dev: invalid setting --${name}: must be a port 1-65535, got "${v}"\n`);
    process.exit(2);
  }
  return Number(v);
};
const ports = {
  proxy: port('proxy-port', 8000),
  proxySsl: port('proxy-ssl-port', 8443),
  admin: port('admin-port', 8001),
  cluster: port('cluster-port', 8005),
  status: port('status-port', 8100),
};
const dataDir = resolve(args['data-dir'] ?? process.env.GATEHOUSE_DEV_DIR ?? '.gatehouse');
mkdirSync(dataDir, { recursive: true });
const cpDir = join(dataDir, 'cp');
const dpDir = join(dataDir, 'dp');

const children = new Map();
let stopping = false;

function prefixLines(stream, tag, out) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      out.write(`${tag} ${buf.slice(0, i)}\n`);
      buf = buf.slice(i + 1);
    }
  });
}

function start(tag, script, argv) {
  const child = spawn(process.execPath, ['--enable-source-maps', join(root, script), ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  prefixLines(child.stdout, tag, process.stdout);
  prefixLines(child.stderr, tag, process.stderr);
  children.set(tag, child);
  child.on('exit', (code, signal) => {
    children.delete(tag);
    if (!stopping) {
      process.stderr.write(`${tag} exited (${signal ?? code}); stopping the rest\n`);
      shutdown(1);
    } else if (children.size === 0) process.exit(exitCode);
  });
  return child;
}

let exitCode = 0;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  if (children.size === 0) process.exit(code);
  for (const c of children.values()) c.kill('SIGTERM');
  setTimeout(() => {
    for (const c of children.values()) c.kill('SIGKILL');
    process.exit(code);
  }, 10_000).unref();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function waitFor(url, what, ok = (r) => r.ok) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !stopping) {
    try {
      const r = await fetch(url);
      if (ok(r)) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping) {
    process.stderr.write(`gatehouse dev: ${what} did not come up at ${url} within 60 s\n`);
    shutdown(1);
  }
}

start('[cp]', 'control-plane/dist/cli.js', [
  'cp',
  '--dev',
  '--data-dir',
  cpDir,
  '--admin-listen',
  `127.0.0.1:${ports.admin}`,
  '--cluster-listen',
  `127.0.0.1:${ports.cluster}`,
]);
// 401: the CP is up and wants the admin token (GATEHOUSE_ADMIN_TOKEN / _FILE, passed through).
await waitFor(`http://127.0.0.1:${ports.admin}/`, 'the control plane', (r) => r.ok || r.status === 401);
if (stopping) process.exitCode = 1;
else {
  const dpArgs = [
    '--control-plane',
    `127.0.0.1:${ports.cluster}`,
    '--trusted-keys',
    join(cpDir, 'keys', 'snapshot-signing.jwks.json'),
    '--data-dir',
    dpDir,
    '--listen',
    `0.0.0.0:${ports.proxy}`,
    '--listen-ssl',
    `0.0.0.0:${ports.proxySsl}`,
    '--status-listen',
    `127.0.0.1:${ports.status}`,
  ];
  if (args.workers) dpArgs.push('--workers', args.workers);
  start('[dp]', 'data-plane/dist/cli.js', dpArgs);
  await waitFor(`http://127.0.0.1:${ports.status}/status/ready`, 'the data plane');
  if (!stopping) {
    process.stdout.write(`
Gatehouse is up (data in ${dataDir}):
  Admin API      http://127.0.0.1:${ports.admin}        e.g. curl -s localhost:${ports.admin}/services
  Proxy          http://127.0.0.1:${ports.proxy}    https://127.0.0.1:${ports.proxySsl}
  DP status      http://127.0.0.1:${ports.status}/status   /status/ready   /metrics
  Cluster gRPC   127.0.0.1:${ports.cluster}
  Data planes    http://127.0.0.1:${ports.admin}/clustering/data-planes
Press Ctrl-C to stop.
`);
  }
}
