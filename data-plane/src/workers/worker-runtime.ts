/**
 * What runs inside each worker process: one proxy, fed configs by the primary over IPC. The
 * worker listens once its first config is applied, or at once when the primary says there is no
 * configuration to serve (`listen`: the proxy then answers 503 until one comes), so a worker
 * replacing another never answers 503 while a config exists. Configs are applied one at a time,
 * in the order they arrive.
 *
 * An apply round has two steps, so that no worker serves a config before every worker has
 * compiled it: `config` with `prepare` parses and compiles it (answering `prepared`, or `failed`
 * with the compile error), and the round's `commit` swaps it in (`applied`), or `abort` drops it.
 * A `config` without `prepare` (a worker replacing another, a roll back) does both at once.
 *
 * Target health: the worker runs no active check (the primary does, once per node); it takes
 * the health the primary sends and reports the changes its own passive checks make.
 *
 * Memory: a config's bytes, their text and the parsed tree are garbage once the proxy has
 * compiled it (for 10,000 services: ~12 MiB of bytes, as much text, ~40 MiB of parse and compile
 * litter). A busy proxy rarely runs a full collection, so that litter would sit in the old
 * generation and the RSS would stay at the apply's peak: after applying a large config the
 * worker collects at once (`gc`, exposed by WorkerPool's `--expose-gc`), once the primary has
 * its answer. The bytes are dropped as soon as they are parsed.
 */
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isGatehouseError } from '@gatehouse/shared/errors';
import { parseSnapshotConfig } from '@gatehouse/shared/snapshot/snapshot-config';
import type { GatehouseConfig } from '@gatehouse/shared/config/model';
import type { Logger } from '@gatehouse/shared/logger';
import type { HealthListener } from '../balancer/upstream-balancer.js';
import { applyPurge } from '../plugins/proxy-cache/store.js';
import { nodeConfigOf, type NodeConfig } from '../runtime/node-config.js';
import { metricStore } from '../observe/metric-store.js';
import type { TlsPolicy } from '@gatehouse/shared';
import { revokedTokens } from '../plugins/oauth2/revoked-tokens.js';
import {
  isPrimaryToWorker,
  type CommitMessage,
  type ConfigMessage,
  type TargetHealthChange,
  type WorkerSettings,
  type WorkerToPrimary,
} from './protocol.js';

/**
 * The part of dp-proxy's ProxyServer a worker drives: `compile` has no side effects (it throws
 * when the config cannot be served), `swap` serves what it compiled.
 */
export interface WorkerProxy<Compiled = unknown> {
  compile(config: GatehouseConfig): Compiled;
  swap(compiled: Compiled): void;
  /** Resolves the config's host names before it is compiled (bounded wait; never rejects). */
  prime?(config: GatehouseConfig): Promise<void>;
  listen(port: number, host: string): Promise<void>;
  listenTls?(
    port: number,
    host: string,
    defaultCertificate?: { cert: string; key: string },
    policy?: TlsPolicy,
  ): Promise<void>;
  close(): Promise<void>;
  readonly server: Server;
  /** The proxy's upstream balancers, when it has any (the echo fixture has none). */
  readonly balancers?: {
    subscribe(listener: HealthListener): () => void;
    applyNodeHealth(changes: readonly TargetHealthChange[]): void;
  };
}

export interface WorkerRuntimeOptions<Compiled = unknown> {
  proxy: WorkerProxy<Compiled>;
  settings: WorkerSettings;
  logger: Logger;
  /** IPC send; defaults to process.send. */
  send?: (m: WorkerToPrimary) => void;
  /** Exit; defaults to process.exit. */
  exit?: (code: number) => void;
  /** A full garbage collection; defaults to `gc` when exposed (--expose-gc), else nothing. */
  collectGarbage?: () => void;
}

/** Configs at least this large (bytes) are followed by a full collection. */
export const COLLECT_AFTER_BYTES = 1024 * 1024;

const NO_BYTES = new Uint8Array(0);

/** The exposed `gc` (node --expose-gc), or nothing. */
const exposedGc = (): void => (globalThis as { gc?: () => void }).gc?.();

/**
 * The config a message carries (completed with the entity lists it lacks; a snapshot that is
 * not a config throws GH_ERR_SNAPSHOT_MALFORMED). Takes its bytes out of the message, so they
 * can go once they are parsed.
 */
export function takeConfig(m: ConfigMessage): GatehouseConfig {
  const { bytes } = m;
  m.bytes = NO_BYTES;
  return parseSnapshotConfig(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

/** A config compiled for a round, waiting for the round's commit. */
interface Prepared<Compiled> {
  msg: ConfigMessage;
  compiled: Compiled;
  large: boolean;
  /** The stage times, logged once it is swapped in. */
  log: object;
}

/** A failed IPC send: the primary is gone; 'disconnect' follows and drains this worker. */
const ignoreSendError = (): void => undefined;

export class WorkerRuntime<Compiled = unknown> {
  private listening = false;
  private prepared: Prepared<Compiled> | null = null;
  private draining = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly send: (m: WorkerToPrimary) => void;
  private readonly exit: (code: number) => void;
  private readonly collectGarbage: () => void;

  constructor(private readonly opts: WorkerRuntimeOptions<Compiled>) {
    this.send =
      opts.send ??
      ((m) => {
        // With a callback, a channel that closes under the write (the primary died: EPIPE) is
        // reported to it instead of being thrown as an 'error' event that would crash the worker
        // before its 'disconnect' handler drains it.
        if (process.connected) process.send?.(m, undefined, undefined, ignoreSendError);
      });
    this.exit = opts.exit ?? ((code) => process.exit(code));
    this.collectGarbage = opts.collectGarbage ?? exposedGc;
  }

  /** Wires IPC and signals of the current process and tells the primary the worker is up. */
  attachToProcess(): void {
    process.on('message', (m: unknown) => this.onMessage(m));
    // Ctrl-C reaches the whole process group; the primary coordinates the shutdown over IPC.
    process.on('SIGINT', () => undefined);
    process.on('SIGTERM', () => void this.drainAndExit(this.opts.settings.drainTimeoutMs));
    // The primary is gone: nobody will feed configs or replace us. Drain and leave.
    process.on('disconnect', () => void this.drainAndExit(this.opts.settings.drainTimeoutMs));
    this.reportPassiveHealth();
    this.send({ t: 'ready' });
  }

  /** Every health change counted here (passive checks) goes to the primary, which tells the others. */
  reportPassiveHealth(): void {
    this.opts.proxy.balancers?.subscribe((upstream, target, healthy, cause) =>
      this.send({ t: 'health', change: { upstream: upstream.id, target: target.authority, healthy, cause } }),
    );
  }

  onMessage(m: unknown): void {
    if (!isPrimaryToWorker(m)) return;
    if (m.t === 'shutdown') {
      void this.drainAndExit(m.drainMs);
      return;
    }
    if (m.t === 'health') {
      this.opts.proxy.balancers?.applyNodeHealth(m.changes);
      return;
    }
    if (m.t === 'proxy-cache-purge') {
      const removed = applyPurge({ pluginId: m.pluginId, key: m.key });
      this.opts.logger.debug({ plugin_id: m.pluginId, key: m.key, removed }, 'proxy-cache purged');
      return;
    }
    if (m.t === 'oauth2-revoked') {
      revokedTokens().add(Array.isArray(m.tokens) ? m.tokens : []);
      return;
    }
    if (m.t === 'metrics-pull') {
      this.send({ t: 'metrics', id: m.id, delta: metricStore.drain() });
      return;
    }
    if (m.t === 'listen') {
      this.chain = this.chain.then(() => this.listenWithout());
      return;
    }
    if (m.t === 'commit') {
      this.chain = this.chain.then(() => this.commit(m));
      return;
    }
    if (m.t === 'abort') {
      this.chain = this.chain.then(() => this.abort(m.seq));
      return;
    }
    this.chain = this.chain.then(() => (m.prepare ? this.prepare(m) : this.applyConfig(m)));
  }

  /** Listens with no configuration (the proxy answers 503); a failure to listen ends the worker. */
  private async listenWithout(): Promise<void> {
    if (this.draining || this.listening) return;
    try {
      await this.startListening();
    } catch (e) {
      this.opts.logger.fatal({ err: e }, 'cannot listen');
      this.exit(1);
    }
  }

  private async startListening(): Promise<void> {
    const { proxy, settings, logger } = this.opts;
    await proxy.listen(settings.port, settings.host);
    if (settings.tls && proxy.listenTls) {
      const { host, port, cert, key, policy } = settings.tls;
      await proxy.listenTls(port, host, { cert, key }, policy);
    }
    this.listening = true;
    logger.info(
      { host: settings.host, port: this.port(), tls_port: settings.tls?.port ?? null },
      'worker accepting traffic',
    );
    this.send({ t: 'listening', port: this.port() });
  }

  /**
   * Parses and compiles a config (no side effects), with its node part when the message asks
   * for it; the stage times go to the debug log ("config applied" once it is swapped in).
   */
  private async compile(
    m: ConfigMessage,
  ): Promise<{ compiled: Compiled; node: NodeConfig | null; log: object }> {
    const started = performance.now();
    const config = takeConfig(m);
    // The first resolution of its host names happens here, before the compile reads them.
    const resolving = performance.now();
    await this.opts.proxy.prime?.(config);
    const cpu = process.cpuUsage();
    const parsed = performance.now();
    // Read before the compile, which may take the config's lists over.
    const node = m.node ? nodeConfigOf(config) : null;
    const compiled = this.opts.proxy.compile(config);
    const used = process.cpuUsage(cpu);
    const log = {
      version: m.version,
      hash: m.hash,
      parse_ms: Math.round(resolving - started),
      dns_ms: Math.round(parsed - resolving),
      compile_ms: Math.round(performance.now() - parsed),
      cpu_ms: Math.round((used.user + used.system) / 1000),
    };
    return { compiled, node, log };
  }

  /** Step one of a round: compile and hold; answer `prepared` (with the node part if asked). */
  private async prepare(m: ConfigMessage): Promise<void> {
    if (this.draining) return;
    const large = m.bytes.byteLength >= COLLECT_AFTER_BYTES;
    this.prepared = null;
    try {
      const { compiled, node, log } = await this.compile(m);
      this.prepared = { msg: m, compiled, large, log };
      this.send({ t: 'prepared', seq: m.seq, node });
    } catch (e) {
      this.refuse(m, e);
      if (large) await this.collectSoon();
    }
  }

  /** Step two: swap in the config prepared for round `seq`. */
  private async commit(c: CommitMessage): Promise<void> {
    if (this.draining) return;
    const prepared = this.prepared;
    this.prepared = null;
    if (prepared === null || prepared.msg.seq !== c.seq) {
      this.send({ t: 'failed', seq: c.seq, reason: `no config prepared for round ${c.seq}`, code: null });
      return;
    }
    await this.swapIn(prepared.msg, prepared.compiled, prepared.log);
    if (prepared.large) await this.collectSoon();
  }

  /** The round failed elsewhere: the config compiled for it is dropped. */
  private async abort(seq: number): Promise<void> {
    const prepared = this.prepared;
    if (prepared === null || prepared.msg.seq !== seq) return;
    this.prepared = null;
    if (prepared.large) await this.collectSoon();
  }

  /** Compiles and swaps at once (a worker replacing another, a roll back). */
  private async applyConfig(m: ConfigMessage): Promise<void> {
    if (this.draining) return;
    const large = m.bytes.byteLength >= COLLECT_AFTER_BYTES;
    try {
      const { compiled, log } = await this.compile(m);
      await this.swapIn(m, compiled, log);
    } catch (e) {
      this.refuse(m, e);
    }
    if (large) await this.collectSoon();
  }

  private async swapIn(m: ConfigMessage, compiled: Compiled, log: object): Promise<void> {
    try {
      this.opts.proxy.swap(compiled);
      if (!this.listening) await this.startListening();
      this.opts.logger.debug(log, 'config applied');
      this.send({ t: 'applied', seq: m.seq, version: m.version, hash: m.hash, port: this.port() });
    } catch (e) {
      this.refuse(m, e);
    }
  }

  private refuse(m: ConfigMessage, e: unknown): void {
    const reason = e instanceof Error ? e.message : String(e);
    this.opts.logger.error({ err: e, version: m.version }, 'config not applied');
    this.send({ t: 'failed', seq: m.seq, reason, code: isGatehouseError(e) ? e.code : null });
  }

  /** A full collection once the answer is out: the pause delays no apply round. */
  private collectSoon(): Promise<void> {
    return new Promise<void>((resolve) => setImmediate(() => resolve(this.collectGarbage())));
  }

  private port(): number | null {
    const a = this.opts.proxy.server.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  /** Stops accepting, waits for in-flight requests for at most drainMs, then exits. */
  async drainAndExit(drainMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const { proxy, logger } = this.opts;
    const server = proxy.server;
    if (this.listening) {
      // Keep-alive connections that go idle while we drain are closed as soon as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      let timer: NodeJS.Timeout | undefined;
      const closed = proxy.close().then(
        () => 'drained' as const,
        (e: unknown) => {
          logger.warn({ err: e }, 'proxy close failed');
          return 'drained' as const;
        },
      );
      const outcome = await Promise.race([
        closed,
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), drainMs);
        }),
      ]);
      clearInterval(sweep);
      clearTimeout(timer);
      if (outcome === 'timeout')
        logger.warn({ drainMs }, 'drain bound reached; closing remaining connections');
      server.closeAllConnections();
    }
    this.exit(0);
  }
}
