/**
 * SnapshotPublisher: watches a config source, coalesces bursts of writes, builds and signs one
 * snapshot per settled burst, keeps the newest and emits 'snapshot' for each new one.
 *
 * Coalescing is a trailing debounce (debounceMs after the last change) bounded by maxWaitMs
 * after the first change of a burst, so a steady stream of writes still publishes. Builds never
 * overlap; a change that lands during a build triggers exactly one more build after it.
 * The config bytes hold no time: the same config gives the same bytes and hash on any replica
 * (only the JWS's issued-at differs). Credential keys are sent as keyed digests
 * (`withCredentialDigests`), never in clear.
 *
 * Data planes get slices of it (slices.ts): a DP acquires its placement, the publisher rebuilds
 * the slices connected DPs need after each new snapshot and emits 'slice' for each one that
 * changed. 'snapshot' and `latest` stay the whole config (metrics, /clustering/status, replicas).
 */
import { EventEmitter } from 'node:events';
import {
  encodeConfig,
  signEncodedSnapshot,
  withCredentialDigests,
  withOAuth2SigningKeys,
  type DigestedConfig,
  type GatehouseConfig,
  type OAuth2SigningKeyRecord,
  type Logger,
  type NodePlacement,
  type SignedSnapshot,
  type SigningKey,
} from '@gatehouse/shared';
import { withRoomyHeap } from '../heap-sizing.js';
import { SliceCache, type SliceStats } from './slices.js';

/** What the publisher needs from the store (implemented by control-plane/src/store ConfigStore). */
export interface ConfigSource {
  /** One consistent read: the config and the cluster-wide version it was read at. */
  readConfig(): Promise<{
    version: bigint;
    config: GatehouseConfig;
    /** The oauth2 token signing keys of that version (added to what DPs get, never to `config`). */
    oauth2SigningKeys?: readonly OAuth2SigningKeyRecord[];
  }>;
  /** Called after each committed write; returns an unsubscribe function. */
  onChange(listener: (version: bigint) => void): () => void;
}

/**
 * The config as data planes get it: key-auth keys as keyed digests, and the oauth2 token signing
 * keys where an oauth2 instance uses them. The one place both the publisher and staged rollouts
 * turn a stored config into snapshot bytes.
 */
export function dataPlaneConfig(
  config: GatehouseConfig,
  oauth2SigningKeys: readonly OAuth2SigningKeyRecord[],
): DigestedConfig {
  return withOAuth2SigningKeys(withCredentialDigests(config), oauth2SigningKeys);
}

export interface PublishedSnapshot {
  snapshot: SignedSnapshot;
  builtAt: Date;
  /** Time spent reading, encoding and signing, in ms. */
  buildMs: number;
  /** Names of the plugins the config uses (sorted), for the DP compatibility check. */
  plugins: string[];
  /** The key id the snapshot is signed with (a DP holding the same bytes signed by another key gets it again). */
  kid?: string;
  /**
   * Which signing it is: the kid and the publisher's re-sign count. The same config signed again
   * (a rotated key, a new revocation list, before it expires) has another signer, and DPs get it again.
   */
  signer?: string;
}

export interface PublisherStats {
  /** Builds run (including ones that changed nothing). */
  builds: number;
  /** Snapshots published (emitted as 'snapshot'). */
  published: number;
  /** Builds whose hash equalled the latest one, so nothing was published. */
  unchanged: number;
  /** Builds that failed (read or sign error); retried with backoff. */
  failures: number;
}

export interface SnapshotPublisherOptions {
  source: ConfigSource;
  key: SigningKey;
  cpId: string;
  logger: Logger;
  /** Trailing debounce after the last change of a burst. Default 50 ms. */
  debounceMs?: number;
  /** Longest a burst may delay a build, counted from its first change. Default 250 ms. */
  maxWaitMs?: number;
  /** First retry delay after a failed build (doubles up to 30 s). Default 500 ms. */
  retryMs?: number;
}

/** A published snapshot's configuration as read from the store (secrets in clear: never sent). */
export interface PublishedConfig {
  version: bigint;
  /** The snapshot's hash. */
  hash: string;
  config: GatehouseConfig;
}

interface PublisherEvents {
  snapshot: [PublishedSnapshot];
  /** Before each 'snapshot': the config it was built from (the config history records it). */
  config: [PublishedConfig];
  /** The snapshot of a placement key (`sliceKeyOf(region, labels)`) changed. */
  slice: [string, PublishedSnapshot];
}

const MAX_RETRY_MS = 30_000;

export class SnapshotPublisher extends EventEmitter<PublisherEvents> {
  private readonly source: ConfigSource;
  private readonly key: SigningKey;
  private readonly cpId: string;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;
  private readonly retryMs: number;

  private current: PublishedSnapshot | null = null;
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private burstStartedAt = 0;
  private building: Promise<void> | null = null;
  private rebuildAfter = false;
  private retryDelay = 0;
  private stopped = false;
  /** Bumped by resign(): the config is signed again even if unchanged. */
  private generation = 0;
  private resignTimer: NodeJS.Timeout | null = null;
  private readonly counters: PublisherStats = { builds: 0, published: 0, unchanged: 0, failures: 0 };
  private readonly slices: SliceCache;

  constructor(o: SnapshotPublisherOptions) {
    super();
    this.slices = new SliceCache({
      key: o.key,
      cpId: o.cpId,
      logger: o.logger,
      onSlice: (key, p) => this.emit('slice', key, p),
    });
    this.source = o.source;
    this.key = o.key;
    this.cpId = o.cpId;
    this.logger = o.logger;
    this.debounceMs = o.debounceMs ?? 50;
    this.maxWaitMs = Math.max(o.maxWaitMs ?? 250, this.debounceMs);
    this.retryMs = o.retryMs ?? 500;
  }

  /** The newest published snapshot, or null before the first build. */
  get latest(): PublishedSnapshot | null {
    return this.current;
  }

  get stats(): Readonly<PublisherStats> {
    return { ...this.counters };
  }

  /**
   * A DP at this placement connected: its slice is built (if no DP had it) and kept up to date,
   * announced by 'slice' events. Returns the placement key to pass to `latestSlice`/`releaseSlice`.
   */
  acquireSlice(placement: NodePlacement): string {
    return this.slices.acquire(placement);
  }

  releaseSlice(key: string): void {
    this.slices.release(key);
  }

  /** Re-signs a placement's slice at the newest version (a DP holds a newer one than it). */
  renewSlice(key: string): void {
    this.slices.renew(key);
  }

  /** The snapshot DPs with this placement key get, or null while it is being built. */
  latestSlice(key: string): PublishedSnapshot | null {
    return this.slices.latest(key);
  }

  /** The slice key a placement falls in under the newest config ('default' when nothing is scoped). */
  sliceKeyFor(placement: NodePlacement): string {
    return this.slices.sliceKeyFor(placement);
  }

  get sliceStats(): SliceStats {
    return this.slices.stats;
  }

  /** Resolves once the slices of every snapshot published so far are built. */
  slicesSettled(): Promise<void> {
    return this.slices.settled();
  }

  /** Subscribes to the source and builds the first snapshot; rejects if that first build fails. */
  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.stopped = false;
    this.unsubscribe = this.source.onChange((version) => this.notifyChange(version));
    try {
      await this.runBuild(true);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /**
   * Signs the latest config again (same version and bytes) with the key held now: after a key
   * rotation or a new revocation list, and at half the snapshot TTL so no DP holds an expired one.
   */
  resign(): void {
    if (this.stopped) return;
    this.generation++;
    if (this.building) {
      this.rebuildAfter = true;
      return;
    }
    this.schedule(this.debounceMs);
  }

  /** The signer identity (see PublishedSnapshot.signer) of what is signed now. */
  get signer(): string {
    return `${this.key.kid}#${this.generation}`;
  }

  /** Stops watching, cancels a pending build and waits for one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resignTimer) clearTimeout(this.resignTimer);
    this.resignTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.clearTimer();
    this.rebuildAfter = false;
    await this.building;
  }

  /**
   * Marks the config as changed (the store calls this through onChange; a NATS
   * `config.changed` from another replica can call it too). A version the latest snapshot
   * already covers is ignored.
   */
  notifyChange(version?: bigint): void {
    if (this.stopped) return;
    if (version !== undefined && this.current && version <= this.current.snapshot.version) return;
    if (this.building) {
      this.rebuildAfter = true;
      return;
    }
    this.schedule(this.debounceMs);
  }

  /** Resolves once no build is in flight (a scheduled one may still be pending). */
  async settled(): Promise<void> {
    while (this.building) await this.building.catch(() => undefined);
  }

  /** Resolves with the first published snapshot whose version is at least `version`. */
  waitForVersion(version: bigint, timeoutMs = 10_000): Promise<PublishedSnapshot> {
    if (this.current && this.current.snapshot.version >= version) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const onSnapshot = (p: PublishedSnapshot) => {
        if (p.snapshot.version < version) return;
        clearTimeout(timer);
        this.off('snapshot', onSnapshot);
        resolve(p);
      };
      const timer = setTimeout(() => {
        this.off('snapshot', onSnapshot);
        reject(new Error(`no snapshot with version >= ${version} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('snapshot', onSnapshot);
    });
  }

  /** At half the snapshot TTL (if the key sets one), sign the config again before DPs see it expire. */
  private scheduleResign(): void {
    if (this.resignTimer) clearTimeout(this.resignTimer);
    this.resignTimer = null;
    const ttl = this.key.snapshotTtlSeconds;
    if (ttl === undefined || ttl <= 0 || this.stopped) return;
    this.resignTimer = setTimeout(() => this.resign(), Math.min((ttl * 1000) / 2, 2 ** 31 - 1));
    this.resignTimer.unref();
  }

  private schedule(delayMs: number): void {
    const now = Date.now();
    if (!this.timer) this.burstStartedAt = now;
    const deadline = this.burstStartedAt + this.maxWaitMs;
    const fireIn = Math.max(0, Math.min(delayMs, deadline - now));
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runBuild(false);
    }, fireIn);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async runBuild(first: boolean): Promise<void> {
    if (this.building) {
      this.rebuildAfter = true;
      return this.building;
    }
    this.rebuildAfter = false;
    this.building = this.build().finally(() => {
      this.building = null;
    });
    try {
      await this.building;
      this.retryDelay = 0;
    } catch (e) {
      this.counters.failures++;
      if (first) throw e;
      this.retryDelay = Math.min(this.retryDelay ? this.retryDelay * 2 : this.retryMs, MAX_RETRY_MS);
      this.logger.error({ err: e, retryInMs: this.retryDelay }, 'snapshot build failed; will retry');
      if (!this.stopped) {
        this.clearTimer();
        this.timer = setTimeout(() => {
          this.timer = null;
          void this.runBuild(false);
        }, this.retryDelay);
      }
      return;
    }
    if (this.rebuildAfter && !this.stopped) {
      this.rebuildAfter = false;
      this.schedule(this.debounceMs);
    }
  }

  private async build(): Promise<void> {
    const started = performance.now();
    this.counters.builds++;
    // Reading and encoding the whole config: V8's default heap sizing (heap-sizing.ts).
    const { version, config, oauth2SigningKeys } = await withRoomyHeap(() => this.source.readConfig());
    const prev = this.current;
    if (prev && version < prev.snapshot.version) {
      this.logger.warn(
        { version, latest: prev.snapshot.version },
        'config source returned an older version than the latest snapshot; not publishing',
      );
      return;
    }
    // Key-auth keys leave the CP only as keyed digests (what DPs keep on disk); the oauth2
    // signing keys only in what DPs get (dataPlaneConfig).
    const digested = dataPlaneConfig(config, oauth2SigningKeys ?? []);
    const { bytes, hash } = encodeConfig(digested);
    const signer = this.signer;
    if (prev && hash === prev.snapshot.hash && prev.signer === signer) {
      this.counters.unchanged++;
      this.logger.debug({ version, hash }, 'config unchanged; snapshot not republished');
      return;
    }
    const snapshot = await signEncodedSnapshot({ bytes, hash, version, cpId: this.cpId, key: this.key });
    const published: PublishedSnapshot = {
      snapshot,
      builtAt: new Date(),
      kid: this.key.kid,
      signer,
      buildMs: Math.round((performance.now() - started) * 100) / 100,
      plugins: [...new Set((config.plugins ?? []).map((p) => p.name))].sort(),
    };
    this.scheduleResign();
    this.current = published;
    this.counters.published++;
    this.logger.info(
      {
        version,
        hash,
        bytes: bytes.length,
        compressed: snapshot.config.length,
        services: config.services.length,
        routes: config.routes.length,
        buildMs: published.buildMs,
      },
      'snapshot published',
    );
    this.slices.rebase(published, digested);
    this.emit('config', { version, hash, config });
    this.emit('snapshot', published);
  }
}
