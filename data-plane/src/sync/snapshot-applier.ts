/**
 * Turns a signed snapshot into served config, or refuses it. One snapshot at a time:
 *   1. same hash as the one served -> nothing to swap (the newer version, if signed, is recorded);
 *   2. verify: signature by a key given at start (by kid), hash of the bytes, version newer
 *      than the one served;
 *   3. hand the verified bytes to every worker and, while they parse and compile them, parse
 *      and compile them once in the primary (compileRuntime: no pool, no timer) on another core.
 *      A config the primary cannot parse or compile fails the round as a worker refusal does:
 *      no worker keeps it, the old one stays;
 *   4. wait until every worker has swapped, then tell the compiler (the primary starts the
 *      node's active health checks for the new upstreams);
 *   5. write the signed snapshot to the disk cache (atomically).
 * Any failure leaves the served config as it was and comes back as a reason for the NACK.
 *
 * A DB-less data plane hands it plain configs read from a declarative file (`applyConfig`):
 * the same steps without the signature (there is none) and without the cache (the file is the
 * source); the version is a local counter and the hash that of the canonical bytes.
 */
import { EventEmitter } from 'node:events';
import {
  encodeConfig,
  isGatehouseError,
  parseSnapshotConfig,
  verifySnapshot,
  verifySnapshotBytes,
  withCredentialDigests,
  type GatehouseConfig,
  type Logger,
  type SignedSnapshot,
  type TrustedKeys,
} from '@gatehouse/shared';
import type { DataPlaneMetrics } from '../status/metrics.js';
import type { ConfigMeta } from '../workers/worker-pool.js';
import { SyncErrors } from './errors.js';
import type { SnapshotCache } from './snapshot-cache.js';

/**
 * Compiles a config without serving it and without side effects; throws when it cannot be
 * served. May return what to do once every worker serves it.
 */
export interface ConfigCompiler {
  compile(config: GatehouseConfig): (() => void) | void;
}

/**
 * Where verified configs go: the worker pool. `check` runs while the workers compile; when it
 * throws, the apply rejects with its error and no worker keeps the config.
 */
export interface ConfigTarget {
  apply(json: string, meta: ConfigMeta, check: () => void): Promise<void>;
}

export type SnapshotSource = 'control_plane' | 'cache' | 'declarative';

export interface HeldConfig {
  version: bigint;
  hash: string;
  source: SnapshotSource;
  appliedAt: Date;
}

export type SnapshotOutcome =
  | { ok: true; version: bigint; hash: string; changed: boolean }
  | { ok: false; version: bigint; hash: string; reason: string; code: string };

export interface SnapshotApplierOptions {
  /** Keys signed snapshots must verify with (a DB-less DP has none: it takes no snapshot). */
  trustedKeys: TrustedKeys;
  compiler: ConfigCompiler;
  target: ConfigTarget;
  cache: SnapshotCache;
  logger: Logger;
  metrics?: DataPlaneMetrics;
}

export interface SnapshotRejection {
  code: string;
  reason: string;
  version: bigint;
  hash: string;
}

export interface SnapshotApplierEvents {
  applied: [held: HeldConfig];
  rejected: [rejection: SnapshotRejection];
}

/** A config offered to the applier: a signed snapshot, or a plain config (DB-less). */
type Offer = { signed: SignedSnapshot } | { plain: GatehouseConfig };

/** An offer made ready to serve: verified (signed) or encoded (plain). */
interface Candidate {
  /** The config: a signed one's bytes are parsed here only while the workers parse them too. */
  config(): GatehouseConfig;
  json: string;
  version: bigint;
  hash: string;
  kid: string | null;
}

export class SnapshotApplier extends EventEmitter<SnapshotApplierEvents> {
  private heldConfig: HeldConfig | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SnapshotApplierOptions) {
    super();
  }

  /** The config every worker serves, or null before the first one. */
  get held(): HeldConfig | null {
    return this.heldConfig;
  }

  /** Applies snapshots strictly one after the other, in arrival order. Never throws. */
  handle(signed: SignedSnapshot, source: SnapshotSource): Promise<SnapshotOutcome> {
    return this.enqueue({ signed }, source);
  }

  /**
   * Serves a config that did not come signed (a DB-less DP's declarative file): compile, apply
   * to every worker, then hold it with the next local version. Same hash as served: nothing to
   * swap. In order with every other apply; never throws.
   */
  applyConfig(config: GatehouseConfig, source: SnapshotSource): Promise<SnapshotOutcome> {
    return this.enqueue({ plain: config }, source);
  }

  private enqueue(offer: Offer, source: SnapshotSource): Promise<SnapshotOutcome> {
    const run = this.chain.then(() => this.process(offer, source));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Boot: serve the cached snapshot (verified again) before any CP is reached. */
  async loadFromCache(): Promise<boolean> {
    const signed = await this.opts.cache.read();
    if (!signed) return false;
    const outcome = await this.handle(signed, 'cache');
    if (!outcome.ok) {
      this.opts.logger.error(
        { reason: outcome.reason, file: this.opts.cache.file },
        'cached snapshot refused; ignoring it',
      );
    }
    return outcome.ok;
  }

  private async process(offer: Offer, source: SnapshotSource): Promise<SnapshotOutcome> {
    const { logger, metrics } = this.opts;
    const held = this.heldConfig;
    // What the offer claims; a signed one is verified before it is believed.
    let version: bigint;
    let hash: string;
    let plain: Candidate | null = null;
    if ('signed' in offer) {
      ({ version, hash } = offer.signed);
    } else {
      // Digested as a CP digests a snapshot: workers never hold a clear key-auth key.
      const config = withCredentialDigests(offer.plain);
      const { bytes, hash: plainHash } = encodeConfig(config);
      version = (held?.version ?? 0n) + 1n;
      hash = plainHash;
      plain = { config: () => config, json: bytes.toString('utf8'), version, hash, kid: null };
    }
    try {
      if (held && held.hash === hash) {
        if (!('signed' in offer)) return { ok: true, version: held.version, hash, changed: false };
        await this.recordSameHash(offer.signed, held);
        return { ok: true, version, hash, changed: false };
      }
      const candidate = 'signed' in offer ? await this.verify(offer.signed, held) : plain!;
      const compiled: { served?: (() => void) | void } = {};
      await this.opts.target.apply(candidate.json, { version, hash }, () => {
        compiled.served = this.compile(candidate);
      });
      compiled.served?.();
      this.heldConfig = { version, hash, source, appliedAt: new Date() };
      metrics?.snapshotApplies.inc({ source });
      metrics?.configVersion.set(Number(version));
      metrics?.configAppliedAt.set(Date.now() / 1000);
      logger.info(
        {
          version: version.toString(),
          hash,
          ...(candidate.kid === null ? {} : { kid: candidate.kid }),
          source,
        },
        'config applied',
      );
      if ('signed' in offer && source !== 'cache') await this.writeCache(offer.signed);
      this.emit('applied', this.heldConfig);
      return { ok: true, version, hash, changed: true };
    } catch (e) {
      const code = isGatehouseError(e) ? e.code : 'GH_ERR_DP_INTERNAL';
      const reason = e instanceof Error ? e.message : String(e);
      metrics?.snapshotRejects.inc({ code });
      logger.warn({ code, reason, version: version.toString(), hash, source }, 'config refused');
      this.emit('rejected', { code, reason, version, hash });
      return { ok: false, version, hash, reason, code };
    }
  }

  private async verify(signed: SignedSnapshot, held: HeldConfig | null): Promise<Candidate> {
    const verified = await verifySnapshotBytes(signed, this.opts.trustedKeys, {
      currentVersion: held?.version ?? null,
    });
    const json = verified.bytes.toString('utf8');
    return {
      config: () => parseSnapshotConfig(json),
      json,
      version: verified.version,
      hash: verified.hash,
      kid: verified.kid,
    };
  }

  private compile(candidate: Candidate): (() => void) | void {
    const config = candidate.config();
    try {
      return this.opts.compiler.compile(config);
    } catch (e) {
      throw SyncErrors.compileFailed(
        `config ${candidate.version} does not compile: ${(e as Error).message}`,
        undefined,
        { cause: e },
      );
    }
  }

  /** Same bytes as served: nothing to swap; a newer signed version is recorded and cached. */
  private async recordSameHash(signed: SignedSnapshot, held: HeldConfig): Promise<void> {
    if (signed.version <= held.version) return;
    await verifySnapshot(signed, this.opts.trustedKeys, { currentVersion: held.version });
    this.heldConfig = { ...held, version: signed.version };
    this.opts.metrics?.configVersion.set(Number(signed.version));
    await this.writeCache(signed);
  }

  private async writeCache(signed: SignedSnapshot): Promise<void> {
    try {
      await this.opts.cache.write(signed);
    } catch (e) {
      // The workers serve it already; a NACK would misreport what runs. Count and log instead.
      this.opts.metrics?.cacheWriteFailures.inc();
      this.opts.logger.error({ err: e, file: this.opts.cache.file }, 'cannot write the snapshot cache');
    }
  }
}
