/**
 * Runs staged rollouts on one CP replica (docs/rollouts.md).
 *
 * - Which snapshot a DP gets (`select`, the cluster server's hook): while a rollout runs, a DP in
 *   the waves so far gets its slice's newest snapshot; any other DP is held at the rollout's base:
 *   the base config, sliced for its placement and signed at the base version (same bytes and hash
 *   on every replica, so a DP that holds it is sent nothing). A DP already holding a newer version
 *   than the base keeps moving forward (versions never go back).
 * - Every replica makes the same decision from the same Postgres row: the state is re-read on each
 *   `gatehouse.config.changed` (the replicas' change channel) and every `tickMs`. A snapshot newer
 *   than the config version this replica last checked the rollouts at is held back until it has
 *   checked again, so no DP outside the waves gets a change before its replica knows it is staged.
 * - The gate is evaluated on one replica at a time (advisory lock job `rollout-gate`) from the
 *   per-DP traffic the analytics hold (5xx share and p99 of the wave's DPs vs the others'); the
 *   moves are conditional writes, so a second replica deciding the same thing changes nothing.
 *   Breach: the base config is written back (a new, higher version) and the rollout is `failed`
 *   with the figures; pass: the next wave soaks; after the last wave, `completed`.
 */
import {
  encodeConfig,
  signEncodedSnapshot,
  type GatehouseConfig,
  type Logger,
  type NodePlacement,
  type SigningKey,
} from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { runExclusive } from '../jobs/exclusive.js';
import type { PublishedSnapshot } from '../snapshot/index.js';
import { dataPlaneConfig } from '../snapshot/publisher.js';
import { SliceCache } from '../snapshot/slices.js';
import { readOAuth2SigningKeys } from '../store/oauth2-signing-keys.js';
import type { ConfigStore } from '../store/index.js';
import { groupFigures, inWaves, judge, type NodeFigures } from './plan.js';
import { getRollout, passWave, rollBack, runningRollout, type Rollout, type WaveEvidence } from './store.js';

export const ROLLOUT_GATE_JOB = 'rollout-gate';
export const DEFAULT_ROLLOUT_TICK_MS = 1000;
/**
 * The analytics' bucket width. The gate reads whole buckets after the wave started: the bucket it
 * started in also holds traffic served before it (a rollout failed a moment ago leaves its 5xx
 * there), which would judge the new wave on the old one's errors.
 */
const BUCKET_MS = 10_000;

/**
 * How late the last figures of a soak may reach the CP: a DP summarises its traffic every 10 s by
 * default (`--traffic-summary-interval`) and the CP counts in 10 s buckets. A wave is failed for
 * serving too few requests only this long after its soak ends (a pass or a breach needs no wait).
 */
const FIGURES_LAG_MS = 20_000;

/** What `select` needs to know about a DP (the cluster session). */
export interface HeldDataPlane {
  nodeId: string | null;
  region: string;
  labels: Record<string, string>;
  dpVersion: bigint;
}

export interface RolloutManagerOptions {
  prisma: PrismaClient;
  store: ConfigStore;
  key: SigningKey;
  /**
   * The publisher's signer identity now (SnapshotPublisher.signer): the held base carries it, so a
   * DP that already holds the base (same hash, same signer) is not sent it again when a rollout
   * starts. Default: the key's kid.
   */
  signer?: () => string;
  cpId: string;
  logger: Logger;
  /** The connected DPs (every replica's) with their labels. */
  connectedDataPlanes(): Promise<{ id: string; labels: Record<string, string> }[]>;
  /** Per-DP traffic in [fromMs, toMs) (the analytics' data-planes dimension). */
  trafficByDataPlane(fromMs: number, toMs: number): NodeFigures[];
  /** Re-offers every local DP its snapshot (the hold changed). */
  reoffer(): void;
  /** Tells the other replicas the rollout state changed (gatehouse.config.changed). */
  announce(version: bigint): void;
  tickMs?: number;
  now?: () => number;
}

interface Active {
  rollout: Rollout;
  base: SliceCache;
  acquired: Set<string>;
}

export class RolloutManager {
  private active: Active | null = null;
  /**
   * After a rollout is rolled back: the DPs it held never get a version between its base and its
   * rollback version (the change), even while this replica's newest snapshot is still the change
   * because the rollback's own snapshot is not built yet.
   */
  private rolledBack: { baseVersion: bigint; rollbackVersion: bigint } | null = null;
  /** The config version this replica last read the rollout state at. */
  private checkedVersion = -1n;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private readonly now: () => number;

  constructor(private readonly o: RolloutManagerOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? DEFAULT_ROLLOUT_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The running rollout as this replica knows it. */
  get current(): Rollout | null {
    return this.active?.rollout ?? null;
  }

  /**
   * The snapshot a DP gets instead of its slice's newest `p`: `p` itself, the base snapshot of its
   * placement, or null (nothing now: the base is being signed or the state re-read; the DP is
   * offered again when it is ready).
   */
  select(dp: HeldDataPlane, p: PublishedSnapshot): PublishedSnapshot | null {
    if (p.snapshot.version > this.checkedVersion) {
      void this.refresh();
      return null;
    }
    const rb = this.rolledBack;
    if (
      rb !== null &&
      p.snapshot.version > rb.baseVersion &&
      p.snapshot.version < rb.rollbackVersion &&
      dp.dpVersion <= rb.baseVersion
    )
      return null;
    const a = this.active;
    if (!a || a.rollout.state !== 'running' || dp.nodeId === null) return p;
    if (p.snapshot.version <= a.rollout.baseVersion) return p;
    if (dp.dpVersion > a.rollout.baseVersion) return p;
    if (inWaves(a.rollout.plan, a.rollout.wave, a.rollout.id, { nodeId: dp.nodeId, labels: dp.labels }))
      return p;
    const placement: NodePlacement = { region: dp.region, labels: dp.labels };
    const key = a.base.acquire(placement);
    if (a.acquired.has(key)) a.base.release(key);
    else a.acquired.add(key);
    return a.base.latest(key);
  }

  /** Re-reads the rollout state (coalesced); re-offers the DPs when the hold changed. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          await this.load();
        } catch (err) {
          this.o.logger.error({ err }, 'reading the staged rollout state failed');
        }
      } while (this.refreshAgain);
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async load(): Promise<void> {
    // The version first: a rollout committed with (or before) it is visible to the next read.
    const version = await this.o.store.currentVersion();
    const found = await runningRollout(this.o.prisma);
    const before = this.active?.rollout;
    const after = found?.rollout;
    const same = before?.id === after?.id && before?.wave === after?.wave && before?.state === after?.state;
    if (!same) {
      if (before && before.id !== after?.id) {
        // It ended here: if it was rolled back, keep its held DPs off the change it undid.
        const ended = await getRollout(this.o.prisma, before.id);
        if (ended?.rollbackVersion != null)
          this.rolledBack = { baseVersion: ended.baseVersion, rollbackVersion: ended.rollbackVersion };
      }
      if (found && before?.id === found.rollout.id) this.active!.rollout = found.rollout;
      else this.active = found ? this.hold(found.rollout, found.baseConfig) : null;
      this.o.logger.info(
        { rollout: after?.id ?? before?.id, wave: after?.wave ?? null, running: found !== null },
        'staged rollout state changed',
      );
    }
    const moved = version > this.checkedVersion;
    this.checkedVersion = version > this.checkedVersion ? version : this.checkedVersion;
    if (!same || moved) this.o.reoffer();
  }

  /** The base config, sliced per placement and signed at the base version. */
  private hold(rollout: Rollout, baseConfig: GatehouseConfig): Active {
    const base = new SliceCache({
      key: this.o.key,
      cpId: this.o.cpId,
      logger: this.o.logger,
      onSlice: () => this.o.reoffer(),
    });
    void (async () => {
      // The oauth2 signing keys of now: a DP held at the base verifies what the others issue.
      const digested = dataPlaneConfig(baseConfig, await readOAuth2SigningKeys(this.o.prisma));
      const { bytes, hash } = encodeConfig(digested);
      const snapshot = await signEncodedSnapshot({
        bytes,
        hash,
        version: rollout.baseVersion,
        cpId: this.o.cpId,
        key: this.o.key,
      });
      base.rebase(
        {
          snapshot,
          builtAt: new Date(),
          buildMs: 0,
          kid: this.o.key.kid,
          signer: this.o.signer?.() ?? this.o.key.kid,
          plugins: [...new Set((baseConfig.plugins ?? []).map((p) => p.name))].sort(),
        },
        digested,
      );
    })().catch((err: unknown) => this.o.logger.error({ err }, 'signing the rollout base snapshot failed'));
    return { rollout, base, acquired: new Set() };
  }

  /** One tick: re-read the state, then (on one replica) judge the wave soaking. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.refresh();
      const r = this.active?.rollout;
      if (!r || r.state !== 'running') return;
      // Read before taking the lock: the lock's transaction holds a connection, and on PGlite
      // (one connection) a read inside it waited for itself until the transaction timed out.
      const dps = await this.o.connectedDataPlanes();
      const run = await runExclusive(this.o.prisma, ROLLOUT_GATE_JOB, async () => this.evaluate(r, dps));
      if (!run.ran) return;
      const { verdict, evidence } = run.result;
      if (verdict === 'wait') return;
      if (verdict === 'pass') {
        if (await passWave(this.o.prisma, r, evidence, this.now())) {
          const last = r.wave + 1 >= r.waves.length;
          this.o.logger.info(
            { rollout: r.id, wave: r.wave, evidence },
            last ? 'rollout completed' : 'rollout wave passed',
          );
          this.o.announce(await this.o.store.currentVersion());
        }
      } else {
        const reason = `wave ${r.wave} breached the gate: ${evidence.breaches.join('; ')}`;
        const done = await rollBack(
          this.o.store,
          r.id,
          { state: 'failed', reason, evidence, wave: r.wave },
          this.now(),
        );
        if (done)
          this.o.logger.warn({ rollout: r.id, wave: r.wave, evidence }, 'rollout failed; rolled back');
      }
      await this.refresh();
    } catch (err) {
      this.o.logger.error({ err }, 'staged rollout tick failed');
    } finally {
      this.ticking = false;
    }
  }

  /** The gate's verdict on the wave soaking, from the analytics' per-DP figures. */
  evaluate(
    r: Rollout,
    dps: { id: string; labels: Record<string, string> }[],
  ): { verdict: 'pass' | 'wait' | 'fail'; evidence: WaveEvidence } {
    const now = this.now();
    const from = gateWindowStart(r.waveStartedAt);
    const to = now + BUCKET_MS;
    const figures = new Map(this.o.trafficByDataPlane(from, to).map((f) => [f.nodeId, f]));
    const wave: NodeFigures[] = [];
    const rest: NodeFigures[] = [];
    for (const dp of dps) {
      const f = figures.get(dp.id) ?? { nodeId: dp.id, requests: 0, errors_5xx: 0, p99_ms: null };
      (inWaves(r.plan, r.wave, r.id, { nodeId: dp.id, labels: dp.labels }) ? wave : rest).push(f);
    }
    const last = r.wave + 1 >= r.waves.length;
    const waveFigures = groupFigures(wave);
    const restFigures = last ? null : groupFigures(rest);
    // The soak counts from the window's start (at most one bucket after the wave's).
    const soaked = now - from;
    const verdict = judge(
      r.plan.gate,
      waveFigures,
      restFigures,
      soaked >= r.plan.soak_ms,
      soaked >= r.plan.soak_ms + FIGURES_LAG_MS,
    );
    return {
      verdict: verdict.decision,
      evidence: {
        window: { from, to: now },
        wave: waveFigures,
        rest: restFigures,
        breaches: verdict.breaches,
      },
    };
  }
}

/** Where the gate's window of a wave starts: the first bucket boundary at or after the wave's start. */
export function gateWindowStart(waveStartedAt: number): number {
  return Math.ceil(waveStartedAt / BUCKET_MS) * BUCKET_MS;
}
