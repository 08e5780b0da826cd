// Helpers for the benchmarks that drive real `gatehouse` processes: free ports, a control plane on
// PGlite or a fresh Postgres database, JSON log lines, RSS from /proc, timing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { clusterTlsArgs, devDataPlaneTlsFiles } from '../../../shared/dist/index.js';

export const ROOT =
  process.env.GATEHOUSE_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const GATEHOUSE = join(ROOT, 'gatehouse');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const mib = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
export const since = (t0) => Math.round(performance.now() - t0);
export const tempDir = (name) => mkdtempSync(join(tmpdir(), `gh-bench-${name}-`));

export const freePort = () =>
  new Promise((res) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssOf(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) * 1024;
}

/** Child processes of `pid` (Linux /proc), e.g. a data plane's workers. */
export function childPids(pid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU time (user + system) a process has used, in ms (Linux /proc; clock ticks of 10 ms). */
export function cpuMsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** The environment minus the database settings (each process here gets its own database). */
const withoutDatabaseUrl = (env) =>
  Object.fromEntries(
    Object.entries(env).filter(([k]) => k !== 'DATABASE_URL' && k !== 'GATEHOUSE_DATABASE_URL'),
  );

/**
 * Spawns `gatehouse <args>` with JSON logs on stdout. `waitForLog(pred)` resolves with the first
 * log line (parsed) matching `pred`, including lines logged before the call.
 */
export function startGatehouse(args, { env = {}, logLevel = 'info' } = {}) {
  const child = spawn(GATEHOUSE, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...withoutDatabaseUrl(process.env), GATEHOUSE_LOG_LEVEL: logLevel, ...env },
  });
  const lines = [];
  const waiters = new Set();
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of [...waiters]) if (w.pred(line)) (waiters.delete(w), w.resolve(line));
    }
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  // A benchmark that dies must not leave its servers behind (they would also block on a dead pipe).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  exited.then(() => process.off('exit', killOnExit));
  return {
    child,
    pid: child.pid,
    lines,
    waitForLog(pred, timeoutMs = 120_000) {
      const hit = lines.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolvePromise, reject) => {
        const w = { pred, resolve: resolvePromise };
        waiters.add(w);
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching log line within ${timeoutMs} ms (gatehouse ${args[0]})`));
        }, timeoutMs);
        timer.unref();
        exited.then(({ code, signal }) => {
          if (!waiters.delete(w)) return;
          clearTimeout(timer);
          reject(new Error(`gatehouse ${args[0]} exited (${code ?? signal}) before the awaited log line`));
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A fresh Postgres database on GATEHOUSE_TEST_POSTGRES_URL's server: its URL and a drop(). */
export async function freshPostgres() {
  const adminUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `gh_bench_${Date.now().toString(36)}_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Starts `gatehouse cp --dev` on free ports, on PGlite (`db: 'pglite'`) or a fresh Postgres
 * database (`db: 'postgres'`); resolves once the Admin API answers. `stop()` also removes the
 * data folder and drops the database.
 */
export async function startControlPlane({
  db = 'pglite',
  logLevel = 'info',
  nodeOptions,
  env: extraEnv,
} = {}) {
  const dataDir = tempDir('cp');
  const postgres = db === 'postgres' ? await freshPostgres() : undefined;
  const env = { ...extraEnv };
  if (postgres) env.DATABASE_URL = postgres.url;
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  const cp = startGatehouse(
    [
      'cp',
      '--dev',
      '--data-dir',
      dataDir,
      '--admin-listen',
      '127.0.0.1:0',
      '--cluster-listen',
      '127.0.0.1:0',
      // No admin UI: benchmark CPs run side by side and would contend for 8002.
      '--admin-gui-listen',
      'off',
    ],
    { env, logLevel },
  );
  const ready = await cp.waitForLog((l) => l.msg === 'control plane ready');
  return {
    ...cp,
    adminUrl: ready.adminUrl,
    clusterAddress: ready.cluster,
    dataDir,
    trustedKeys: join(dataDir, 'keys', 'snapshot-signing.jwks.json'),
    /** `gatehouse dp` arguments for the cluster certificates the CP's dev mode generated. */
    dpTlsArgs: clusterTlsArgs(devDataPlaneTlsFiles(dataDir)),
    async stop() {
      await cp.stop();
      await postgres?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** One Admin API call; resolves with the status and parsed body. */
export async function admin(url, method = 'GET', body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Runs `gatehouse <args>` to completion; resolves with its exit code, stdout and stderr. */
export function runGatehouse(args, env = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(GATEHOUSE, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/**
 * 10,000 services with one route each, 10,000 consumers with one key-auth credential each and a
 * global key-auth plugin (Kong 3.0 declarative JSON). `upstream` is every service's URL.
 */
export function bigConfig(n, { upstream, plugin = true } = {}) {
  const services = [];
  const consumers = [];
  for (let i = 0; i < n; i++) {
    services.push({
      name: `svc-${i}`,
      url: upstream ?? `http://backend-${i % 50}.internal:8080/v1`,
      routes: [{ name: `route-${i}`, paths: [`/svc-${i}`], methods: ['GET', 'POST'] }],
    });
    consumers.push({
      username: `user-${i}`,
      keyauth_credentials: [{ key: `key-${i}-${(i * 7919) % 100003}` }],
    });
  }
  return JSON.stringify({
    _format_version: '3.0',
    services,
    consumers,
    plugins: plugin ? [{ name: 'key-auth', config: { key_names: ['apikey'] } }] : [],
  });
}
