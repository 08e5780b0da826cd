/**
 * The primary's side of the worker processes (node:cluster). Forks `size` workers, feeds every
 * one the current config, and replaces any that dies; a replacement gets the current config
 * before it listens, so it never takes traffic it cannot route. With no config at all the
 * workers listen anyway (told `listen`) and answer 503 until one comes: a load balancer in front
 * gets an answer, not a refused connection.
 *
 * `apply()` is one round: the config goes to every live worker and the promise resolves only
 * once each has answered that it swapped (by round number). If any fails, dies or times out,
 * the round rejects with the reason and the workers that did swap are put back on the
 * previous config, so the pool never stays half-applied.
 *
 * Target health travels through the pool too: `broadcastHealth` sends the node's decisions to
 * every worker, a worker's passive change comes out as the `health` event, and a worker that
 * (re)applies a config is sent the node's unhealthy targets (`unhealthyTargets`) to catch up.
 */
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@gatehouse/shared';
import { CounterStore } from '../ratelimit/counter-store.js';
import { answerCounters, type SyncCounters } from '../ratelimit/local-policy.js';
import { ClusterPolicy } from '../ratelimit/cluster-policy.js';
import { SyncErrors } from '../sync/errors.js';
import {
  isWorkerToPrimary,
  WORKER_SETTINGS_ENV,
  type ConfigMessage,
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
  /** Bytes of each worker's proxy-cache memory store. */
  proxyCacheMemorySize?: number;
  /** Milliseconds between each worker's traffic reports (telemetry/); absent: workers record none. */
  trafficFlushMs?: number;
  /** Extra environment for the workers. */
  env?: NodeJS.ProcessEnv;
  /** Custom plugin folders each worker loads. */
  pluginDirs?: string[];
  /** Kong's trusted_ips for every worker's proxy. */
  trustedIps?: string[];
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
type Outcome = { ok: true } | { ok: false; reason: string; refused?: boolean };
type RoundResult = { ok: true } | { ok: false; reason: string; refused: boolean; late: Slot[] };

interface Waiter {
  msg: ConfigMessage;
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
  private readonly slots = new Map<number, Slot>();
  private current: Held | null = null;
  private pending: Held | null = null;
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
  private readonly drainTimeoutMs: number;
  /** The `local` rate-limiting policy's counters, shared by every worker of the node. */
  readonly counters: CounterStore;
  private ownCluster: SyncCounters | null = null;

  constructor(private readonly opts: WorkerPoolOptions) {
    super();
    if (!cluster.isPrimary) throw new Error('WorkerPool runs in the primary process only');
    if (!Number.isInteger(opts.size) || opts.size < 1)
      throw new RangeError(`workers must be >= 1, got ${opts.size}`);
    const entry = opts.exec ? { exec: opts.exec, execArgv: opts.execArgv ?? [] } : defaultWorkerEntry();
    this.exec = entry.exec;
    this.execArgv = opts.execArgv ?? entry.execArgv;
    this.applyTimeoutMs = opts.applyTimeoutMs ?? 15_000;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 10_000;
    this.counters = opts.counters ?? new CounterStore();
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

  /** Forks the workers and waits until each listens (with no config they answer 503). */
  async start(): Promise<void> {
    if (this.started) throw new Error('WorkerPool already started');
    this.started = true;
    const bootTimeoutMs = this.opts.bootTimeoutMs ?? 30_000;
    const boots: Promise<void>[] = [];
    for (let i = 0; i < this.opts.size; i += 1) boots.push(this.waitBoot(this.fork(), bootTimeoutMs));
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
   * `check` runs in this process once the config is on its way, while the workers compile it
   * (the primary's compile of what it needs, on another core); if it throws, the round fails with that error
   * exactly as if a worker had refused: the workers that swapped go back to the previous config.
   */
  apply(bytes: Uint8Array, meta: ConfigMeta, check?: () => void): Promise<void> {
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
      requestPolicy: this.opts.requestPolicy ?? {},
      tls: this.opts.tls ?? null,
      clientLimits: this.opts.clientLimits,
      proxyCacheMemorySize: this.opts.proxyCacheMemorySize,
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
    worker.on('message', (m: unknown) => {
      if (isWorkerToPrimary(m)) this.onWorkerMessage(slot, m);
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
        // A replacement (or a worker that booted during a round) gets the newest config at once.
        const desired = slot.waiter?.msg ?? this.pending?.msg ?? this.current?.msg;
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
      case 'applied': {
        slot.holds = m.seq;
        const unhealthy = this.opts.unhealthyTargets?.() ?? [];
        if (unhealthy.length > 0) this.sendHealth(slot, unhealthy);
        if (m.port !== null) this.boundPort = m.port;
        if (slot.waiter && m.seq === slot.waiter.msg.seq) slot.waiter.done({ ok: true });
        else if (m.seq === this.current?.msg.seq) this.emit('serving', this.serving);
        return;
      }
      case 'failed': {
        if (slot.waiter && m.seq === slot.waiter.msg.seq) {
          slot.waiter.done({
            ok: false,
            reason: `worker ${slot.worker.process.pid}: ${m.reason}`,
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

  private onWorkerExit(slot: Slot, code: number | null, signal: string | null): void {
    this.slots.delete(slot.worker.id);
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

  /** Sends a config; resolves once it is written to the worker's channel (or failed to be). */
  private send(slot: Slot, msg: ConfigMessage): Promise<void> {
    return new Promise((resolve) => {
      try {
        slot.worker.send(msg, () => resolve());
      } catch (e) {
        slot.waiter?.done({ ok: false, reason: `cannot send config to worker: ${(e as Error).message}` });
        resolve();
      }
    });
  }

  private async runRound(bytes: Uint8Array, meta: ConfigMeta, check?: () => void): Promise<void> {
    if (this.stopping) throw SyncErrors.applyFailed('worker pool is stopping');
    const seq = ++this.seq;
    const held: Held = {
      msg: { t: 'config', seq, version: meta.version.toString(), hash: meta.hash, bytes },
      meta,
    };
    this.pending = held;
    const round = this.collect([...this.slots.values()], held.msg, this.applyTimeoutMs);
    // The check blocks this event loop: run it once the config is written out (a pipe takes
    // only a little of it at once), so it overlaps the workers' parse and compile.
    await round.sent;
    let refusal: { error: unknown } | null = null;
    try {
      check?.();
    } catch (e) {
      refusal = { error: e };
    }
    const outcome = await round.answered;
    this.pending = null;
    if (outcome.ok && refusal === null) {
      this.current = held;
      this.emit('serving', this.serving);
      return;
    }
    await this.rollBack(seq);
    if (refusal !== null) throw refusal.error;
    if (!outcome.ok && outcome.refused) {
      throw SyncErrors.compileFailed(`config ${meta.version} does not compile: ${outcome.reason}`);
    }
    throw SyncErrors.applyFailed(`config ${meta.version} not applied: ${outcome.ok ? '' : outcome.reason}`);
  }

  /**
   * Sends `msg` to `slots`, waits for each answer. Booting slots get it when they are ready.
   * `sent`: every booted slot's copy is written out.
   */
  private collect(
    slots: Slot[],
    msg: ConfigMessage,
    timeoutMs: number,
  ): { sent: Promise<unknown>; answered: Promise<RoundResult> } {
    const sends: Promise<void>[] = [];
    const answered = new Promise<RoundResult>((resolve) => {
      let waiting = slots.length;
      let failure: string | null = null;
      let refused = false;
      const waiters = new Set(slots);
      const finish = () => {
        clearTimeout(timer);
        for (const s of slots) s.waiter = null;
        if (failure === null) resolve({ ok: true });
        else resolve({ ok: false, reason: failure, refused, late: [...waiters] });
      };
      const timer = setTimeout(() => {
        failure ??= `timed out after ${timeoutMs} ms waiting for ${waiters.size} worker(s)`;
        finish();
      }, timeoutMs);
      if (waiting === 0) {
        finish();
        return;
      }
      for (const slot of slots) {
        slot.waiter = {
          msg,
          done: (o) => {
            if (!waiters.delete(slot)) return;
            slot.waiter = null;
            if (!o.ok && failure === null) {
              failure = o.reason;
              refused = o.refused === true;
            }
            waiting -= 1;
            if (waiting === 0) finish();
          },
        };
        if (slot.booted) sends.push(this.send(slot, msg));
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
    // Once the round is over (answers in, or timed out), nothing more to wait for.
    return { sent: Promise.race([Promise.all(sends), answered]), answered };
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
    const outcome = await this.collect(swapped, this.current.msg, this.applyTimeoutMs).answered;
    if (!outcome.ok)
      this.opts.logger.error({ reason: outcome.reason }, 'roll back of a failed config round failed');
  }
}
