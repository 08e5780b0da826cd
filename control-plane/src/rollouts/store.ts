/**
 * Rollouts in Postgres (the `rollouts` table): every replica reads the same state. The change and
 * the rollout row are written in ONE config write (the rollout is running from the commit that
 * makes the new version); a rollback writes the base config and marks the rollout failed (or
 * aborted) in one write too. Wave moves are conditional updates (`where state running and wave
 * n`), so two replicas deciding the same thing change it once.
 */
import { randomUUID } from 'node:crypto';
import { RolloutErrors, type GatehouseConfig } from '@gatehouse/shared';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { ConfigStore } from '../store/index.js';
import { applyChanges, checkReferences, diffConfigs, readAll } from '../store/replace.js';
import type { GroupFigures, RolloutPlan, WaveSelector } from './plan.js';

export type RolloutState = 'running' | 'completed' | 'failed' | 'aborted';
export type WaveState = 'pending' | 'soaking' | 'passed' | 'failed' | 'aborted';

/** The figures a gate decision was made on. */
export interface WaveEvidence {
  /** Unix ms of the window's bounds (the analytics' 10-second buckets). */
  window: { from: number; to: number };
  wave: GroupFigures;
  /** The DPs outside the waves so far (null for the last wave: every DP is in it). */
  rest: GroupFigures | null;
  breaches: string[];
}

export interface WaveRecord {
  selector: WaveSelector;
  state: WaveState;
  /** Unix ms. */
  started_at: number | null;
  finished_at: number | null;
  evidence: WaveEvidence | null;
}

export interface Rollout {
  id: string;
  state: RolloutState;
  plan: RolloutPlan;
  wave: number;
  waveStartedAt: number;
  waves: WaveRecord[];
  baseVersion: bigint;
  targetVersion: bigint;
  rollbackVersion: bigint | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}

type Row = Awaited<ReturnType<PrismaClient['rollout']['findUniqueOrThrow']>>;
const SUMMARY = { base_config: false } as const;
type SummaryRow = Omit<Row, 'base_config'>;

function toRollout(r: SummaryRow): Rollout {
  return {
    id: r.id,
    state: r.state as RolloutState,
    plan: r.plan as unknown as RolloutPlan,
    wave: r.wave,
    waveStartedAt: r.wave_started_at.getTime(),
    waves: r.waves as unknown as WaveRecord[],
    baseVersion: r.base_version,
    targetVersion: r.target_version,
    rollbackVersion: r.rollback_version,
    reason: r.reason,
    createdAt: r.created_at.getTime(),
    updatedAt: r.updated_at.getTime(),
  };
}

const json = (v: unknown) => v as Prisma.InputJsonValue;

/**
 * Writes `desired` and a running rollout of it in one config write. The base (rollback target)
 * is the config as the write found it. 409 while another rollout runs; 400 when nothing changes.
 */
export async function startRollout(
  store: ConfigStore,
  desired: GatehouseConfig,
  plan: RolloutPlan,
  now = Date.now(),
): Promise<Rollout> {
  checkReferences(desired);
  const id = randomUUID();
  return store.write(
    async (tx, version, log) => {
      const base = await readAll(tx);
      const diff = diffConfigs(base, desired);
      if (!diff.changed) throw RolloutErrors.noChange('the change equals the current configuration');
      await applyChanges(tx, diff.changes, log);
      const waves: WaveRecord[] = plan.waves.map((selector, i) => ({
        selector,
        state: i === 0 ? 'soaking' : 'pending',
        started_at: i === 0 ? now : null,
        finished_at: null,
        evidence: null,
      }));
      const row = await tx.rollout.create({
        data: {
          id,
          state: 'running',
          plan: json(plan),
          wave: 0,
          wave_started_at: new Date(now),
          waves: json(waves),
          // Writers are serialised on the version row: the config found here is version - 1's.
          base_version: version - 1n,
          target_version: version,
          base_config: json(base),
          created_at: new Date(now),
          updated_at: new Date(now),
        },
        omit: SUMMARY,
      });
      return toRollout(row);
    },
    { rollout: id, timeoutMs: 15 * 60_000 },
  );
}

export async function getRollout(prisma: PrismaClient, id: string): Promise<Rollout | null> {
  const row = await prisma.rollout.findUnique({ where: { id }, omit: SUMMARY });
  return row ? toRollout(row) : null;
}

/** The running rollout, with its base config, or null. */
export async function runningRollout(
  prisma: PrismaClient,
): Promise<{ rollout: Rollout; baseConfig: GatehouseConfig } | null> {
  const row = await prisma.rollout.findFirst({ where: { state: 'running' } });
  return row ? { rollout: toRollout(row), baseConfig: row.base_config as unknown as GatehouseConfig } : null;
}

/** Newest first; `after` is the id ending the previous page (with its created_at). */
export async function listRollouts(
  prisma: PrismaClient,
  size: number,
  after: { createdAt: Date; id: string } | null,
): Promise<{ data: Rollout[]; last: Rollout | null; more: boolean }> {
  const rows = await prisma.rollout.findMany({
    where: after
      ? {
          OR: [
            { created_at: { lt: after.createdAt } },
            { created_at: after.createdAt, id: { lt: after.id } },
          ],
        }
      : {},
    orderBy: [{ created_at: 'desc' }, { id: 'desc' }],
    take: size + 1,
    omit: SUMMARY,
  });
  const data = rows.slice(0, size).map(toRollout);
  return { data, last: data.at(-1) ?? null, more: rows.length > size };
}

/** The gate passed wave `from`: the next one starts soaking, or the rollout completes. */
export async function passWave(
  prisma: PrismaClient,
  r: Rollout,
  evidence: WaveEvidence,
  now = Date.now(),
): Promise<boolean> {
  const waves = r.waves.map((w) => ({ ...w }));
  waves[r.wave] = { ...waves[r.wave]!, state: 'passed', finished_at: now, evidence };
  const last = r.wave + 1 >= waves.length;
  if (!last) waves[r.wave + 1] = { ...waves[r.wave + 1]!, state: 'soaking', started_at: now };
  const { count } = await prisma.rollout.updateMany({
    where: { id: r.id, state: 'running', wave: r.wave },
    data: {
      state: last ? 'completed' : 'running',
      wave: last ? r.wave : r.wave + 1,
      wave_started_at: last ? new Date(r.waveStartedAt) : new Date(now),
      waves: json(waves),
      updated_at: new Date(now),
    },
  });
  return count === 1;
}

/**
 * Writes the base config back (a new, higher version) and ends the rollout `failed` (the gate,
 * with its evidence) or `aborted`, in one write. Null when the rollout was no longer running.
 */
export async function rollBack(
  store: ConfigStore,
  id: string,
  outcome: { state: 'failed' | 'aborted'; reason: string; evidence?: WaveEvidence; wave?: number },
  now = Date.now(),
): Promise<Rollout | null> {
  return store.write(
    async (tx, version, log) => {
      const row = await tx.rollout.findUnique({ where: { id } });
      if (!row || row.state !== 'running' || (outcome.wave !== undefined && row.wave !== outcome.wave))
        return null;
      const current = await readAll(tx);
      const diff = diffConfigs(current, row.base_config as unknown as GatehouseConfig);
      await applyChanges(tx, diff.changes, log);
      const waves = (row.waves as unknown as WaveRecord[]).map((w) => ({ ...w }));
      waves[row.wave] = {
        ...waves[row.wave]!,
        state: outcome.state,
        finished_at: now,
        evidence: outcome.evidence ?? waves[row.wave]!.evidence,
      };
      const updated = await tx.rollout.update({
        where: { id },
        data: {
          state: outcome.state,
          waves: json(waves),
          rollback_version: version,
          reason: outcome.reason,
          updated_at: new Date(now),
        },
        omit: SUMMARY,
      });
      return toRollout(updated);
    },
    { rollout: id, timeoutMs: 15 * 60_000 },
  );
}

/** A rollout as the Admin API shows it (Kong's seconds for timestamps, versions as numbers). */
export function rolloutJson(r: Rollout) {
  const sec = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));
  return {
    id: r.id,
    state: r.state,
    current_wave: r.wave,
    soak: r.plan.soak_ms / 1000,
    gate: r.plan.gate,
    base_version: Number(r.baseVersion),
    target_version: Number(r.targetVersion),
    rollback_version: r.rollbackVersion === null ? null : Number(r.rollbackVersion),
    reason: r.reason,
    waves: r.waves.map((w) => ({
      ...(w.selector.everyone ? { everyone: true } : w.selector),
      state: w.state,
      started_at: sec(w.started_at),
      finished_at: sec(w.finished_at),
      evidence: w.evidence,
    })),
    created_at: sec(r.createdAt),
    updated_at: sec(r.updatedAt),
  };
}
