/**
 * The chaos suite's topology on one machine, as real processes on loopback: a control plane
 * (`gatehouse cp --dev`, embedded PGlite in its own data folder), data planes (`gatehouse dp`,
 * each with its own data folder and disk cache) and an upstream (a plain node:http server in a
 * child process answering 200, so its CPU is not the load generator's). One service and
 * `routes` routes (`/chaos`, `/chaos-1`…) are created through the Admin API. The CP can be killed
 * and started again on the same ports and data folder, as an operator's restart does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createPostgresDatabase } from '../helpers/db.js';
import { SNAPSHOT_HOOK_ENV } from '../../control-plane/src/cluster/test-hook.js';
import {
  adminJson,
  freePort,
  httpStatus,
  sleep,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from '../../e2e/helpers/processes.js';

export { sleep, waitUntil };

/**
 * The nice value of the control-plane side's processes (the CP, its replicas, `gatehouse keys`):
 * `CHAOS_CP_NICE`, default 19, a model of the production topology (the CP on hosts of its own,
 * not on the data plane's cores); `CHAOS_CP_NICE=0` runs them at the runner's priority (the
 * same-host worst case). Why 19 is the default, with the A/B figures: docs/chaos.md, "Where the
 * time goes".
 */
export const CP_PRIORITY: number =
  process.env.CHAOS_CP_NICE === undefined || process.env.CHAOS_CP_NICE === ''
    ? 19
    : Number(process.env.CHAOS_CP_NICE);

/** An upstream answering `200 ok` to everything (keep-alive), in a child process. */
export async function startUpstream(): Promise<{ port: number; child: ChildProcess; close(): void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s=require('http').createServer((q,r)=>{q.resume();r.end('ok')});s.keepAliveTimeout=60000;` +
        `s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  return { port: Number(String(line).trim()), child, close: () => child.kill('SIGKILL') };
}

/** What the test snapshot hook did (control-plane/src/testing/snapshot-hook.ts). */
export interface HookEvent {
  action: string;
  /** Date.now() just before the write. */
  at: number;
  version: string;
  hash: string;
  nodes: string[];
}

export interface DpStatus {
  ready: boolean;
  config: { version: string; hash: string; kid?: string | null } | null;
  sync: { state: string; reconnects: number; lastError: string | null; controlPlane?: string | null };
  cache: { file: string } | null;
}

/** A data plane's GET /status, or null when it does not answer. */
export async function dpStatus(dp: { status: string }): Promise<DpStatus | null> {
  try {
    const r = await fetch(`${dp.status}/status`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as DpStatus) : null;
  } catch {
    return null;
  }
}

/**
 * Polls `check` every `everyMs` until it holds; resolves with the performance.now() time it was
 * first seen holding, or null after `timeoutMs`.
 */
export async function whenTrue(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 20,
): Promise<number | null> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await check().catch(() => false)) return performance.now();
    await sleep(everyMs);
  }
  return null;
}

export interface FleetOptions {
  /** Data planes (default 1). */
  readonly dps?: number;
  /** Workers per data plane (default 1: the box has 2 cores, shared with the load). */
  readonly workers?: number;
  /** Routes to the upstream (default 1): `/chaos`, then `/chaos-1`, `/chaos-2`… */
  readonly routes?: number;
  /** Environment of the CP (e.g. DATABASE_URL, NATS_URL). */
  readonly cpEnv?: NodeJS.ProcessEnv;
  /** Environment of every DP (e.g. NATS_URL). */
  readonly dpEnv?: NodeJS.ProcessEnv;
  /**
   * Something between the DPs and the CP's cluster port (a Gate): given that port, the port the
   * DPs dial instead. Default: the DPs dial the CP.
   */
  readonly clusterVia?: (clusterPort: number) => Promise<number>;
  /**
   * Run the CP from its sources with the test-only snapshot hook on (docs/chaos.md, "The snapshot
   * hook"); `fleet.hook` is then its control endpoint.
   */
  readonly snapshotHook?: boolean;
  /** DPs trust the CP's root key (`--cluster-root-key`: root-certified signing keys) instead of its JWKS. */
  readonly rootKey?: boolean;
}

export class Fleet {
  private constructor(
    readonly dir: string,
    public cp: CpHandle | null,
    readonly cpDataDir: string,
    readonly adminPort: number,
    readonly clusterPort: number,
    readonly publicKeys: string,
    readonly dps: DpHandle[],
    readonly upstream: { port: number; close(): void },
    readonly paths: string[],
    private readonly workers: number,
    private readonly cpEnv: NodeJS.ProcessEnv,
    private readonly dpEnv: NodeJS.ProcessEnv,
    /** The cluster port the DPs dial (the CP's, or what `clusterVia` put in front of it). */
    private dpClusterPort: number,
    /** The test snapshot hook's control endpoint (http://127.0.0.1:PORT), or null. */
    readonly hook: string | null,
    private readonly rootKey: string | null,
  ) {}

  static async start(opts: FleetOptions = {}): Promise<Fleet> {
    const dir = tempDir('chaos');
    const upstream = await startUpstream();
    const cpDataDir = join(dir, 'cp');
    const hookPort = opts.snapshotHook ? await freePort() : null;
    const cpEnv: NodeJS.ProcessEnv = {
      ...opts.cpEnv,
      ...(hookPort === null ? {} : { [SNAPSHOT_HOOK_ENV]: `127.0.0.1:${hookPort}` }),
    };
    let cp: CpHandle;
    try {
      cp = await startCp({
        dataDir: cpDataDir,
        env: cpEnv,
        fromSource: hookPort !== null,
        priority: CP_PRIORITY,
      });
    } catch (err) {
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const fleet = new Fleet(
      dir,
      cp,
      cpDataDir,
      Number(new URL(cp.admin).port),
      cp.clusterPort,
      cp.publicKeys,
      [],
      upstream,
      [],
      opts.workers ?? 1,
      cpEnv,
      opts.dpEnv ?? {},
      cp.clusterPort,
      hookPort === null ? null : `http://127.0.0.1:${hookPort}`,
      opts.rootKey ? cp.rootPublicKey : null,
    );
    try {
      if (opts.clusterVia) fleet.dpClusterPort = await opts.clusterVia(cp.clusterPort);
      const service = await adminJson(cp.admin, 'POST', '/services', {
        name: 'chaos',
        url: `http://127.0.0.1:${upstream.port}`,
      });
      if (service.status !== 201) throw new Error(`creating the service: ${JSON.stringify(service.json)}`);
      for (let i = 0; i < (opts.routes ?? 1); i++) {
        const path = i === 0 ? '/chaos' : `/chaos-${i}`;
        const route = await adminJson(cp.admin, 'POST', '/services/chaos/routes', {
          name: path.slice(1),
          paths: [path],
        });
        if (route.status !== 201) throw new Error(`creating a route: ${JSON.stringify(route.json)}`);
        fleet.paths.push(path);
      }
      for (let i = 0; i < (opts.dps ?? 1); i++) fleet.dps.push(await fleet.startDp(join(dir, `dp${i}`)));
      for (const dp of fleet.dps) await fleet.waitServing(dp);
    } catch (err) {
      await fleet.close();
      throw err;
    }
    return fleet;
  }

  /**
   * A fleet whose CP is on a fresh Postgres database (what CP replicas share), and `drop`, which
   * removes the database (call it after `close`). The database is dropped if the fleet cannot start.
   */
  static async onPostgres(opts: FleetOptions = {}): Promise<{ fleet: Fleet; drop: () => Promise<void> }> {
    const db = await createPostgresDatabase();
    try {
      const fleet = await Fleet.start({ ...opts, cpEnv: { ...opts.cpEnv, DATABASE_URL: db.url } });
      return { fleet, drop: () => db.drop() };
    } catch (err) {
      await db.drop();
      throw err;
    }
  }

  get admin(): string {
    if (this.cp === null) throw new Error('the control plane is down');
    return this.cp.admin;
  }

  /**
   * A data plane of this fleet's CP on `dataDir` (new ports each time). `extra.cluster` is the
   * `--control-plane` it is given (default: the port the fleet's DPs dial); `extra.args`, more
   * `gatehouse dp` arguments; `extra.nodeId`, its node id; `extra.env`, over the fleet's DP environment.
   */
  startDp(
    dataDir: string,
    waitReady = true,
    extra: { cluster?: string; args?: string[]; nodeId?: string; env?: NodeJS.ProcessEnv } = {},
  ): Promise<DpHandle> {
    return startDp({
      cluster: extra.cluster ?? `127.0.0.1:${this.dpClusterPort}`,
      publicKeys: this.publicKeys,
      ...(this.rootKey === null ? {} : { rootKey: this.rootKey }),
      dataDir,
      workers: this.workers,
      args: extra.args,
      nodeId: extra.nodeId,
      waitReady,
      env: { ...this.dpEnv, ...extra.env },
    });
  }

  /** Asks the test snapshot hook to act (`/tamper-next`, `/replay`…); its JSON answer. */
  async hookDo(action: string, body: unknown = {}): Promise<HookEvent> {
    if (this.hook === null) throw new Error('this fleet has no snapshot hook');
    const r = await fetch(`${this.hook}${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const json = (await r.json()) as HookEvent & { message?: string };
    if (!r.ok) throw new Error(`snapshot hook ${action}: ${r.status} ${json.message ?? ''}`);
    return json;
  }

  /** Until `dp` answers 200 on every route. */
  async waitServing(dp: DpHandle, timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      'the data plane serving every route',
      async () => {
        for (const p of this.paths) if ((await httpStatus(`${dp.proxy}${p}`)) !== 200) return false;
        return true;
      },
      timeoutMs,
    );
  }

  /** Stops the CP with `signal`; resolves when its process is gone. */
  async stopCp(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const cp = this.cp;
    if (cp === null) return;
    this.cp = null;
    if (signal === 'SIGKILL') await cp.proc.kill9();
    else await cp.proc.stop();
  }

  /**
   * Starts the CP again on its data folder, ports and environment (its DATABASE_URL, NATS_URL…);
   * resolves once its Admin API answers.
   */
  async restartCp(): Promise<CpHandle> {
    this.cp = await startCp({
      dataDir: this.cpDataDir,
      adminPort: this.adminPort,
      clusterPort: this.clusterPort,
      env: this.cpEnv,
      fromSource: this.hook !== null,
      priority: CP_PRIORITY,
    });
    return this.cp;
  }

  /**
   * Another CP replica of this fleet (the fleet's CP must be on Postgres: `cpEnv.DATABASE_URL`): its
   * own data folder, where the first CP's signing keys and cluster identity are copied, and its own
   * ports (`ports` to start it again on those of an earlier run).
   */
  startReplica(name: string, ports?: { adminPort: number; clusterPort: number }): Promise<CpHandle> {
    if (this.cpEnv.DATABASE_URL === undefined) throw new Error('a CP replica needs the fleet on Postgres');
    const dataDir = join(this.dir, `cp-${name}`);
    for (const sub of ['keys', 'cluster']) {
      const from = join(this.cpDataDir, sub);
      if (existsSync(from) && !existsSync(join(dataDir, sub)))
        cpSync(from, join(dataDir, sub), { recursive: true });
    }
    return startCp({ dataDir, env: this.cpEnv, args: ['--cp-id', name], ...ports, priority: CP_PRIORITY });
  }

  /** Lines a process logged at level error (50) or above since `from` characters of its output. */
  static errorLines(output: string, from = 0): string[] {
    return output
      .slice(from)
      .split('\n')
      .filter((line) => {
        const m = /"level":(\d+)/.exec(line);
        return m !== null && Number(m[1]) >= 50;
      });
  }

  async close(): Promise<void> {
    await Promise.all(this.dps.map((dp) => dp.proc.stop()));
    if (this.cp !== null) await this.cp.proc.stop();
    this.upstream.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
