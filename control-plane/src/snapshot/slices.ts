/**
 * Per-slice snapshots. Each connected data plane has a placement (region, labels); the slices a
 * config gives are keyed by the placement projected on the config's scope tags (shared/src/slices),
 * so DPs that the scope tags cannot tell apart share one build. Only the slices some connected DP
 * needs are built, each once per config version, encoded and signed exactly as the whole config
 * is (same bytes on every replica for the same config version and placement).
 *
 * A DP whose slice did not change keeps the snapshot it has (same version, same JWS): a change to
 * an eu-only entity leaves the us DPs' hash alone and sends them nothing. A DP is only ever handed
 * a snapshot whose version is at least the one it was handed before (a fresh build carries the
 * version of the config it was built from, the newest).
 *
 * With no scope tag in the config every slice is the whole config: the whole-config snapshot is
 * handed out as is (nothing more built or signed).
 */
import {
  configSliceKey,
  encodeConfig,
  projectPlacement,
  scopeUniverse,
  signEncodedSnapshot,
  sliceConfig,
  sliceKeyOf,
  type DigestedConfig,
  type Logger,
  type NodePlacement,
  type ScopeUniverse,
  type SigningKey,
} from '@gatehouse/shared';
import type { PublishedSnapshot } from './publisher.js';

export interface SliceCacheOptions {
  key: SigningKey;
  cpId: string;
  logger: Logger;
  /** A placement's snapshot changed (the DPs with that placement key get it). */
  onSlice(placementKey: string, published: PublishedSnapshot): void;
}

interface Base {
  full: PublishedSnapshot;
  /** Kept only when some entity is scoped (otherwise every slice is `full`). */
  config: DigestedConfig | null;
  universe: ScopeUniverse;
  /**
   * Per slice key, for this base: the slice's hash and plugins, then its signed snapshot once
   * built. The bytes are not kept (a slice whose placements all hold it already is never signed;
   * keeping its bytes would hold a config's worth of memory per slice for nothing).
   */
  encoded: Map<string, { hash: string; plugins: string[] }>;
  signed: Map<string, PublishedSnapshot>;
}

export interface SliceStats {
  /** Placements some connected DP has. */
  placements: number;
  /** Slice snapshots signed (the whole config handed out as is does not count). */
  built: number;
}

const pluginsOf = (c: DigestedConfig) => [...new Set((c.plugins ?? []).map((p) => p.name))].sort();

export class SliceCache {
  private readonly wanted = new Map<string, { placement: NodePlacement; refs: number }>();
  private readonly current = new Map<string, PublishedSnapshot>();
  private base: Base | null = null;
  private queue: Promise<void> = Promise.resolve();
  private built = 0;

  constructor(private readonly o: SliceCacheOptions) {}

  get stats(): SliceStats {
    return { placements: this.wanted.size, built: this.built };
  }

  /** A DP with this placement connected; returns its placement key (`sliceKeyOf`). */
  acquire(placement: NodePlacement): string {
    const key = sliceKeyOf(placement.region, placement.labels);
    const w = this.wanted.get(key);
    if (w) {
      w.refs++;
      return key;
    }
    this.wanted.set(key, {
      placement: { region: placement.region, labels: { ...placement.labels } },
      refs: 1,
    });
    this.enqueue(() => this.update([key]));
    return key;
  }

  /** A DP with this placement key went away. */
  release(key: string): void {
    const w = this.wanted.get(key);
    if (!w || --w.refs > 0) return;
    this.wanted.delete(key);
    this.current.delete(key);
  }

  /** The snapshot for a placement key, or null while it is being built (or before any config). */
  latest(key: string): PublishedSnapshot | null {
    return this.current.get(key) ?? null;
  }

  /**
   * A DP of this placement holds a newer version than the placement's snapshot (it moved from
   * another placement, or a replica it came from built its slice later): sign the same slice at
   * the newest config version, so the DP is never handed a version older than it holds. Emits
   * only when that version is newer than the current one.
   */
  renew(key: string): void {
    this.enqueue(async () => {
      const base = this.base;
      const w = this.wanted.get(key);
      const held = this.current.get(key);
      if (!base || !w || (held && held.snapshot.version >= base.full.snapshot.version)) return;
      const next = await this.snapshotFor(base, w.placement, undefined);
      if (!this.wanted.has(key)) return;
      this.current.set(key, next);
      this.o.onSlice(key, next);
    });
  }

  /** The slice key (of the newest config) a placement falls in; 'default' before any config. */
  sliceKeyFor(placement: NodePlacement): string {
    return this.base ? configSliceKey(this.base.universe, placement) : 'default';
  }

  /** A new whole-config snapshot (and the config it encodes): rebuild the slices DPs need. */
  rebase(full: PublishedSnapshot, config: DigestedConfig): void {
    this.enqueue(() => {
      const universe = scopeUniverse(config);
      const kept = universe.scoped ? config : null;
      this.base = { full, config: kept, universe, encoded: new Map(), signed: new Map() };
      return this.update([...this.wanted.keys()]);
    });
  }

  /** Resolves once every build asked for so far is done. */
  async settled(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job).catch((err: unknown) => {
      this.o.logger.error({ err }, 'building slice snapshots failed');
    });
  }

  private async update(keys: string[]): Promise<void> {
    const base = this.base;
    if (!base) return;
    for (const key of keys) {
      const w = this.wanted.get(key);
      if (!w) continue;
      const next = await this.snapshotFor(base, w.placement, this.current.get(key));
      if (next === this.current.get(key) || !this.wanted.has(key)) continue;
      this.current.set(key, next);
      this.o.onSlice(key, next);
    }
  }

  private async snapshotFor(
    base: Base,
    placement: NodePlacement,
    held: PublishedSnapshot | undefined,
  ): Promise<PublishedSnapshot> {
    const config = base.config;
    if (config === null) return base.full;
    const sliceKey = configSliceKey(base.universe, placement);
    const encode = () => {
      const sliced = sliceConfig(config, projectPlacement(base.universe, placement));
      return { ...encodeConfig(sliced), plugins: pluginsOf(sliced) };
    };
    let fresh: ReturnType<typeof encode> | null = null;
    let enc = base.encoded.get(sliceKey);
    if (!enc) {
      fresh = encode();
      enc = { hash: fresh.hash, plugins: fresh.plugins };
      base.encoded.set(sliceKey, enc);
    }
    // Unchanged for this placement: keep what it holds (no send, same hash and version).
    if (held && held.snapshot.hash === enc.hash && held.signer === base.full.signer) return held;
    if (enc.hash === base.full.snapshot.hash) return base.full;
    let p = base.signed.get(sliceKey);
    if (!p) {
      const started = performance.now();
      const { bytes } = fresh ?? encode();
      const snapshot = await signEncodedSnapshot({
        bytes,
        hash: enc.hash,
        version: base.full.snapshot.version,
        cpId: this.o.cpId,
        key: this.o.key,
      });
      p = {
        snapshot,
        builtAt: new Date(),
        kid: this.o.key.kid,
        ...(base.full.signer === undefined ? {} : { signer: base.full.signer }),
        buildMs: Math.round((performance.now() - started) * 100) / 100,
        plugins: enc.plugins,
      };
      base.signed.set(sliceKey, p);
      this.built++;
      this.o.logger.info(
        { slice: sliceKey, version: snapshot.version, hash: snapshot.hash, bytes: bytes.length },
        'slice snapshot published',
      );
    }
    return p;
  }
}
