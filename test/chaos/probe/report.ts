/**
 * Reads what the probe (`lag-probe.mjs`) wrote and says, per process and window of a row, how
 * late its event loop ran (p99 and max of the 10 ms timer's lateness) and how much CPU it used
 * (ms of CPU per second of the window). Only with `CHAOS_PROBE=DIR`; a diagnosis beside a row's
 * figures, never a figure itself (docs/chaos.md, "Where the time goes").
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A window of a row in performance.now() time (the runner's clock). */
export interface ProbeWindow {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

interface Series {
  pid: number;
  role: string;
  /** Per flush: its epoch ms and the IPC messages (by type) a worker received since the one before. */
  ipc: { at: number; counts: Record<string, number> }[];
  /** [epoch ms, lateness ms, cumulative CPU µs] */
  samples: [number, number, number][];
}

function readSeries(dir: string): Series[] {
  const byPid = new Map<number, Series>();
  for (const f of readdirSync(dir)) {
    if (!f.startsWith('probe-') || !f.endsWith('.jsonl')) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      const rec = JSON.parse(line) as Omit<Series, 'ipc'> & { at?: number; ipc?: Record<string, number> };
      const s = byPid.get(rec.pid) ?? { pid: rec.pid, role: rec.role, samples: [], ipc: [] };
      s.samples.push(...rec.samples);
      if (rec.at !== undefined && rec.ipc && Object.keys(rec.ipc).length > 0)
        s.ipc.push({ at: rec.at, counts: rec.ipc });
      byPid.set(rec.pid, s);
    }
  }
  for (const s of byPid.values()) s.samples.sort((a, b) => a[0] - b[0]);
  return [...byPid.values()];
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** CPU (µs, cumulative) at epoch `t`: the last sample at or before it (0 before the first). */
function cpuAt(s: Series, t: number): number {
  let v = 0;
  for (const [at, , cpu] of s.samples) {
    if (at > t) break;
    v = cpu;
  }
  return v;
}

export interface ProbeLine {
  window: string;
  role: string;
  pid: number;
  lagP99Ms: number;
  lagMaxMs: number;
  cpuMsPerS: number;
  /** A worker's IPC messages received in the window (by flush, so to within 1 s), by type. */
  ipc: Record<string, number>;
}

/** One line per process that ran in the window, per window. */
export function probeLines(dir: string, windows: readonly ProbeWindow[]): ProbeLine[] {
  if (!existsSync(dir)) return [];
  const series = readSeries(dir);
  const lines: ProbeLine[] = [];
  for (const w of windows) {
    const from = performance.timeOrigin + w.from;
    const to = performance.timeOrigin + w.to;
    for (const s of series) {
      const inWindow = s.samples.filter(([at]) => at >= from && at < to);
      if (inWindow.length === 0) continue;
      const lags = inWindow.map(([, lag]) => lag);
      const cpuUs = cpuAt(s, to) - cpuAt(s, from);
      const ipc: Record<string, number> = {};
      for (const f of s.ipc) {
        if (f.at < from || f.at >= to + 1000) continue;
        for (const [t, n] of Object.entries(f.counts)) ipc[t] = (ipc[t] ?? 0) + n;
      }
      lines.push({
        window: w.name,
        role: s.role,
        pid: s.pid,
        lagP99Ms: Math.round(percentile(lags, 99) * 10) / 10,
        lagMaxMs: Math.round(Math.max(...lags) * 10) / 10,
        cpuMsPerS: Math.round(cpuUs / 1000 / ((to - from) / 1000)),
        ipc,
      });
    }
  }
  return lines;
}

/**
 * Logs the probe's lines for `windows` when the probe is on (`CHAOS_PROBE`), each cut at
 * `loadEnd` (when the load stopped: a process's CPU per second after it would not compare).
 */
export function logProbe(
  windows: readonly ProbeWindow[],
  log: (line: string) => void,
  loadEnd = Infinity,
): void {
  const dir = process.env.CHAOS_PROBE;
  if (!dir) return;
  for (const whole of windows) {
    const w = { ...whole, to: Math.min(whole.to, loadEnd) };
    if (w.to <= w.from) continue;
    const lines = probeLines(dir, [w]).sort((a, b) => b.cpuMsPerS - a.cpuMsPerS);
    log(
      `probe ${w.name} (${((w.to - w.from) / 1000).toFixed(1)} s): ` +
        lines
          .map(
            (l) =>
              `${l.role}[${l.pid}] cpu ${l.cpuMsPerS} ms/s lag p99 ${l.lagP99Ms} max ${l.lagMaxMs} ms` +
              (Object.keys(l.ipc).length > 0 ? ` ipc ${JSON.stringify(l.ipc)}` : ''),
          )
          .join('; '),
    );
  }
}
