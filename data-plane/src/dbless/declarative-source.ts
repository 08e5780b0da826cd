/**
 * The config source of a DB-less data plane: a declarative file (Kong's `_format_version: "3.0"`
 * YAML or JSON), read with `loadDeclarativeFile` and applied through the SnapshotApplier exactly
 * like a verified snapshot (every worker compiles and swaps it, the primary keeps its upstreams,
 * local version counter, hash of the canonical bytes).
 *
 * `start()` loads the file at boot and throws when it cannot be served (the DP does not start
 * without a config, as Kong refuses to start on a bad declarative_config). `reload()` (the
 * primary calls it on SIGHUP) reads the file again: a good file swaps in, a bad one is refused
 * with the reason logged and kept as `last_reload_error`, and the config served stays.
 *
 * Nothing is written to disk: the file is already the source of truth, and a DB-less DP has no
 * signing key, so a cached copy could not be verified the way a CP snapshot is.
 */
import { GatehouseError, isGatehouseError } from '@gatehouse/shared/errors';
import { sliceConfig } from '@gatehouse/shared/slices/slice';
import type { GatehouseConfig } from '@gatehouse/shared/config/model';
import type { Logger } from '@gatehouse/shared/logger';
import type { NodePlacement } from '@gatehouse/shared/slices/node';
import type { SnapshotApplier } from '../sync/snapshot-applier.js';
import { carryTimestamps } from './stable-timestamps.js';

export type DeclarativeLoader = (path: string) => Promise<GatehouseConfig>;

/**
 * A DB-less DP serves the slice of its file for its own `--region`/`--label`, by the same rules
 * as a CP (docs/regions-and-slices.md): one file can drive a whole fleet.
 */
export function slicedLoader(load: DeclarativeLoader, placement: NodePlacement): DeclarativeLoader {
  return async (path) => sliceConfig(await load(path), placement);
}

export interface DeclarativeError {
  code: string;
  message: string;
  /** The loader's details (e.g. every problem by path), when it gave any. */
  details?: Record<string, unknown>;
  at: string;
}

/** What `/status` shows under `declarative`. */
export interface DeclarativeStatus {
  file: string;
  /** When the config served was read from the file. */
  loaded_at: string | null;
  /** Reloads that swapped in a new config. */
  reloads: number;
  last_reload_at: string | null;
  /** Why the last reload was refused; null once a reload succeeds. */
  last_reload_error: DeclarativeError | null;
}

export type ReloadOutcome =
  | { ok: true; changed: boolean; version: string; hash: string }
  | { ok: false; code: string; message: string; details?: Record<string, unknown> };

export interface DeclarativeSourceOptions {
  file: string;
  applier: SnapshotApplier;
  load: DeclarativeLoader;
  logger: Logger;
}

export class DeclarativeSource {
  private loadedAt: Date | null = null;
  private reloadCount = 0;
  private lastReloadAt: Date | null = null;
  private lastReloadError: DeclarativeError | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** The config served, as applied (for carrying timestamps over on reload). */
  private served: GatehouseConfig | null = null;

  constructor(private readonly opts: DeclarativeSourceOptions) {}

  get file(): string {
    return this.opts.file;
  }

  get status(): DeclarativeStatus {
    return {
      file: this.opts.file,
      loaded_at: this.loadedAt?.toISOString() ?? null,
      reloads: this.reloadCount,
      last_reload_at: this.lastReloadAt?.toISOString() ?? null,
      last_reload_error: this.lastReloadError,
    };
  }

  /** Boot: read and serve the file; throws a GatehouseError naming why it cannot be served. */
  async start(): Promise<void> {
    const outcome = await this.read();
    if (!outcome.ok) {
      throw new GatehouseError(
        outcome.code,
        `cannot serve ${this.opts.file}: ${outcome.message}`,
        400,
        outcome.details,
      );
    }
    this.opts.logger.info(
      { file: this.opts.file, version: outcome.version, hash: outcome.hash },
      'serving the declarative config',
    );
  }

  /** Reads the file again and swaps it in if it is good; one reload at a time. Never throws. */
  reload(): Promise<ReloadOutcome> {
    const run = this.chain.then(() => this.reloadOnce());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    const { logger, file } = this.opts;
    const outcome = await this.read();
    this.lastReloadAt = new Date();
    if (!outcome.ok) {
      this.lastReloadError = {
        code: outcome.code,
        message: outcome.message,
        ...(outcome.details ? { details: outcome.details } : {}),
        at: this.lastReloadAt.toISOString(),
      };
      logger.error(
        { file, code: outcome.code, reason: outcome.message, details: outcome.details },
        'declarative config reload refused; keeping the config served',
      );
      return outcome;
    }
    this.lastReloadError = null;
    if (outcome.changed) this.reloadCount += 1;
    logger.info(
      { file, version: outcome.version, hash: outcome.hash, changed: outcome.changed },
      outcome.changed ? 'declarative config reloaded' : 'declarative config unchanged',
    );
    return outcome;
  }

  private async read(): Promise<ReloadOutcome> {
    let config: GatehouseConfig;
    const stampedFrom = Math.floor(Date.now() / 1000);
    try {
      config = carryTimestamps(this.served, await this.opts.load(this.opts.file), stampedFrom);
    } catch (e) {
      if (isGatehouseError(e)) return { ok: false, code: e.code, message: e.message, details: e.details };
      return { ok: false, code: 'GH_ERR_DP_INTERNAL', message: e instanceof Error ? e.message : String(e) };
    }
    const applied = await this.opts.applier.applyConfig(config, 'declarative');
    if (!applied.ok) return { ok: false, code: applied.code, message: applied.reason };
    if (applied.changed) this.served = config;
    if (applied.changed || this.loadedAt === null) this.loadedAt = new Date();
    return { ok: true, changed: applied.changed, version: applied.version.toString(), hash: applied.hash };
  }
}
