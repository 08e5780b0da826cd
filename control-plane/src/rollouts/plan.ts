/**
 * A staged rollout's plan (docs/rollouts.md), in the one schema language: the waves (a label
 * selector or a percentage of the DPs each; the last wave, everyone, is implied), the soak time
 * and the health gate. Pure: parsing, wave membership and the gate decision; no I/O.
 */
import { createHash } from 'node:crypto';
import { labelsError, mergeSketch, newSketch, schema, sketchQuantiles, type Sketch } from '@gatehouse/shared';

const { t, validate } = schema;

const selectorSchema = t.record(
  {
    labels: t.map(t.string({ len_min: 1, len_max: 63 }), t.string({ len_max: 63 }), {
      len_min: 1,
      len_max: 16,
      custom_validator: (v: Record<string, unknown>) => labelsError(v as Record<string, string>),
      description: 'The DPs holding every one of these labels (`--label k=v`).',
    }),
    percentage: t.number({
      between: [0, 100],
      description: 'This share of the DPs, picked by a hash of the rollout id and the node id.',
    }),
  },
  {
    entity_checks: [{ only_one_of: ['labels', 'percentage'] }, { at_least_one_of: ['labels', 'percentage'] }],
  },
);

const gateSchema = t.record({
  max_error_rate: t.number({
    between: [0, 1],
    required: true,
    default: 0.05,
    description: "Highest share of 5xx answers on the wave's DPs.",
  }),
  max_error_rate_increase: t.number({
    between: [0, 1],
    description: "Highest excess of the wave's 5xx share over the other DPs' (unset: not checked).",
  }),
  max_p99_latency_ratio: t.number({
    between: [1, 1000],
    description: "Highest ratio of the wave's p99 latency to the other DPs' (unset: not checked).",
  }),
  min_requests: t.integer({
    between: [1, 1_000_000_000],
    required: true,
    default: 20,
    description: 'Requests the wave must serve during the soak to be judged (fewer: the rollout fails).',
  }),
});

export const planSchema = t.record({
  waves: t.array(selectorSchema, {
    required: true,
    len_min: 1,
    len_max: 10,
    description: 'The canary waves, in order; a last wave of every DP follows them.',
  }),
  soak: t.integer({
    between: [1, 86_400],
    required: true,
    default: 300,
    description: 'Seconds each wave soaks before the gate passes it.',
  }),
  gate: t.record(gateSchema.fields, { required: true, default: {} }),
});

export interface WaveSelector {
  labels?: Record<string, string>;
  percentage?: number;
  /** The implied last wave. */
  everyone?: true;
}

export interface Gate {
  max_error_rate: number;
  max_error_rate_increase?: number | undefined;
  max_p99_latency_ratio?: number | undefined;
  min_requests: number;
}

export interface RolloutPlan {
  /** The waves given, then `{ everyone: true }`. */
  waves: WaveSelector[];
  soak_ms: number;
  gate: Gate;
}

/** The plan part of a `POST /config/rollouts` body; throws Kong's schema violation (400). */
export function parsePlan(input: Record<string, unknown>): RolloutPlan {
  const { value } = validate<{
    waves: { labels?: Record<string, string> | null; percentage?: number | null }[];
    soak: number;
    gate: Record<string, number | null | undefined>;
  }>(planSchema, input);
  const waves: WaveSelector[] = value.waves.map((w) =>
    w.labels != null ? { labels: { ...w.labels } } : { percentage: w.percentage! },
  );
  waves.push({ everyone: true });
  const g = value.gate;
  const gate: Gate = { max_error_rate: g.max_error_rate!, min_requests: g.min_requests! };
  if (g.max_error_rate_increase != null) gate.max_error_rate_increase = g.max_error_rate_increase;
  if (g.max_p99_latency_ratio != null) gate.max_p99_latency_ratio = g.max_p99_latency_ratio;
  return { waves, soak_ms: value.soak * 1000, gate };
}

export interface DataPlaneIdentity {
  nodeId: string;
  labels: Readonly<Record<string, string>>;
}

/** Where a node falls in [0, 10000): the same on every replica for one rollout. */
export function nodeBucket(rolloutId: string, nodeId: string): number {
  return createHash('sha256').update(`${rolloutId}\0${nodeId}`).digest().readUInt32BE(0) % 10_000;
}

function matches(w: WaveSelector, rolloutId: string, dp: DataPlaneIdentity): boolean {
  if (w.everyone) return true;
  if (w.labels) return Object.entries(w.labels).every(([k, v]) => dp.labels[k] === v);
  return nodeBucket(rolloutId, dp.nodeId) < Math.round((w.percentage ?? 0) * 100);
}

/** The first wave (0-based, as `current_wave`) whose selector takes the DP; the last wave takes everyone. */
export function waveOf(
  plan: Pick<RolloutPlan, 'waves'>,
  rolloutId: string,
  dp: DataPlaneIdentity,
): number | null {
  const i = plan.waves.findIndex((w) => matches(w, rolloutId, dp));
  return i === -1 ? null : i;
}

/** Is the DP in one of the waves 0..`upTo` (the waves rolled out so far)? */
export function inWaves(
  plan: Pick<RolloutPlan, 'waves'>,
  upTo: number,
  rolloutId: string,
  dp: DataPlaneIdentity,
): boolean {
  const wave = waveOf(plan, rolloutId, dp);
  return wave !== null && wave <= upTo;
}

/**
 * Where each data plane stands in a rollout (`GET /config/rollouts/{id}/data-planes`): its wave,
 * whether the waves so far include it, and whether the rollout holds it at the base version now
 * (running, outside the waves so far, not past the base: what the snapshot selection does).
 */
export function rolloutMembership(
  r: { id: string; state: string; wave: number; baseVersion: bigint; plan: Pick<RolloutPlan, 'waves'> },
  dps: readonly {
    id: string;
    hostname: string;
    labels: Readonly<Record<string, string>>;
    config_version: number;
  }[],
) {
  return dps.map((dp) => {
    const wave = waveOf(r.plan, r.id, { nodeId: dp.id, labels: dp.labels });
    const inRolledWaves = wave !== null && wave <= r.wave;
    return {
      id: dp.id,
      hostname: dp.hostname,
      config_version: dp.config_version,
      wave,
      in_rolled_waves: inRolledWaves,
      held: r.state === 'running' && !inRolledWaves && dp.config_version <= Number(r.baseVersion),
    };
  });
}

/** A group of DPs' traffic over the soak window. */
export interface GroupFigures {
  data_planes: number;
  requests: number;
  errors_5xx: number;
  error_rate: number;
  /**
   * p99 latency (ms) of the group's requests: from the DPs' latency sketches merged, when every DP
   * that served requests has one; else the request-weighted mean of the DPs' p99s. Null without
   * requests.
   */
  p99_ms: number | null;
}

export interface NodeFigures {
  nodeId: string;
  requests: number;
  errors_5xx: number;
  p99_ms: number | null;
  /** The DP's latency over the window (merged per group for the group's p99). */
  latency?: Sketch | undefined;
}

export function groupFigures(nodes: readonly NodeFigures[]): GroupFigures {
  let requests = 0;
  let errors = 0;
  let weighted = 0;
  let weight = 0;
  const merged = newSketch();
  let mergeable = true;
  for (const n of nodes) {
    requests += n.requests;
    errors += n.errors_5xx;
    if (n.requests > 0) {
      if (n.latency) mergeSketch(merged, n.latency);
      else mergeable = false;
    }
    if (n.p99_ms !== null && n.requests > 0) {
      weighted += n.p99_ms * n.requests;
      weight += n.requests;
    }
  }
  const p99 =
    mergeable && merged.count > 0
      ? sketchQuantiles(merged).p99
      : weight > 0
        ? Math.round((weighted / weight) * 1000) / 1000
        : null;
  return {
    data_planes: nodes.length,
    requests,
    errors_5xx: errors,
    error_rate: requests > 0 ? Math.round((errors / requests) * 1e6) / 1e6 : 0,
    p99_ms: p99,
  };
}

export type GateVerdict =
  { decision: 'pass' | 'wait'; breaches: [] } | { decision: 'fail'; breaches: string[] };

/**
 * The gate's decision for a wave: `fail` as soon as the wave has served `min_requests` and breaks
 * a limit (no need to soak out a bad change); `pass` once the soak is over with no breach; `wait`
 * before. A soak that ends with fewer than `min_requests` fails (a change nobody exercised is not
 * judged healthy) once the soak's figures are all in (`figuresIn`: DPs summarise their traffic
 * every few seconds, so the last of the soak reaches the CP after it ends). The comparisons with
 * the other DPs apply only when they served `min_requests`.
 */
export function judge(
  gate: Gate,
  wave: GroupFigures,
  rest: GroupFigures | null,
  soakOver: boolean,
  figuresIn: boolean = soakOver,
): GateVerdict {
  if (wave.requests < gate.min_requests) {
    if (!soakOver || !figuresIn) return { decision: 'wait', breaches: [] };
    return {
      decision: 'fail',
      breaches: [
        `the wave served ${wave.requests} requests during the soak, fewer than min_requests (${gate.min_requests})`,
      ],
    };
  }
  const breaches: string[] = [];
  if (wave.error_rate > gate.max_error_rate)
    breaches.push(`error rate ${wave.error_rate} above max_error_rate ${gate.max_error_rate}`);
  const comparable = rest !== null && rest.requests >= gate.min_requests;
  if (comparable && gate.max_error_rate_increase !== undefined) {
    const increase = Math.round((wave.error_rate - rest.error_rate) * 1e6) / 1e6;
    if (increase > gate.max_error_rate_increase)
      breaches.push(
        `error rate ${wave.error_rate} is ${increase} above the other DPs' ${rest.error_rate}, more than max_error_rate_increase ${gate.max_error_rate_increase}`,
      );
  }
  if (
    comparable &&
    gate.max_p99_latency_ratio !== undefined &&
    wave.p99_ms !== null &&
    rest.p99_ms !== null &&
    rest.p99_ms > 0
  ) {
    const ratio = Math.round((wave.p99_ms / rest.p99_ms) * 1000) / 1000;
    if (ratio > gate.max_p99_latency_ratio)
      breaches.push(
        `p99 latency ${wave.p99_ms} ms is ${ratio}x the other DPs' ${rest.p99_ms} ms, above max_p99_latency_ratio ${gate.max_p99_latency_ratio}`,
      );
  }
  if (breaches.length) return { decision: 'fail', breaches };
  return soakOver ? { decision: 'pass', breaches: [] } : { decision: 'wait', breaches: [] };
}
