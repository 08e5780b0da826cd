/**
 * Delta sync on the CP side: the configs recently handed out (bounded), and the signed delta
 * from one of them to a newer one, built once per (base, target) pair and shared by every DP
 * that holds that base.
 *
 * - `remember` keeps each snapshot handed to DPs (whole config or slice), keyed by its hash: only
 *   the signed snapshot object (compressed bytes) is kept, the last `maxConfigs` (16) of them.
 *   A config is decompressed and indexed (per entity) only when a delta from or to it is asked
 *   for; the last few indexes are kept.
 * - `deltaFor(baseHash, target)` gives the signed delta, or the reason to send the full snapshot:
 *   `unknown_base` (the base is not among the configs kept: never seen by this CP, or too old),
 *   `not_smaller` (the delta message would not be smaller than the full one), `most_of_config`
 *   (its ops are more than half the target config: cheaper for the DP in full), `undiffable` (a
 *   top-level member a delta may not name), `error` (building it failed; logged).
 * The ops bytes are deterministic (shared/src/snapshot/delta.ts): replicas build the same ones;
 * only the JWS around them (issued-at, CP id) differs, as for snapshots.
 */
import {
  diffConfigs,
  indexConfig,
  inflateBounded,
  signDelta,
  type ConfigIndex,
  type Logger,
  type SignedDelta,
  type SigningKey,
} from '@gatehouse/shared';
import type { PublishedSnapshot } from './publisher.js';

/** Why a DP that takes deltas was sent a full snapshot. */
export const DELTA_FALLBACK_REASONS = [
  /** The DP held no config (or said none) when the snapshot was sent. */
  'no_base',
  /** The config the DP holds is not among those this CP keeps (never seen, or too old). */
  'unknown_base',
  /** The delta would not be smaller than the full snapshot. */
  'not_smaller',
  /**
   * The delta rewrites most of the config (its ops, uncompressed, are more than half the target
   * config): on the wire it saves little, and the DP would re-parse its base, apply the ops and
   * serialise the whole result to check the hash, ~10× the work of verifying the full snapshot.
   */
  'most_of_config',
  /** The configs have a top-level member a delta cannot name. */
  'undiffable',
  /** The DP refused a delta (Nack): the full snapshot follows. */
  'nack',
  /** Building the delta failed (logged). */
  'error',
  /** The same config signed again (key rotation, revocation list, expiry): the DP records the full snapshot. */
  'resigned',
] as const;
export type DeltaFallbackReason = (typeof DELTA_FALLBACK_REASONS)[number];

/** A delta whose uncompressed ops exceed 1/MOST_OF_CONFIG of the target config goes in full. */
const MOST_OF_CONFIG = 2;

export type DeltaChoice = { delta: SignedDelta } | { full: DeltaFallbackReason };

export interface DeltaStats {
  /** Deltas written to DP streams. */
  sent: number;
  /** Full snapshots written to DPs that take deltas, by reason. */
  fallbacks: Record<DeltaFallbackReason, number>;
  /** Full snapshots written to DPs that do not announce delta support. */
  unsupported: number;
  /** Configs kept to diff against. */
  configs: number;
  /** Bytes of config written to DPs (signature + compressed config or ops), as full snapshots and as deltas. */
  bytes: { full: number; delta: number };
}

export interface SnapshotDeltasOptions {
  key: SigningKey;
  cpId: string;
  logger: Logger;
  /** Configs kept to diff against (across slices). Default 16. */
  maxConfigs?: number;
  /** Built deltas kept (base, target pairs). Default 64. */
  maxDeltas?: number;
  /** Decompressed, indexed configs kept. Default 4. */
  maxIndexes?: number;
}

interface Kept {
  published: PublishedSnapshot;
}

/** A Map used as an LRU: get refreshes, set evicts the oldest beyond `max`. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get size(): number {
    return this.map.size;
  }
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}

export class SnapshotDeltas {
  private readonly configs: Lru<string, Kept>;
  private readonly indexes: Lru<string, ConfigIndex>;
  private readonly built: Lru<string, Promise<DeltaChoice>>;
  private lastIndex: ConfigIndex | undefined;
  private readonly counters: Omit<DeltaStats, 'configs'> = {
    sent: 0,
    fallbacks: Object.fromEntries(DELTA_FALLBACK_REASONS.map((r) => [r, 0])) as Record<
      DeltaFallbackReason,
      number
    >,
    unsupported: 0,
    bytes: { full: 0, delta: 0 },
  };

  constructor(private readonly o: SnapshotDeltasOptions) {
    this.configs = new Lru(Math.max(1, o.maxConfigs ?? 16));
    this.indexes = new Lru(Math.max(2, o.maxIndexes ?? 4));
    this.built = new Lru(Math.max(1, o.maxDeltas ?? 64));
  }

  get stats(): DeltaStats {
    return {
      sent: this.counters.sent,
      fallbacks: { ...this.counters.fallbacks },
      unsupported: this.counters.unsupported,
      configs: this.configs.size,
      bytes: { ...this.counters.bytes },
    };
  }

  /** A snapshot handed to DPs (its config may be a delta's base later). */
  remember(published: PublishedSnapshot): void {
    const known = this.configs.get(published.snapshot.hash);
    // The newest version of the same bytes names the base (re-signed slices keep their hash).
    if (!known || known.published.snapshot.version < published.snapshot.version)
      this.configs.set(published.snapshot.hash, { published });
  }

  /**
   * Counts what a session wrote to a DP: a delta, or a full snapshot and why (`unsupported`: the
   * DP does not take deltas), and its bytes.
   */
  record(choice: DeltaChoice | 'unsupported', full: PublishedSnapshot): void {
    if (choice !== 'unsupported' && 'delta' in choice) {
      this.counters.sent++;
      this.counters.bytes.delta += choice.delta.ops.length + choice.delta.jws.length;
      return;
    }
    if (choice === 'unsupported') this.counters.unsupported++;
    else this.counters.fallbacks[choice.full]++;
    this.counters.bytes.full += full.snapshot.config.length + full.snapshot.jws.length;
  }

  /** The delta from the config hashed `baseHash` to `target`, or why the full snapshot goes instead. */
  deltaFor(baseHash: string, target: PublishedSnapshot): Promise<DeltaChoice> {
    this.remember(target);
    const id = `${baseHash}>${target.snapshot.hash}@${target.snapshot.version}/${target.signer ?? target.kid ?? ''}`;
    let choice = this.built.get(id);
    if (!choice) {
      choice = this.build(baseHash, target).catch((err: unknown) => {
        this.o.logger.error({ err, base: baseHash, hash: target.snapshot.hash }, 'building a delta failed');
        return { full: 'error' as const };
      });
      this.built.set(id, choice);
    }
    return choice;
  }

  private async build(baseHash: string, target: PublishedSnapshot): Promise<DeltaChoice> {
    const base = this.configs.get(baseHash);
    if (!base) return { full: 'unknown_base' };
    const started = performance.now();
    const baseIndex = this.index(base.published);
    const targetIndex = this.index(target);
    const ops = diffConfigs(baseIndex, targetIndex);
    if (ops === null) return { full: 'undiffable' };
    const t = target.snapshot;
    // Known before signing and compressing it: no work spent on a delta that will not go.
    if (ops.length * MOST_OF_CONFIG > t.uncompressedSize) return { full: 'most_of_config' };
    const delta = await signDelta({
      base: { version: base.published.snapshot.version, hash: baseHash },
      target: { version: t.version, hash: t.hash, size: t.uncompressedSize },
      ops,
      cpId: this.o.cpId,
      key: this.o.key,
    });
    const deltaBytes = delta.ops.length + delta.jws.length + 2 * 64;
    const fullBytes = t.config.length + t.jws.length;
    this.o.logger.debug(
      {
        base: baseHash,
        hash: t.hash,
        version: t.version,
        opsBytes: ops.length,
        deltaBytes,
        fullBytes,
        buildMs: Math.round(performance.now() - started),
      },
      'delta built',
    );
    if (deltaBytes >= fullBytes) return { full: 'not_smaller' };
    return { delta };
  }

  /** The config of a snapshot, indexed (decompressed and parsed once, the last few kept). */
  private index(p: PublishedSnapshot): ConfigIndex {
    const s = p.snapshot;
    let idx = this.indexes.get(s.hash);
    if (!idx) {
      const bytes = inflateBounded(s.config, s.compression, s.uncompressedSize, 'snapshot config bytes');
      idx = indexConfig(bytes, this.lastIndex);
      this.indexes.set(s.hash, idx);
      this.lastIndex = idx;
    }
    return idx;
  }
}
