/**
 * The Rollouts screen's facts (docs/rollouts.md): a rollout as `GET /config/rollouts` answers
 * it, how a wave is named, and the start form's fields made into `POST /config/rollouts`' body,
 * with each field's fault named before anything is sent.
 */
export interface WaveEvidenceGroup {
  data_planes: number;
  requests: number;
  errors_5xx: number;
  error_rate: number;
  p99_ms: number | null;
}

export interface Wave {
  labels?: Record<string, string>;
  percentage?: number;
  everyone?: boolean;
  state: string;
  started_at: number | null;
  finished_at: number | null;
  evidence: { wave?: WaveEvidenceGroup; rest?: WaveEvidenceGroup; breaches?: string[] } | null;
}

export interface Rollout {
  id: string;
  state: string;
  current_wave: number;
  soak: number;
  gate: Record<string, number>;
  base_version: number;
  target_version: number;
  rollback_version: number | null;
  reason: string | null;
  waves: Wave[];
  created_at: number;
  updated_at: number;
}

export function waveText(w: Pick<Wave, 'labels' | 'percentage' | 'everyone'>): string {
  if (w.everyone) return 'every data plane';
  if (w.labels)
    return `DPs labelled ${Object.entries(w.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`;
  if (w.percentage !== undefined) return `${w.percentage} % of the DPs`;
  return '—';
}

export interface RolloutForm {
  config: string;
  /** One wave a line: `25%` or `canary=true, zone=a`. */
  waves: string;
  soak: string;
  max_error_rate: string;
  max_error_rate_increase: string;
  max_p99_latency_ratio: string;
  min_requests: string;
}

export type WaveSpec = { percentage: number } | { labels: Record<string, string> };

export type FormResult =
  | { ok: true; body: { config: string; waves: WaveSpec[]; soak?: number; gate?: Record<string, number> } }
  | { ok: false; errors: Partial<Record<keyof RolloutForm, string>> };

/** A label key or value as `--label` takes it (so never `__proto__`). */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** One line of the waves field as a wave, or the fault in it. */
export function parseWave(line: string): WaveSpec | string {
  const t = line.trim();
  const pct = /^(\d{1,3}(?:\.\d+)?)\s*%$/.exec(t);
  if (pct) {
    const p = Number(pct[1]);
    return p > 0 && p <= 100 ? { percentage: p } : `"${t}": a percentage is above 0 and at most 100`;
  }
  const labels: Record<string, string> = {};
  for (const part of t.split(',')) {
    const [k, v, ...rest] = part.trim().split('=');
    if (rest.length || k === undefined || v === undefined || !LABEL.test(k) || !LABEL.test(v))
      return `"${t}": write a percentage (25%) or labels (canary=true, zone=a)`;
    labels[k] = v;
  }
  return { labels };
}

function number(s: string, min: number, max: number, integer: boolean): number | string | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
    return `expected ${integer ? 'a whole number' : 'a number'}`;
  if (n < min || n > max) return `must be between ${min} and ${max}`;
  return n;
}

const GATE: ReadonlyArray<[keyof RolloutForm & keyof FormGate, number, number, boolean]> = [
  ['max_error_rate', 0, 1, false],
  ['max_error_rate_increase', 0, 1, false],
  ['max_p99_latency_ratio', 1, 1000, false],
  ['min_requests', 0, 1e9, true],
];
type FormGate = Pick<
  RolloutForm,
  'max_error_rate' | 'max_error_rate_increase' | 'max_p99_latency_ratio' | 'min_requests'
>;

export function rolloutRequest(form: RolloutForm): FormResult {
  const errors: Partial<Record<keyof RolloutForm, string>> = {};
  if (!form.config.trim())
    errors.config = 'the new configuration is required (load the current one and change it)';
  const lines = form.waves.split('\n').filter((l) => l.trim() !== '');
  const waves: WaveSpec[] = [];
  if (!lines.length) errors.waves = 'at least one wave (the last wave, every DP, is added after them)';
  else if (lines.length > 9) errors.waves = 'at most 9 waves (with the last one, every DP, 10)';
  else
    for (const l of lines) {
      const w = parseWave(l);
      if (typeof w === 'string') {
        errors.waves = w;
        break;
      }
      waves.push(w);
    }
  const soak = number(form.soak, 1, 86_400, true);
  if (typeof soak === 'string') errors.soak = soak;
  const gate: Record<string, number> = {};
  for (const [field, min, max, integer] of GATE) {
    const v = number(form[field], min, max, integer);
    if (typeof v === 'string') errors[field] = v;
    else if (v !== undefined) gate[field] = v;
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    body: {
      config: form.config,
      waves,
      ...(typeof soak === 'number' ? { soak } : {}),
      ...(Object.keys(gate).length ? { gate } : {}),
    },
  };
}
