/**
 * Turns a signed snapshot into served config, or refuses it. One snapshot at a time:
 *   1. same hash as the one served -> nothing to swap (the newer version, if signed, is recorded);
 *   2. verify: signature by a key given at start (by kid), hash of the bytes, version newer
 *      than the one served;
 *   3. hand the verified bytes to every worker, which parses and compiles them and holds the
 *      result. The primary parses nothing: the workers' compile decides. A config a worker cannot
 *      compile (GH_ERR_DP_CONFIG_COMPILE; bytes that are not a config: GH_ERR_SNAPSHOT_MALFORMED)
 *      fails the round: no worker swaps it in, the old one stays everywhere;
 *   4. once every worker has compiled it, run the compiler on the node part one worker sent back
 *      (the primary compiles the upstreams, for the node's active health checks: no pool, no
 *      timer); if it refuses, the round fails the same way. Then every worker swaps; once all
 *      have, tell the compiler (the primary starts the health checks for the new upstreams);
 *   5. write the signed snapshot to the disk cache (atomically), then record its version as the
 *      highest accepted (`VersionFloor`).
 * Any failure leaves the served config as it was and comes back as a reason for the NACK; the
 * last refusal of each source is kept for /status (`lastRefusal`). The "config applied" log line
 * says how long the steps took (`verify_ms`, `compile_ms` for the primary's compiler,
 * `apply_ms` from handing the bytes out until every worker swapped, both steps).
 *
 * Rollback: a signed snapshot older than the highest version ever accepted (persisted, so it
 * survives a restart) is refused — the cached one at boot, and any from the stream — unless the
 * operator allows it (`allowRollback`). An unreadable floor refuses the boot cache only.
 *
 * Delta sync (`handleDelta`): a signed delta is verified (signature, base = the config served,
 * target newer), its ops applied to the served config's bytes (kept by the primary for this), and
 * the result taken only if it hashes to the signed full hash; then the same steps 3-5 as a full
 * snapshot. The disk cache gets the delta's JWS beside the full result (it verifies as a
 * snapshot: shared/src/snapshot/delta.ts). A refusal (GH_ERR_SNAPSHOT_DELTA_BASE when the base
 * is not the config served) leaves everything as it was; the CP then sends the full snapshot.
 *
 * A DB-less data plane hands it plain configs read from a declarative file (`applyConfig`):
 * the same steps without the signature (there is none) and without the cache (the file is the
 * source); the version is a local counter and the hash that of the canonical bytes.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { decodeProtectedHeader } from 'jose';
import {
  applyDelta,
  snapshotFromDelta,
  verifyDelta,
  type SignedDelta,
} from '@gatehouse/shared/snapshot/delta';
import { encodeConfig } from '@gatehouse/shared/snapshot/canonical';
import { isGatehouseError, SnapshotErrors } from '@gatehouse/shared/errors';
import { verifySnapshotBytes, type SignedSnapshot } from '@gatehouse/shared/snapshot/signed-snapshot';
import { withCredentialDigests } from '@gatehouse/shared/snapshot/credential-digests';
import type { GatehouseConfig } from '@gatehouse/shared/config/model';
import type { Logger } from '@gatehouse/shared/logger';
import type { TrustedKeys } from '@gatehouse/shared/snapshot/keys';
import type { NodeConfig } from '../runtime/node-config.js';
import type { DataPlaneMetrics } from '../status/metrics.js';
import type { ConfigMeta } from '../workers/worker-pool.js';
import { SyncErrorCode, SyncErrors } from './errors.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { VersionFloor } from './version-floor.js';

/**
 * Compiles what the primary runs of a config (its node part) without side effects; throws when
 * it cannot be served. May return what to do once every worker serves it.
 */
export interface ConfigCompiler {
  compile(node: NodeConfig): (() => void) | void;
}

/**
 * Where verified configs go (as UTF-8 JSON bytes): the worker pool. `check` runs once every
 * worker has compiled the config, before any swaps it in, with the config's node part; when it
 * throws, the apply rejects with its error and no worker swaps the config in.
 */
export interface ConfigTarget {
  apply(bytes: Uint8Array, meta: ConfigMeta, check: (node: NodeConfig) => void): Promise<void>;
}

export type SnapshotSource = 'control_plane' | 'cache' | 'declarative' | 'jetstream';

/** Where the newest applied signed snapshot is kept for the next boot: the disk cache. */
export type SnapshotStore = Pick<SnapshotCache, 'file' | 'encrypted' | 'load' | 'write'>;

export interface HeldConfig {
  version: bigint;
  hash: string;
  source: SnapshotSource;
  appliedAt: Date;
  /** The key id of the snapshot's signature; null for a plain (DB-less) config. */
  kid: string | null;
  /** When the signed snapshot expires (its `exp`, Unix seconds); null: it carries none. */
  expiresAt: number | null;
}

export type SnapshotOutcome =
  | { ok: true; version: bigint; hash: string; changed: boolean }
  | { ok: false; version: bigint; hash: string; reason: string; code: string };

export interface SnapshotApplierOptions {
  /** Keys signed snapshots must verify with (a DB-less DP has none: it takes no snapshot). */
  trustedKeys: TrustedKeys;
  compiler: ConfigCompiler;
  target: ConfigTarget;
  cache: SnapshotStore;
  /** The highest version accepted, persisted; none: no rollback protection across restarts. */
  floor?: VersionFloor;
  /** Accept a signed snapshot older than the floor (operator override). Default false. */
  allowRollback?: boolean;
  logger: Logger;
  metrics?: DataPlaneMetrics;
}

export interface SnapshotRejection {
  code: string;
  reason: string;
  version: bigint;
  hash: string;
  /** The key id the snapshot claims (from its JWS header, verified or not); null without one. */
  kid: string | null;
  source: SnapshotSource;
  at: Date;
}

/** A refusal as /status shows it. */
export interface RefusalReport {
  code: string;
  reason: string;
  version: string | null;
  hash: string | null;
  kid: string | null;
  at: string;
}

export interface SnapshotApplierEvents {
  applied: [held: HeldConfig];
  rejected: [rejection: SnapshotRejection];
}

/** A config offered to the applier: a signed snapshot, or a plain config (DB-less). */
type Offer = { signed: SignedSnapshot } | { plain: GatehouseConfig } | { delta: SignedDelta };

/** An offer made ready to serve: verified (signed) or encoded (plain). */
interface Candidate {
  /** The config as UTF-8 JSON (canonical). */
  bytes: Buffer;
  version: bigint;
  hash: string;
  kid: string | null;
  expiresAt: number | null;
  /** The JWS it was verified from (null: plain). */
  jws: string | null;
}

export class SnapshotApplier extends EventEmitter<SnapshotApplierEvents> {
  private heldConfig: HeldConfig | null = null;
  /** The canonical bytes of the config served (a delta's base). */
  private heldBytes: Buffer | null = null;
  /** The JWS of the config held (a snapshot's or a delta's); null for a plain config. */
  private heldJws: string | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  /** The last refusal of a snapshot from the CP (cleared when one is applied), and of the boot cache. */
  private readonly refusals: { control_plane: RefusalReport | null; cache: RefusalReport | null } = {
    control_plane: null,
    cache: null,
  };
  /**
   * The last time the boot cache's snapshot was good but the workers did not take it (one died or
   * timed out while booting into the round, GH_ERR_DP_CONFIG_APPLY): not a refusal of the snapshot.
   */
  private cacheApplyFailure: RefusalReport | null = null;

  constructor(private readonly opts: SnapshotApplierOptions) {
    super();
  }

  /** The config every worker serves, or null before the first one. */
  get held(): HeldConfig | null {
    return this.heldConfig;
  }

  /**
   * Why the last snapshot from the CP was refused (null once a later one is applied), or why the
   * cache was refused at boot.
   */
  lastRefusal(source: 'control_plane' | 'cache'): RefusalReport | null {
    return this.refusals[source];
  }

  /** Why the workers did not take the cached snapshot at boot though it passed every check, or null. */
  get lastCacheApplyFailure(): RefusalReport | null {
    return this.cacheApplyFailure;
  }

  /** Applies snapshots strictly one after the other, in arrival order. Never throws. */
  handle(signed: SignedSnapshot, source: SnapshotSource): Promise<SnapshotOutcome> {
    return this.enqueue({ signed }, source);
  }

  /**
   * Applies a delta from the CP to the config served (see the header); in order with every
   * other apply. Never throws.
   */
  handleDelta(delta: SignedDelta, source: SnapshotSource = 'control_plane'): Promise<SnapshotOutcome> {
    return this.enqueue({ delta }, source);
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

  /**
   * Boot: serve the cached snapshot (decrypted, verified again, not older than the highest
   * version accepted) before any CP is reached. A refusal is logged and kept for /status.
   */
  async loadFromCache(): Promise<boolean> {
    const { cache, logger } = this.opts;
    const loaded = await cache.load();
    if (loaded.status === 'none') return false;
    if (loaded.status === 'refused') {
      this.refusals.cache = {
        code: loaded.code,
        reason: loaded.reason,
        version: null,
        hash: null,
        kid: null,
        at: new Date().toISOString(),
      };
      logger.error(
        { code: loaded.code, reason: loaded.reason, file: cache.file },
        'snapshot cache refused; starting without it',
      );
      return false;
    }
    const outcome = await this.handle(loaded.snapshot, 'cache');
    if (!outcome.ok) {
      logger.error(
        { code: outcome.code, reason: outcome.reason, file: cache.file },
        outcome.code === SyncErrorCode.APPLY
          ? 'cached snapshot not applied: a worker failed while taking it (the snapshot was not refused)'
          : 'cached snapshot refused; ignoring it',
      );
      return false;
    }
    // A cache written before the key was set: keep it on disk encrypted from now on.
    if (cache.encrypted && !loaded.encrypted) await this.writeCache(loaded.snapshot);
    return true;
  }

  private async process(offer: Offer, source: SnapshotSource): Promise<SnapshotOutcome> {
    const { logger, metrics } = this.opts;
    const held = this.heldConfig;
    const started = performance.now();
    // What the offer claims; a signed one is verified before it is believed.
    let version: bigint;
    let hash: string;
    let plain: Candidate | null = null;
    if ('signed' in offer) {
      ({ version, hash } = offer.signed);
    } else if ('delta' in offer) {
      ({ version, hash } = offer.delta);
    } else {
      // Digested as a CP digests a snapshot: workers never hold a clear key-auth key.
      const config = withCredentialDigests(offer.plain);
      const { bytes, hash: plainHash } = encodeConfig(config);
      version = (held?.version ?? 0n) + 1n;
      hash = plainHash;
      plain = { bytes, version, hash, kid: null, expiresAt: null, jws: null };
    }
    try {
      if (held && held.hash === hash) {
        if (!('signed' in offer)) return { ok: true, version: held.version, hash, changed: false };
        await this.recordSameHash(offer.signed, held);
        return { ok: true, version, hash, changed: false };
      }
      const candidate =
        'signed' in offer
          ? await this.verify(offer.signed, held)
          : 'delta' in offer
            ? await this.verifyDelta(offer.delta, held)
            : plain!;
      if (!('plain' in offer)) this.checkFloor(version, source);
      const verified = performance.now();
      const compiled: { served?: (() => void) | void; ms: number } = { ms: 0 };
      await this.opts.target.apply(candidate.bytes, { version, hash }, (node) => {
        const t = performance.now();
        compiled.served = this.compile(candidate, node);
        compiled.ms = performance.now() - t;
      });
      const swapped = performance.now();
      compiled.served?.();
      this.heldConfig = {
        version,
        hash,
        source,
        appliedAt: new Date(),
        kid: candidate.kid,
        expiresAt: candidate.expiresAt,
      };
      this.heldBytes = candidate.bytes;
      this.heldJws = candidate.jws;
      metrics?.snapshotApplies.inc({ source });
      if ('delta' in offer) metrics?.deltaApplies.inc();
      metrics?.configVersion.set(Number(version));
      metrics?.configAppliedAt.set(Date.now() / 1000);
      metrics?.setConfigHash(hash);
      logger.info(
        {
          version: version.toString(),
          hash,
          ...(candidate.kid === null ? {} : { kid: candidate.kid }),
          source,
          ...('delta' in offer ? { delta: true } : {}),
          verify_ms: Math.round(verified - started),
          compile_ms: Math.round(compiled.ms),
          apply_ms: Math.round(swapped - verified),
        },
        'config applied',
      );
      if (!('plain' in offer)) {
        if ('delta' in offer) await this.writeCache(snapshotFromDelta(offer.delta, candidate.bytes));
        else if (source !== 'cache') await this.writeCache(offer.signed);
        await this.opts.floor?.record(version, hash);
        if (source === 'control_plane') this.refusals.control_plane = null;
      }
      this.emit('applied', this.heldConfig);
      return { ok: true, version, hash, changed: true };
    } catch (e) {
      const code = isGatehouseError(e) ? e.code : 'GH_ERR_DP_INTERNAL';
      const reason = e instanceof Error ? e.message : String(e);
      const kid =
        'signed' in offer
          ? claimedKid(offer.signed.jws)
          : 'delta' in offer
            ? claimedKid(offer.delta.jws)
            : null;
      metrics?.snapshotRejects.inc({ code });
      if ('delta' in offer) metrics?.deltaRejects.inc({ code });
      logger.warn(
        {
          code,
          reason,
          version: version.toString(),
          hash,
          kid,
          source,
          ...('delta' in offer ? { delta: true } : {}),
        },
        'config refused',
      );
      const at = new Date();
      const report = { code, reason, version: version.toString(), hash, kid, at: at.toISOString() };
      // A worker that died or timed out in the round (GH_ERR_DP_CONFIG_APPLY) says nothing of the
      // snapshot: the boot cache's is kept apart from its refusals.
      if (source === 'cache' && code === SyncErrorCode.APPLY) this.cacheApplyFailure = report;
      else if (source === 'control_plane' || source === 'cache') this.refusals[source] = report;
      this.emit('rejected', { code, reason, version, hash, kid, source, at });
      return { ok: false, version, hash, reason, code };
    }
  }

  /** Refuses a (verified) signed version below the highest accepted, unless allowed. */
  private checkFloor(version: bigint, source: SnapshotSource): void {
    const floor = this.opts.floor;
    if (!floor || this.opts.allowRollback) return;
    const override = 'start the data plane with --allow-version-rollback to accept it';
    if ((source === 'cache' || source === 'jetstream') && floor.unreadable !== null) {
      throw SyncErrors.rollback(
        `the highest version accepted is unknown (${floor.unreadable}); not serving the ${source === 'cache' ? 'cached' : 'stored'} snapshot ${version} until the control plane is reached (${override})`,
      );
    }
    const highest = floor.version;
    if (highest !== null && version < highest) {
      throw SyncErrors.rollback(
        `snapshot version ${version} is older than the highest version this data plane has accepted (${highest}): refused as a rollback (${override})`,
      );
    }
  }

  private async verify(signed: SignedSnapshot, held: HeldConfig | null): Promise<Candidate> {
    const verified = await verifySnapshotBytes(signed, this.opts.trustedKeys, {
      currentVersion: held?.version ?? null,
    });
    const { bytes } = verified;
    return {
      bytes,
      version: verified.version,
      hash: verified.hash,
      kid: verified.kid,
      expiresAt: verified.claims.exp ?? null,
      jws: signed.jws,
    };
  }

  /** Verifies a delta against the config served, applies it and checks the result's hash. */
  private async verifyDelta(delta: SignedDelta, held: HeldConfig | null): Promise<Candidate> {
    const base = held && this.heldBytes ? { hash: held.hash, version: held.version } : null;
    const verified = await verifyDelta(delta, this.opts.trustedKeys, base);
    const { bytes, hash } = applyDelta(this.heldBytes!, verified.ops);
    if (hash !== verified.claims.hash || bytes.length !== verified.claims.size) {
      throw SnapshotErrors.hashMismatch(
        `the config the delta gives hashes to ${hash}, not to the signed ${verified.claims.hash}`,
      );
    }
    return {
      bytes,
      version: delta.version,
      hash,
      kid: verified.kid,
      expiresAt: verified.claims.exp ?? null,
      jws: delta.jws,
    };
  }

  private compile(candidate: Candidate, node: NodeConfig): (() => void) | void {
    try {
      return this.opts.compiler.compile(node);
    } catch (e) {
      throw SyncErrors.compileFailed(
        `config ${candidate.version} does not compile: ${(e as Error).message}`,
        undefined,
        { cause: e },
      );
    }
  }

  /**
   * Same bytes as served: nothing to swap. A newer signed version, or the same version signed
   * again (the CP's signing key was rotated, a new revocation list, a later expiry), is verified,
   * recorded and cached — so the cache is signed by the key the CP signs with now, and still
   * verifies at boot once the old key is no longer trusted.
   */
  private async recordSameHash(signed: SignedSnapshot, held: HeldConfig): Promise<void> {
    if (signed.version < held.version) return;
    if (signed.version === held.version && signed.jws === this.heldJws) return;
    const verified = await verifySnapshotBytes(signed, this.opts.trustedKeys, {
      currentVersion: held.version,
      allowSameVersion: true,
    });
    // The signed hash, not only the message's: these are the bytes being served.
    if (verified.hash !== held.hash) {
      throw SnapshotErrors.hashMismatch('snapshot claims the served hash but signs other bytes');
    }
    this.heldConfig = {
      ...held,
      version: signed.version,
      kid: verified.kid,
      expiresAt: verified.claims.exp ?? null,
    };
    this.heldJws = signed.jws;
    this.opts.metrics?.configVersion.set(Number(signed.version));
    await this.writeCache(signed);
    await this.opts.floor?.record(signed.version, signed.hash);
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

/** The kid a compact JWS claims in its header (not verified), or null. */
function claimedKid(jws: string): string | null {
  try {
    const kid = decodeProtectedHeader(jws).kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}
