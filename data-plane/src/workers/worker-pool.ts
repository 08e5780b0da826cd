/**
 * The primary's side of the worker processes (node:cluster). Forks `size` workers, feeds every
 * one the current config, and replaces any that dies; a replacement gets the current config
 * before it listens, so it never takes traffic it cannot route. With no config at all the
 * workers listen anyway (told `listen`) and answer 503 until one comes: a load balancer in front
 * gets an answer, not a refused connection.
 *
 * `apply()` is one round in two steps: the config goes to every live worker, which compiles it
 * and holds it (`prepared`); only once every worker has, each is told to swap it in (`commit`)
 * and the promise resolves once each has answered that it swapped (by round number). If a worker
 * refuses the config, fails, dies or times out while compiling, the others drop it (`abort`):
 * no worker ever served it. Should one fail after the commit (it died in between), the workers
 * that swapped are put back on the previous config, so the pool never stays half-applied.
 * A worker booting outside a round gets the config served (compiled and swapped at once).
 *
 * Target health travels through the pool too: `broadcastHealth` sends the node's decisions to
 * every worker, a worker's passive change comes out as the `health` event, and a worker that
 * (re)applies a config is sent the node's unhealthy targets (`unhealthyTargets`) to catch up.
 */
import { isListenerCopy, returnListenerCopy } from '../proxy/listener-copies.js';
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@gatehouse/shared';
import { CounterStore } from '../ratelimit/counter-store.js';
import type { MetricsDelta } from '../observe/metric-store.js';
import { answerCounters, type SyncCounters } from '../ratelimit/local-policy.js';
import { ClusterPolicy } from '../ratelimit/cluster-policy.js';
import { LeaseBook } from '../ratelimit/leases.js';
import { GatehouseError } from '@gatehouse/shared/errors';
import { parseSnapshotConfig } from '@gatehouse/shared/snapshot/snapshot-config';
import { SyncErrors } from '../sync/errors.js';
import { nodeConfigOf, type NodeConfig } from '../runtime/node-config.js';
import {
  isWorkerToPrimary,
  WORKER_SETTINGS_ENV,
  type CommitMessage,
  type ConfigMessage,
  type GrantRedeemedMessage,
  type GrantRedeemMessage,
  type OAuth2RevokedMessage,
  type TargetHealthChange,
  type WorkerSettings,
  type WorkerToPrimary,
} from './protocol.js';

export interface WorkerPoolOptions {
  size: number;
  listen: { host: string; port: number };
  logger: Logger;
  /** Worker entry file; default: worker-main.js beside this module (worker-main.ts + tsx from source). */
  exec?: string;
  execArgv?: string[];
  /** Max wait for every worker to answer one apply round (default 15 s). */
  applyTimeoutMs?: number;
  /** Max time a worker spends draining in-flight requests at shutdown (default 10 s). */
  drainTimeoutMs?: number;
  /** Max wait for the first workers to boot in start() (default 30 s). */
  bootTimeoutMs?: number;
  /** Client connection limits (timeouts, per-IP cap) for every worker's proxy. */
  clientLimits?: WorkerSettings['clientLimits'];
  /** HTTP/2 at the edge for every worker's proxy. */
  http2?: WorkerSettings['http2'];
  /** Bytes of each worker's proxy-cache memory store. */
  proxyCacheMemorySize?: number;
  /** The HTTP/1.1 client of every worker's plain-HTTP upstreams. */
  upstreamClient?: WorkerSettings['upstreamClient'];
  /** The access log and syslog settings of every worker. */
  logs?: WorkerSettings['logs'];
  /** Milliseconds between each worker's traffic reports (telemetry/); absent: workers record none. */
  trafficFlushMs?: number;
  /** Extra environment for the workers. */
  env?: NodeJS.ProcessEnv;
  /** Custom plugin folders each worker loads. */
  pluginDirs?: string[];
  /** Kong's trusted_ips for every worker's proxy. */
  trustedIps?: string[];
  /** The DNS settings of every worker's resolver. */
  dns?: WorkerSettings['dns'];
  /** Request-line, path and header rules for every worker's proxy. */
  requestPolicy?: WorkerSettings['requestPolicy'];
  /** HTTPS listener settings handed to each worker. */
  tls?: WorkerSettings['tls'];
  /** The node's unhealthy targets, sent to a worker each time it applies a config. */
  unhealthyTargets?: () => TargetHealthChange[];
  /** The node's rate-limit counters (`local` policy) the workers ask over IPC; default a new store. */
  counters?: CounterStore;
  /** The node's `cluster` policy counters (made on first use); default: a policy without NATS. */
  clusterCounters?: () => SyncCounters;
  /** Redeems a worker's oauth2 grant at the control plane; absent: every redemption is 'unavailable'. */
  redeemGrant?: (m: GrantRedeemMessage) => Promise<GrantRedeemedMessage['result']>;
  /** The node's revoked oauth2 access tokens (oauth2/revoked-tokens.ts), sent to each worker as it boots. */
  revokedTokens?: () => OAuth2RevokedMessage['tokens'];
}

/** What the pool tells its owner. */
export interface WorkerPoolEvents {
  /** Worker processes alive (booted or booting). */
  workers: [alive: number];
  /** Workers serving the current config. */
  serving: [serving: number];
  /** A worker exited and a replacement is coming. */
  restart: [exit: { pid: number | undefined; code: number | null; signal: string | null }];
  /** A worker's passive checks changed a target's health. */
  health: [change: TargetHealthChange];
  /** A worker's metrics since its previous delta (an answer to `pullMetrics`, maybe late). */
  metrics: [worker: number, delta: MetricsDelta];
}

export interface ConfigMeta {
  version: bigint;
  hash: string;
}

interface Slot {
  worker: Worker;
  startedAt: number;
  booted: boolean;
  /** Round number of the config this worker serves; null until its first apply. */
  holds: number | null;
  /** The round this worker is part of: the config it was sent and who waits for the answer. */
  waiter: Waiter | null;
}

/**
 * A worker's answer. `refused`: the worker could not compile the config (it answered with a
 * Gatehouse error code), so the config is at fault; otherwise the worker failed (died, timed out).
 */
type Outcome =
  | { ok: true; node?: NodeConfig | null }
  | { ok: false; reason: string; code?: string | null; refused?: boolean };
type RoundResult =
  | { ok: true; node: NodeConfig | null }
  | { ok: false; reason: string; code: string | null; refused: boolean; late: Slot[] };

/**
 * A worker's part in a round step: `prepare` waits for `prepared`, `apply` for `applied` (after
 * a commit, or a config swapped at once).
 */
type Step = 'prepare' | 'apply';

interface Waiter {
  seq: number;
  step: Step;
  /** What to send a worker that is still booting once it is ready (a config; never a commit). */
  msg: ConfigMessage | null;
  done: (outcome: Outcome) => void;
}

interface Held {
  msg: ConfigMessage;
  meta: ConfigMeta;
}

/**
 * The worker entry and the flags to fork it with, for built (dist) or source (tsx) layouts.
 * `--expose-gc`: a worker collects its garbage right after applying a large config
 * (worker-runtime.ts).
 */
export function defaultWorkerEntry(): { exec: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(js)) return { exec: js, execArgv: ['--expose-gc'] };
  return {
    exec: fileURLToPath(new URL('./worker-main.ts', import.meta.url)),
    execArgv: ['--import', 'tsx', '--expose-gc'],
  };
}

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  private metricsSeq = 0;
  private readonly metricsPulls = new Map<number, { pending: Set<number>; finish: () => void }>();
  private readonly slots = new Map<number, Slot>();
  private current: Held | null = null;
  private seq = 0;
  private rounds: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private started = false;
  private quickDeaths = 0;
  private restartTimers = new Set<NodeJS.Timeout>();
  private boundPort: number | null = null;
  private restarts = 0;
  private readonly exec: string;
  private readonly execArgv: string[];
  private readonly applyTimeoutMs: number;
  private readonly bootTimeoutMs: number;
  private readonly drainTimeoutMs: number;
  /** The `local` rate-limiting policy's counters, shared by every worker of the node. */
  readonly counters: CounterStore;
  private ownCluster: SyncCounters | null = null;
  /** The `local` policy's allowance leases (workers admit from them without a message per request). */
  readonly leases: LeaseBook;

  constructor(private readonly opts: WorkerPoolOptions) {
    super();
    if (!cluster.isPrimary) throw new Error('WorkerPool runs in the primary process only');
    if (!Number.isInteger(opts.size) || opts.size < 1)
      throw new RangeError(`workers must be >= 1, got ${opts.size}`);
    const entry = opts.exec ? { exec: opts.exec, execArgv: opts.execArgv ?? [] } : defaultWorkerEntry();
    this.exec = entry.exec;
    this.execArgv = opts.execArgv ?? entry.execArgv;
    this.applyTimeoutMs = opts.applyTimeoutMs ?? 15_000;
    this.bootTimeoutMs = opts.bootTimeoutMs ?? 30_000;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 10_000;
    this.counters = opts.counters ?? new CounterStore();
    this.leases = new LeaseBook({
      workers: opts.size,
      send: (id, m) => {
        const slot = this.slots.get(id);
        if (slot === undefined) throw new Error(`no worker ${id}`);
        slot.worker.send(m);
      },
    });
    // One worker accepts its own connections. Node's default (round-robin) has the primary accept
    // every connection and hand it over IPC: a wake-up of the primary per connection, on the core
    // it shares with the worker. Several workers keep round-robin (the kernel's spread is uneven).
    // NODE_CLUSTER_SCHED_POLICY, when set, decides. Process-wide, fixed at the first fork.
    if (opts.size === 1 && process.env.NODE_CLUSTER_SCHED_POLICY === undefined)
      cluster.schedulingPolicy = cluster.SCHED_NONE;
  }

  /** The counters of the node's `cluster` policy (the DP's, or one of the pool's own without NATS). */
  private clusterStore(): SyncCounters {
    if (this.opts.clusterCounters) return this.opts.clusterCounters();
    if (!this.ownCluster) {
      const p = new ClusterPolicy({});
      this.ownCluster = { increment: (h, a) => p.incrementNow(h, a), usage: (h) => p.usageNow(h) };
    }
    return this.ownCluster;
  }

  /** Live worker processes (booted or booting). */
  get alive(): number {
    return this.slots.size;
  }

  /** Workers that listen and serve the current config. */
  get serving(): number {
    const seq = this.current?.msg.seq;
    let n = 0;
    for (const s of this.slots.values()) if (seq !== undefined && s.holds === seq) n += 1;
    return n;
  }

  get workerPids(): number[] {
    return [...this.slots.values()].map((s) => s.worker.process.pid ?? -1);
  }

  get restartCount(): number {
    return this.restarts;
  }

  /** The port the workers' proxy listens on (from start()), e.g. when started with port 0. */
  get port(): number | null {
    return this.boundPort;
  }

  get currentConfig(): ConfigMeta | null {
    return this.current?.meta ?? null;
  }

  /**
   * Forks the workers and waits until each listens (with no config they answer 503). The workers
   * are forked before the first await: a config applied while they boot (`apply`, e.g. the cached
   * snapshot at start) is given to each as it becomes ready, and it listens once that is swapped in.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('WorkerPool already started');
    this.started = true;
    const boots: Promise<void>[] = [];
    for (let i = 0; i < this.opts.size; i += 1) boots.push(this.waitBoot(this.fork(), this.bootTimeoutMs));
    try {
      await Promise.all(boots);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /**
   * Hands `bytes` (the config as UTF-8 JSON: the canonical bytes of a verified snapshot) to every
   * worker. Resolves once all have swapped; rejects with the reason otherwise (the previous
   * config stays). The pool keeps them (not a copy) to feed replacement workers.
   *
   * `check` runs in this process once every worker has compiled the config, before any swaps
   * it, with the config's node part (what the primary runs: upstreams, ...), which one worker
   * sends back; if it throws, the round fails with that error exactly as if a worker had refused.
   */
  apply(bytes: Uint8Array, meta: ConfigMeta, check?: (node: NodeConfig) => void): Promise<void> {
    const round = this.rounds.then(() => this.runRound(bytes, meta, check));
    this.rounds = round.catch(() => undefined);
    return round;
  }

  /** Sends target health decided on this node to every booted worker. */
  broadcastHealth(changes: TargetHealthChange[]): void {
    if (changes.length === 0) return;
    for (const slot of this.slots.values()) if (slot.booted) this.sendHealth(slot, changes);
  }

  /** Sends a proxy-cache purge to every booted worker (each holds its own memory store). */
  broadcastPurge(order: { pluginId: string | null; key: string | null }): void {
    for (const slot of this.slots.values()) {
      if (!slot.booted) continue;
      try {
        slot.worker.send({ t: 'proxy-cache-purge', pluginId: order.pluginId, key: order.key });
      } catch (e) {
        this.opts.logger.warn(
          { err: e, pid: slot.worker.process.pid },
          'cannot send a proxy-cache purge to worker',
        );
      }
    }
  }

  /** Sends oauth2 access tokens just revoked to every booted worker. */
  broadcastOAuth2Revocations(tokens: OAuth2RevokedMessage['tokens']): void {
    if (tokens.length === 0) return;
    for (const slot of this.slots.values()) if (slot.booted) this.sendRevoked(slot, tokens);
  }

  private sendRevoked(slot: Slot, tokens: OAuth2RevokedMessage['tokens']): void {
    try {
      slot.worker.send({ t: 'oauth2-revoked', tokens });
    } catch (e) {
      this.opts.logger.warn(
        { err: e, pid: slot.worker.process.pid },
        'cannot send oauth2 revocations to worker',
      );
    }
  }

  private sendHealth(slot: Slot, changes: TargetHealthChange[]): void {
    try {
      slot.worker.send({ t: 'health', changes });
    } catch (e) {
      this.opts.logger.warn({ err: e, pid: slot.worker.process.pid }, 'cannot send target health to worker');
    }
  }

  /** Stops every worker: each stops accepting, drains within the bound, exits. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.leases.close();
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    const exits = [...this.slots.values()].map((slot) => this.shutdownWorker(slot));
    await Promise.all(exits);
  }

  private async shutdownWorker(slot: Slot): Promise<void> {
    const { worker } = slot;
    if (worker.isDead()) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    try {
      worker.send({ t: 'shutdown', drainMs: this.drainTimeoutMs });
    } catch {
      worker.process.kill('SIGKILL');
    }
    const kill = setTimeout(() => {
      this.opts.logger.warn({ pid: worker.process.pid }, 'worker did not exit after draining; killing it');
      worker.process.kill('SIGKILL');
    }, this.drainTimeoutMs + 3_000);
    await exited;
    clearTimeout(kill);
  }

  private fork(): Slot {
    const settings: WorkerSettings = {
      host: this.opts.listen.host,
      port: this.opts.listen.port,
      drainTimeoutMs: this.drainTimeoutMs,
      pluginDirs: this.opts.pluginDirs ?? [],
      trustedIps: this.opts.trustedIps ?? [],
      ...(this.opts.dns === undefined ? {} : { dns: this.opts.dns }),
      requestPolicy: this.opts.requestPolicy ?? {},
      tls: this.opts.tls ?? null,
      clientLimits: this.opts.clientLimits,
      ...(this.opts.http2 === undefined ? {} : { http2: this.opts.http2 }),
      proxyCacheMemorySize: this.opts.proxyCacheMemorySize,
      upstreamClient: this.opts.upstreamClient,
      workers: this.opts.size,
      logs: this.opts.logs,
      trafficFlushMs: this.opts.trafficFlushMs,
    };
    // setupPrimary is process-wide; set it before each fork so this pool's settings apply.
    cluster.setupPrimary({ exec: this.exec, execArgv: this.execArgv, args: [], serialization: 'advanced' });
    const worker = cluster.fork({
      ...this.opts.env,
      GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? this.opts.logger.level,
      [WORKER_SETTINGS_ENV]: JSON.stringify(settings),
    });
    const slot: Slot = { worker, startedAt: Date.now(), booted: false, holds: null, waiter: null };
    this.slots.set(worker.id, slot);
    worker.on('message', (m: unknown, handle?: unknown) => {
      // A copy of the worker's listening socket, sent straight back (proxy/listener-copies.ts).
      if (handle !== undefined && handle !== null && isListenerCopy(m)) returnListenerCopy(worker, m, handle);
      else if (isWorkerToPrimary(m)) this.onWorkerMessage(slot, m);
    });
    worker.on('exit', (code, signal) => this.onWorkerExit(slot, code, signal));
    worker.on('error', (e) => this.opts.logger.warn({ err: e, pid: worker.process.pid }, 'worker IPC error'));
    this.emit('workers', this.alive);
    return slot;
  }

  private waitBoot(slot: Slot, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(
          SyncErrors.applyFailed(
            `worker ${slot.worker.process.pid} did not boot and listen within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const onMessage = (m: unknown) => {
        if (isWorkerToPrimary(m) && m.t === 'listening') {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(SyncErrors.applyFailed(`worker exited while booting (code ${code}, signal ${signal})`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        slot.worker.off('message', onMessage);
        slot.worker.off('exit', onExit);
      };
      slot.worker.on('message', onMessage);
      slot.worker.once('exit', onExit);
    });
  }

  private onWorkerMessage(slot: Slot, m: WorkerToPrimary): void {
    switch (m.t) {
      case 'ready': {
        slot.booted = true;
        // Before its config: the worker refuses revoked tokens from its first request.
        const revoked = this.opts.revokedTokens?.() ?? [];
        if (revoked.length > 0) this.sendRevoked(slot, revoked);
        // A worker in a round gets the round's config; a replacement the config served, at once.
        const desired = slot.waiter?.msg ?? this.current?.msg;
        if (desired) void this.send(slot, desired);
        else this.sendListen(slot);
        return;
      }
      case 'listening':
        if (m.port !== null) this.boundPort = m.port;
        return;
      case 'health':
        this.emit('health', m.change);
        return;
      case 'metrics':
        this.emit('metrics', slot.worker.id, m.delta);
        this.metricsAnswered(slot.worker.id, m.id);
        return;
      case 'counters':
        // Answered at once, on this one thread: every add is atomic across the workers.
        try {
          slot.worker.send(answerCounters(m.store === 'cluster' ? this.clusterStore() : this.counters, m));
        } catch (e) {
          this.opts.logger.warn(
            { err: e, pid: slot.worker.process.pid },
            'cannot answer rate-limit counters',
          );
        }
        return;
      case 'grant-redeem': {
        const redeem = this.opts.redeemGrant;
        const answer = (result: GrantRedeemedMessage['result']) => {
          if (slot.worker.isConnected()) slot.worker.send({ t: 'grant-redeemed', id: m.id, result });
        };
        if (redeem === undefined) answer('unavailable');
        else redeem(m).then(answer, () => answer('unavailable'));
        return;
      }
      case 'lease-ask':
        this.leases.onAsk(slot.worker.id, m);
        return;
      case 'lease-return':
        this.leases.onReturn(slot.worker.id, m);
        return;
      case 'applied': {
        slot.holds = m.seq;
        const unhealthy = this.opts.unhealthyTargets?.() ?? [];
        if (unhealthy.length > 0) this.sendHealth(slot, unhealthy);
        if (m.port !== null) this.boundPort = m.port;
        if (slot.waiter?.step === 'apply' && m.seq === slot.waiter.seq) slot.waiter.done({ ok: true });
        else if (m.seq === this.current?.msg.seq) this.emit('serving', this.serving);
        return;
      }
      case 'prepared':
        if (slot.waiter?.step === 'prepare' && m.seq === slot.waiter.seq)
          slot.waiter.done({ ok: true, node: m.node });
        return;
      case 'failed': {
        if (slot.waiter && m.seq === slot.waiter.seq) {
          slot.waiter.done({
            ok: false,
            reason: `worker ${slot.worker.process.pid}: ${m.reason}`,
            code: m.code,
            refused: m.code !== null,
          });
          return;
        }
        if (m.seq !== this.current?.msg.seq) return;
        // The current config (applied by the others) failed in a fresh worker: replace it.
        this.opts.logger.error(
          { pid: slot.worker.process.pid, reason: m.reason },
          'worker refused the current config',
        );
        slot.worker.process.kill('SIGKILL');
        return;
      }
    }
  }

  /**
   * Asks every booted worker for its metrics (each answer is emitted as `metrics`) and resolves
   * once all answered, or after `timeoutMs` (a late answer is still emitted, so nothing is lost).
   */
  pullMetrics(timeoutMs = 1_000): Promise<void> {
    const id = ++this.metricsSeq;
    const pending = new Set<number>();
    for (const slot of this.slots.values()) {
      if (!slot.booted) continue;
      try {
        slot.worker.send({ t: 'metrics-pull', id });
        pending.add(slot.worker.id);
      } catch (e) {
        this.opts.logger.warn({ err: e, pid: slot.worker.process.pid }, 'cannot ask worker for metrics');
      }
    }
    if (pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.metricsPulls.delete(id);
        resolve();
      };
      this.metricsPulls.set(id, { pending, finish });
    });
  }

  private metricsAnswered(worker: number, id: number): void {
    const pull = this.metricsPulls.get(id);
    if (pull === undefined) return;
    pull.pending.delete(worker);
    if (pull.pending.size === 0) pull.finish();
  }

  private onWorkerExit(slot: Slot, code: number | null, signal: string | null): void {
    this.slots.delete(slot.worker.id);
    this.leases.dropWorker(slot.worker.id);
    for (const [id] of this.metricsPulls) this.metricsAnswered(slot.worker.id, id);
    slot.waiter?.done({
      ok: false,
      reason: `worker ${slot.worker.process.pid} exited (code ${code}, signal ${signal})`,
    });
    this.emit('workers', this.alive);
    if (this.stopping) return;
    this.restarts += 1;
    this.emit('restart', { pid: slot.worker.process.pid, code, signal });
    const lived = Date.now() - slot.startedAt;
    this.quickDeaths = lived < 10_000 ? this.quickDeaths + 1 : 0;
    // A short pause even for the first restart: a signal that hits the whole process group
    // reaches the primary in the same instant, and stop() must win that race.
    const delay = this.quickDeaths > 1 ? Math.min(100 * 2 ** (this.quickDeaths - 1), 10_000) : 50;
    this.opts.logger.warn(
      { pid: slot.worker.process.pid, code, signal, restartInMs: delay },
      'worker exited; starting a replacement',
    );
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (!this.stopping) this.fork();
    }, delay);
    this.restartTimers.add(timer);
  }

  /** No config to serve: the worker listens anyway and answers 503 until one comes. */
  private sendListen(slot: Slot): void {
    try {
      slot.worker.send({ t: 'listen' });
    } catch (e) {
      this.opts.logger.warn({ err: e, pid: slot.worker.process.pid }, 'cannot tell worker to listen');
    }
  }

  /** Sends a config or a commit; resolves once it is written to the worker's channel (or failed to be). */
  private send(slot: Slot, msg: ConfigMessage | CommitMessage): Promise<void> {
    return new Promise((resolve) => {
      try {
        slot.worker.send(msg, () => resolve());
      } catch (e) {
        slot.waiter?.done({ ok: false, reason: `cannot send config to worker: ${(e as Error).message}` });
        resolve();
      }
    });
  }

  private async runRound(
    bytes: Uint8Array,
    meta: ConfigMeta,
    check?: (node: NodeConfig) => void,
  ): Promise<void> {
    if (this.stopping) throw SyncErrors.applyFailed('worker pool is stopping');
    const seq = ++this.seq;
    const held: Held = {
      msg: { t: 'config', seq, version: meta.version.toString(), hash: meta.hash, bytes },
      meta,
    };
    // Step one: every worker compiles it; one of them sends its node part back.
    const slots = [...this.slots.values()];
    const prepare: ConfigMessage = { ...held.msg, prepare: true };
    // A worker still booting (a config applied at start) has its boot time on top of the compile.
    const prepareTimeoutMs = slots.some((s) => !s.booted)
      ? this.bootTimeoutMs + this.applyTimeoutMs
      : this.applyTimeoutMs;
    const prepared = await this.collect(
      slots,
      'prepare',
      seq,
      (slot) => (slot === slots[0] ? { ...prepare, node: true } : prepare),
      prepareTimeoutMs,
    );
    if (!prepared.ok) {
      this.abort(seq);
      throw roundError(meta, prepared);
    }
    try {
      check?.(prepared.node ?? this.nodeConfigHere(bytes));
    } catch (e) {
      this.abort(seq);
      throw e;
    }
    // Step two: every worker compiled it; each swaps it in.
    const commit: CommitMessage = { t: 'commit', seq };
    const committed = await this.collect(slots, 'apply', seq, () => commit, this.applyTimeoutMs);
    if (!committed.ok) {
      await this.rollBack(seq);
      this.serveUnserved();
      throw roundError(meta, committed);
    }
    this.current = held;
    // Workers that booted during the round were given the previous config: now this one.
    for (const slot of this.slots.values()) {
      if (slot.booted && slot.waiter === null && !slots.includes(slot)) void this.send(slot, held.msg);
    }
    this.emit('serving', this.serving);
  }

  /** Tells every worker of a failed round to drop what it compiled for it. */
  private abort(seq: number): void {
    for (const slot of this.slots.values()) {
      if (!slot.booted) continue;
      try {
        slot.worker.send({ t: 'abort', seq });
      } catch {
        // A worker that cannot be told holds nothing it could serve without a commit.
      }
    }
    this.serveUnserved();
  }

  /**
   * After a failed round: a worker that booted into it (its first config) and serves nothing gets
   * the config served, or is told to listen without one (the proxy answers 503).
   */
  private serveUnserved(): void {
    for (const slot of this.slots.values()) {
      if (!slot.booted || slot.holds !== null) continue;
      if (this.current) void this.send(slot, this.current.msg);
      else this.sendListen(slot);
    }
  }

  /**
   * The node part when no worker sent one: the round had no worker (all were being replaced).
   * Parsed here; the replacements compile the config when they boot.
   */
  private nodeConfigHere(bytes: Uint8Array): NodeConfig {
    return nodeConfigOf(
      parseSnapshotConfig(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')),
    );
  }

  /**
   * Sends each of `slots` its message for one step of round `seq`, waits for each answer.
   * Booting slots get their (config) message when they are ready.
   */
  private collect(
    slots: Slot[],
    step: Step,
    seq: number,
    msgFor: (slot: Slot) => ConfigMessage | CommitMessage,
    timeoutMs: number,
  ): Promise<RoundResult> {
    return new Promise<RoundResult>((resolve) => {
      let waiting = slots.length;
      let failure: { reason: string; code: string | null; refused: boolean } | null = null;
      let node: NodeConfig | null = null;
      const waiters = new Set(slots);
      const finish = () => {
        clearTimeout(timer);
        for (const s of slots) if (s.waiter?.seq === seq) s.waiter = null;
        if (failure === null) resolve({ ok: true, node });
        else resolve({ ok: false, ...failure, late: [...waiters] });
      };
      const timer = setTimeout(() => {
        failure ??= {
          reason: `timed out after ${timeoutMs} ms waiting for ${waiters.size} worker(s)`,
          code: null,
          refused: false,
        };
        finish();
      }, timeoutMs);
      if (waiting === 0) {
        finish();
        return;
      }
      for (const slot of slots) {
        const msg = msgFor(slot);
        slot.waiter = {
          seq,
          step,
          msg: msg.t === 'config' ? msg : null,
          done: (o) => {
            if (!waiters.delete(slot)) return;
            slot.waiter = null;
            if (o.ok) node ??= o.node ?? null;
            else failure ??= { reason: o.reason, code: o.code ?? null, refused: o.refused === true };
            waiting -= 1;
            if (waiting === 0) finish();
          },
        };
        if (slot.booted) void this.send(slot, msg);
      }
    }).then((o) => {
      if (!o.ok) {
        for (const slot of o.late) {
          this.opts.logger.error(
            { pid: slot.worker.process.pid },
            'worker did not answer in time; replacing it',
          );
          slot.worker.process.kill('SIGKILL');
        }
      }
      return o;
    });
  }

  /** After a failed round: workers that took the new config go back to the previous one. */
  private async rollBack(failedSeq: number): Promise<void> {
    const swapped = [...this.slots.values()].filter((s) => s.holds === failedSeq);
    if (swapped.length === 0) return;
    if (!this.current) {
      // No previous config to go back to: these workers must not serve the refused one.
      for (const s of swapped) s.worker.process.kill('SIGKILL');
      return;
    }
    const msg = this.current.msg;
    const outcome = await this.collect(swapped, 'apply', msg.seq, () => msg, this.applyTimeoutMs);
    if (!outcome.ok)
      this.opts.logger.error({ reason: outcome.reason }, 'roll back of a failed config round failed');
  }
}

/** The error a failed round step rejects with: the worker's refusal of the config, or its failure. */
function roundError(meta: ConfigMeta, failed: { reason: string; code: string | null; refused: boolean }) {
  // A snapshot that is not a config: the worker's own code (the primary no longer parses it).
  if (failed.code?.startsWith('GH_ERR_SNAPSHOT_')) return new GatehouseError(failed.code, failed.reason, 400);
  if (failed.refused)
    return SyncErrors.compileFailed(`config ${meta.version} does not compile: ${failed.reason}`);
  return SyncErrors.applyFailed(`config ${meta.version} not applied: ${failed.reason}`);
}
