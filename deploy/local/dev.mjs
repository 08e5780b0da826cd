#!/usr/bin/env node
// `gatehouse dev`: a control plane and one data plane as separate processes on embedded
// defaults (PGlite, dev keys, no NATS), with their logs prefixed and URLs printed. It supervises
// them: a child that exits (or is killed) is reported and restarted with backoff while the other
// keeps running — the DP serves its cached config while the CP is away. Ctrl-C / SIGTERM stops both.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clusterTlsArgs, devDataPlaneTlsFiles } from '../../shared/dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HELP = `Usage: gatehouse dev [options]

Runs a control plane and one data plane as separate processes on embedded defaults:
PGlite database and dev signing keys in the data folder, no NATS. A process that exits is
restarted (backoff 0.5 s doubling to 15 s); the data plane keeps serving while the control
plane is away. Ctrl-C stops both.

Options:
  --data-dir <dir>     Folder for both processes' state [env GATEHOUSE_DEV_DIR] (default: .gatehouse)
  --workers <n>        Data-plane worker processes [env GATEHOUSE_WORKERS] (default: number of CPUs)
  --proxy-port <port>  Proxy port (default: 8000)    --admin-port <port>   Admin API port (default: 8001)
  --proxy-ssl-port <p> HTTPS proxy port (default: 8443)
  --cluster-port <p>   Cluster gRPC port (default: 8005)  --status-port <p>  DP status port (default: 8100)
  --help               Show this help.
Other GATEHOUSE_* variables are passed to both processes (see 'gatehouse cp --help', 'gatehouse dp --help').
The control plane's pid is in <data-dir>/cp/cp.lock; each process's pid is also in the log.
`;

/** Restart delays: 0.5 s, doubling, capped at 15 s; back to 0.5 s once a child stayed up 30 s. */
const BACKOFF = { firstMs: 500, maxMs: 15_000, stableMs: 30_000 };
/** This many exits in a row, each within `stableMs` of starting, is reported as a crash loop. */
const CRASH_LOOP_AFTER = 3;
/** When to say a first start is slow (it keeps waiting: a first PGlite start can take minutes on a
 * busy machine); how long children get to stop. */
const SLOW_START_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

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
const clusterMtls = process.env.GATEHOUSE_CLUSTER_MTLS ?? 'pki';
const dpDir = join(dataDir, 'dp');

// ---------------------------------------------------------------------------------------------
// The children's command lines and environments: one function per child, the one place to add
// a setting to either (called at every (re)start).

function controlPlaneCommand() {
  return {
    script: 'control-plane/dist/cli.js',
    args: [
      'cp',
      '--dev',
      '--data-dir',
      cpDir,
      '--admin-listen',
      `127.0.0.1:${ports.admin}`,
      '--cluster-listen',
      `127.0.0.1:${ports.cluster}`,
    ],
    env: process.env,
    readyUrl: `http://127.0.0.1:${ports.admin}/`,
    // 401: the CP is up and wants the admin token (GATEHOUSE_ADMIN_TOKEN / _FILE, passed through).
    isReady: (status) => (status >= 200 && status < 300) || status === 401,
  };
}

function dataPlaneCommand() {
  const argv = [
    '--control-plane',
    `127.0.0.1:${ports.cluster}`,
    '--trusted-keys',
    join(cpDir, 'keys', 'snapshot-signing.jwks.json'),
    // Mutual TLS on the cluster channel: the certificates the CP's --dev generated (pki, or the
    // mode GATEHOUSE_CLUSTER_MTLS gives both processes).
    ...(clusterMtls === 'off' ? [] : clusterTlsArgs(devDataPlaneTlsFiles(cpDir, clusterMtls))),
    '--data-dir',
    dpDir,
    '--listen',
    `0.0.0.0:${ports.proxy}`,
    '--listen-ssl',
    `0.0.0.0:${ports.proxySsl}`,
    '--status-listen',
    `127.0.0.1:${ports.status}`,
  ];
  if (args.workers) argv.push('--workers', args.workers);
  return {
    script: 'data-plane/dist/cli.js',
    args: argv,
    env: process.env,
    readyUrl: `http://127.0.0.1:${ports.status}/status/ready`,
    isReady: (status) => status >= 200 && status < 300,
  };
}

// ---------------------------------------------------------------------------------------------

const say = (line) => process.stderr.write(`[dev] ${line}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
  stream.on('end', () => {
    if (buf) out.write(`${tag} ${buf}\n`);
  });
}

/** Answers true once `url` answers a status `isReady` accepts; false when `alive()` turns false. */
async function waitReady(url, isReady, alive, timeoutMs = Infinity) {
  const deadline = Date.now() + timeoutMs;
  while (alive() && Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      if (isReady(r.status)) return alive();
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  return false;
}

let stopping = false;

/**
 * One supervised child: started, prefixed, restarted with backoff when it exits while we are
 * not stopping. `onFirstFailure` is called if it exits before it was ever ready (a start-up
 * error — a port in use, a locked data folder — that restarting would only repeat).
 */
class Supervised {
  constructor(name, label, command) {
    this.name = name;
    this.label = label;
    this.command = command;
    this.child = null;
    this.startedAt = 0;
    this.everReady = false;
    this.crashes = 0; // exits in a row, each within BACKOFF.stableMs of starting
    this.restarts = 0;
    this.timer = null;
    this.exited = Promise.resolve();
    this.onFirstFailure = () => {};
  }

  get alive() {
    return this.child !== null;
  }

  start() {
    const { script, args: argv, env, readyUrl, isReady } = this.command();
    const child = spawn(process.execPath, ['--enable-source-maps', join(root, script), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    this.child = child;
    this.startedAt = Date.now();
    const tag = `[${this.name}]`;
    prefixLines(child.stdout, tag, process.stdout);
    prefixLines(child.stderr, tag, process.stderr);
    say(`${this.name} started (pid ${child.pid})`);
    this.exited = new Promise((r) =>
      child.once('exit', (code, signal) => r(this.onExit(child, code, signal))),
    );
    this.ready = waitReady(readyUrl, isReady, () => this.child === child && !stopping).then((ok) => {
      if (!ok) return false;
      if (this.everReady) say(`${this.name} is back (pid ${child.pid}, after ${this.restarts} restart(s))`);
      this.everReady = true;
      return true;
    });
    return this.ready;
  }

  onExit(child, code, signal) {
    if (this.child === child) this.child = null;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (stopping) {
      say(`${this.name} stopped (${how})`);
      return;
    }
    const upMs = Date.now() - this.startedAt;
    say(`${this.name} (pid ${child.pid}) exited unexpectedly (${how}) after ${seconds(upMs)}`);
    if (!this.everReady) {
      this.onFirstFailure(how);
      return;
    }
    this.crashes = upMs >= BACKOFF.stableMs ? 1 : this.crashes + 1;
    const delay = Math.min(BACKOFF.firstMs * 2 ** (this.crashes - 1), BACKOFF.maxMs);
    if (this.crashes >= CRASH_LOOP_AFTER) {
      say(
        `${this.name} is crash-looping: ${this.crashes} exits in a row, each within ` +
          `${seconds(BACKOFF.stableMs)} of starting (see its log above); still restarting, ` +
          `next in ${seconds(delay)} (backoff capped at ${seconds(BACKOFF.maxMs)})`,
      );
    } else {
      say(
        `restarting ${this.name} in ${seconds(delay)}${this.name === 'cp' ? ' (the data plane keeps serving)' : ''}`,
      );
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (stopping) return;
      this.restarts++;
      void this.start();
    }, delay);
  }

  /** Stops restarting, and the child if it runs: SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. */
  async stop() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    if (!child) return true;
    child.kill('SIGTERM');
    let forced = false;
    const t = setTimeout(() => {
      forced = true;
      say(`${this.name} did not stop within ${seconds(STOP_TIMEOUT_MS)}; killing it`);
      child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(t);
    return !forced;
  }

  kill() {
    this.child?.kill('SIGKILL');
  }
}

const cp = new Supervised('cp', 'the control plane', controlPlaneCommand);
const dp = new Supervised('dp', 'the data plane', dataPlaneCommand);
const children = [cp, dp];

async function shutdown(code, reason) {
  if (stopping) return;
  stopping = true;
  const running = children.filter((c) => c.alive).map((c) => `${c.name} (pid ${c.child.pid})`);
  say(`stopping (${reason})${running.length ? `: ${running.join(', ')}` : ''}`);
  const clean = await Promise.all(children.map((c) => c.stop()));
  process.exit(clean.every(Boolean) ? code : 1);
}
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    // A second Ctrl-C while stopping: do not wait for the children any longer.
    if (++signals > 1 && stopping) {
      say(`${sig} again: killing the children`);
      for (const c of children) c.kill();
      process.exit(1);
    }
    void shutdown(0, sig);
  });
}
for (const c of children) {
  c.onFirstFailure = (how) => {
    say(`${c.label} failed to start (${how}); see its log above`);
    void shutdown(1, `${c.name} failed to start`);
  };
}

async function firstStart(c) {
  const t = setInterval(() => {
    if (c.everReady || stopping) return;
    say(`still waiting for ${c.label} to answer at ${c.command().readyUrl} (Ctrl-C to give up)`);
  }, SLOW_START_MS);
  const ok = await c.start();
  clearInterval(t);
  return ok;
}

// The DP needs the dev keys the CP writes on its first start, so the CP goes first.
if ((await firstStart(cp)) && (await firstStart(dp)) && !stopping) {
  process.stdout.write(`
Gatehouse is up (data in ${dataDir}):
  Admin API      http://127.0.0.1:${ports.admin}        e.g. curl -s localhost:${ports.admin}/services
  Proxy          http://127.0.0.1:${ports.proxy}    https://127.0.0.1:${ports.proxySsl}
  DP status      http://127.0.0.1:${ports.status}/status   /status/ready   /metrics
  Cluster gRPC   127.0.0.1:${ports.cluster}    mutual TLS (certificates in ${join(cpDir, 'cluster')})
  Data planes    http://127.0.0.1:${ports.admin}/clustering/data-planes
  Processes      cp pid ${cp.child?.pid} (also in ${join(cpDir, 'cp.lock')}), dp pid ${dp.child?.pid}
A process that exits is restarted. Press Ctrl-C to stop.
`);
}
