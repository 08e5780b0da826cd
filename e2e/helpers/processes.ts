/**
 * Black-box helpers: start real Gatehouse processes through the `gatehouse` CLI on free
 * loopback ports, wait for them, and stop or kill them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { freePort } from '../../test/helpers/ports.js';

export { freePort };
import { setPriority, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterTlsArgs, devDataPlaneTlsFiles, type ClusterTlsFiles } from '@gatehouse/shared';
import { seedPglite } from '../../test/helpers/pglite-template.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GATEHOUSE = join(ROOT, 'gatehouse');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `gatehouse-e2e-${prefix}-`));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Proc {
  output = '';
  exited: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  kill9(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

/**
 * Runs a one-shot `gatehouse <args>` command (e.g. `keys rotate`) to its end: its exit code and
 * output. `priority`: its nice value (os.setPriority) from its spawn.
 */
export async function runGatehouseToEnd(
  args: string[],
  priority?: number,
): Promise<{ code: number | null; output: string }> {
  const p = runGatehouse(args.join(' '), args);
  if (priority !== undefined) lowerPriority(p, priority);
  const code = await p.exited;
  return { code, output: p.output };
}

/** Sets a process's nice value right after its spawn (chaos rows: a CP modelled as on its own host). */
export function lowerPriority(p: Proc, priority: number): void {
  if (p.child.pid !== undefined) setPriority(p.child.pid, priority);
}

export function runGatehouse(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(GATEHOUSE, args, {
    cwd: ROOT,
    // No admin UI listener unless a test asks for one with --admin-gui-listen (flags win over the
    // environment): CPs started side by side, or a running `npm start`, would contend for 8002.
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_ADMIN_GUI_LISTEN: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(name, child);
}

/**
 * `gatehouse cp …` run from the control plane's TypeScript sources (tsx) instead of its build:
 * the only way to run a CP that has the test-only snapshot hook (docs/chaos.md), which production
 * builds leave out.
 */
export function runControlPlaneSource(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', 'tsx', join(ROOT, 'control-plane', 'src', 'cli.ts'), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_ADMIN_GUI_LISTEN: 'off', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Proc(name, child);
}

/** Polls until `check` returns true; throws with `what` after the deadline. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

export async function httpStatus(url: string, init?: RequestInit): Promise<number> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  await r.arrayBuffer();
  return r.status;
}

export interface CpHandle {
  proc: Proc;
  admin: string;
  clusterPort: number;
  dataDir: string;
  publicKeys: string;
  /** The root public key the CP's dev mode made (root-key mode: `gatehouse dp --cluster-root-key`). */
  rootPublicKey: string;
  /** The root private key (dev mode keeps it in the data folder): `gatehouse keys rotate/revoke --root-key`. */
  rootPrivateKey: string;
  /** The DP certificate files the CP's dev mode generated (pki mode). */
  dpTls: ClusterTlsFiles;
  /** The same as `gatehouse dp` arguments. */
  dpTlsArgs: string[];
}

/** The CP's "control plane ready" log line, once it is in `output`. */
function readyLine(output: string): { adminUrl: string; cluster: string } | null {
  for (const line of output.split('\n')) {
    if (!line.includes('"control plane ready"')) continue;
    try {
      const j = JSON.parse(line) as { adminUrl?: unknown; cluster?: unknown };
      if (typeof j.adminUrl === 'string' && typeof j.cluster === 'string')
        return { adminUrl: j.adminUrl, cluster: j.cluster };
    } catch {
      // a partial line: not yet
    }
  }
  return null;
}

export async function startCp(opts: {
  dataDir: string;
  adminPort?: number;
  clusterPort?: number;
  env?: NodeJS.ProcessEnv;
  /** Extra `gatehouse cp` arguments. */
  args?: string[];
  /** Admin API listen host (default 127.0.0.1; the handle's URL still uses 127.0.0.1). */
  adminHost?: string;
  /** The admin token the CP wants (passed by the caller in env/args); sent while waiting for it. */
  adminToken?: string;
  /**
   * Let the CP create its embedded database itself (initdb and every migration, as on a user's
   * first start). Default: a new data folder gets a copy of the migrated test template.
   */
  freshDatabase?: boolean;
  /** Run from the TypeScript sources (runControlPlaneSource), e.g. for the test snapshot hook. */
  fromSource?: boolean;
  /** The CP's nice value from its spawn (os.setPriority); default: the runner's. */
  priority?: number;
}): Promise<CpHandle> {
  const embedded =
    (opts.env?.DATABASE_URL ?? process.env.DATABASE_URL) === undefined &&
    !(opts.args ?? []).some((a) => a.startsWith('--database-url'));
  const databaseDir = join(opts.dataDir, 'pglite');
  if (embedded && !opts.freshDatabase && !existsSync(databaseDir)) await seedPglite(databaseDir);
  // Port 0 unless a test asks for one: the CP binds a free port itself and says which in its
  // "control plane ready" line (a port probed free beforehand can be taken by then).
  const proc = (opts.fromSource ? runControlPlaneSource : runGatehouse)(
    'cp',
    [
      'cp',
      '--dev',
      '--data-dir',
      opts.dataDir,
      '--admin-listen',
      `${opts.adminHost ?? '127.0.0.1'}:${opts.adminPort ?? 0}`,
      '--cluster-listen',
      `127.0.0.1:${opts.clusterPort ?? 0}`,
      ...(opts.args ?? []),
    ],
    opts.env,
  );
  if (opts.priority !== undefined) lowerPriority(proc, opts.priority);
  let admin = '';
  let clusterPort = 0;
  try {
    await waitUntil(
      'control plane admin API',
      async () => {
        if (!proc.alive) throw new Error(`cp exited:\n${proc.output}`);
        if (!admin) {
          const ready = readyLine(proc.output);
          if (!ready) return false;
          admin = `http://127.0.0.1:${new URL(ready.adminUrl).port}`;
          clusterPort = Number(ready.cluster.slice(ready.cluster.lastIndexOf(':') + 1));
        }
        const headers: Record<string, string> = opts.adminToken
          ? { 'kong-admin-token': opts.adminToken }
          : {};
        return (await httpStatus(`${admin}/`, { headers })) === 200;
      },
      60_000,
    );
  } catch (e) {
    await proc.stop();
    throw new Error(`${(e as Error).message}\n--- cp output ---\n${proc.output}`);
  }
  return {
    proc,
    admin,
    clusterPort,
    dataDir: opts.dataDir,
    publicKeys: join(opts.dataDir, 'keys', 'snapshot-signing.jwks.json'),
    rootPublicKey: join(opts.dataDir, 'keys', 'snapshot-root.pub.json'),
    rootPrivateKey: join(opts.dataDir, 'keys', 'snapshot-root.key.json'),
    dpTls: devDataPlaneTlsFiles(opts.dataDir),
    dpTlsArgs: clusterTlsArgs(devDataPlaneTlsFiles(opts.dataDir)),
  };
}

export interface DpHandle {
  proc: Proc;
  proxy: string;
  status: string;
  proxyPort: number;
  statusPort: number;
  dataDir: string;
}

export async function startDp(opts: {
  cluster: string;
  publicKeys: string;
  /** Root-key mode: `--cluster-root-key FILE` instead of `--trusted-keys publicKeys`. */
  rootKey?: string;
  dataDir: string;
  workers?: number;
  proxyPort?: number;
  statusPort?: number;
  nodeId?: string;
  waitReady?: boolean;
  /** Cluster TLS arguments. Default: the dev certificates of the CP whose `publicKeys` these are. */
  tls?: string[];
  /** Extra `gatehouse dp` arguments. */
  args?: string[];
  /** Extra environment variables. */
  env?: NodeJS.ProcessEnv;
}): Promise<DpHandle> {
  const proxyPort = opts.proxyPort ?? (await freePort());
  const statusPort = opts.statusPort ?? (await freePort());
  const args = [
    'dp',
    '--control-plane',
    opts.cluster,
    ...(opts.rootKey ? ['--cluster-root-key', opts.rootKey] : ['--trusted-keys', opts.publicKeys]),
    ...(opts.tls ?? clusterTlsArgs(devDataPlaneTlsFiles(dirname(dirname(opts.publicKeys))))),
    '--data-dir',
    opts.dataDir,
    '--workers',
    String(opts.workers ?? 2),
    '--listen',
    `127.0.0.1:${proxyPort}`,
    '--status-listen',
    `127.0.0.1:${statusPort}`,
  ];
  if (opts.nodeId) args.push('--node-id', opts.nodeId);
  args.push(...(opts.args ?? []));
  const proc = runGatehouse(`dp:${proxyPort}`, args, opts.env);
  const h = {
    proc,
    proxy: `http://127.0.0.1:${proxyPort}`,
    status: `http://127.0.0.1:${statusPort}`,
    proxyPort,
    statusPort,
    dataDir: opts.dataDir,
  };
  if (opts.waitReady !== false) {
    try {
      await waitUntil(
        'data plane ready',
        async () => {
          if (!proc.alive) throw new Error('dp exited');
          return (await httpStatus(`${h.status}/status/ready`)) === 200;
        },
        60_000,
      );
    } catch (e) {
      await proc.stop();
      throw new Error(`${(e as Error).message}\n--- dp output ---\n${proc.output}`);
    }
  }
  return h;
}

/** A real upstream: answers every request with JSON describing what it received. */
export async function startUpstream(): Promise<{
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}> {
  const server = createServer((req, res) => {
    const body = JSON.stringify({ method: req.method, url: req.url, host: req.headers.host });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function adminJson(
  admin: string,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes
): Promise<{ status: number; json: any }> {
  const r = await fetch(`${admin}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

/** POSTs `body` to the Admin API and throws unless it answered 201 (setting up a test's entities). */
export async function adminCreate(admin: string, path: string, body: unknown): Promise<void> {
  const r = await adminJson(admin, 'POST', path, body);
  if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.json)}`);
}

/** A DB-less data plane (`gatehouse dp --config FILE`) on free ports, waited on until ready. */
export async function startDblessDp(opts: {
  file: string;
  dataDir: string;
  workers?: number;
  args?: string[];
  /** Extra environment variables (e.g. OTEL_*). */
  env?: NodeJS.ProcessEnv;
}): Promise<{ proc: Proc; proxy: string; status: string }> {
  const [proxyPort, statusPort] = [await freePort(), await freePort()];
  const proc = runGatehouse(
    'dp',
    [
      'dp',
      '--config',
      opts.file,
      '--workers',
      String(opts.workers ?? 1),
      '--data-dir',
      opts.dataDir,
      '--listen',
      `127.0.0.1:${proxyPort}`,
      '--status-listen',
      `127.0.0.1:${statusPort}`,
      ...(opts.args ?? []),
    ],
    opts.env,
  );
  const status = `http://127.0.0.1:${statusPort}`;
  await waitUntil(
    'DB-less data plane ready',
    async () => {
      if (!proc.alive) throw new Error(proc.output);
      return (await httpStatus(`${status}/status/ready`)) === 200;
    },
    60_000,
  );
  return { proc, proxy: `http://127.0.0.1:${proxyPort}`, status };
}
