/**
 * The chaos suite's open-loop load generator. Requests are scheduled by their intended send time
 * (request i at i/rate seconds after the start), whatever happened to the ones before, and each
 * latency is measured from that intended time, not from when the request could actually be sent:
 * a stall shows as the latency it caused every request scheduled during it (no coordinated
 * omission, Gil Tene's "How NOT to measure latency"). Requests go through an undici Pool
 * (keep-alive, `connections` sockets at most; beyond, requests wait in the pool's queue, and that
 * wait is part of their latency). Latencies are kept per request, so any window of the run (a
 * baseline, a fault) is summarised afterwards into an HDR histogram (hdr-histogram-js).
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';

export interface OpenLoopOptions {
  /** `http://host:port`. */
  readonly origin: string;
  readonly path: string;
  /** Requests per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** Most sockets (default 64). */
  readonly connections?: number;
  /** A request without its response head by then fails (default 5000 ms). */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What one run recorded: per request, its intended send time, latency and outcome. */
export interface LoadRecord {
  /** performance.now() of the intended time of request 0. */
  readonly startedAt: number;
  readonly intervalMs: number;
  /** Latency of request i in ms, from its intended send time to its response's end; NaN: failed. */
  readonly latencyMs: Float64Array;
  /** HTTP status of request i; 0: no response (the error is counted in `errors`). */
  readonly status: Uint16Array;
  /** Error codes of requests that got no response, counted. */
  readonly errors: ReadonlyMap<string, number>;
}

export interface WindowSummary {
  readonly requests: number;
  /** Requests without a 2xx/3xx/4xx response: 5xx or no response at all. */
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Runs the load; resolves once every request is answered or failed. */
export async function openLoop(opts: OpenLoopOptions): Promise<LoadRecord> {
  const total = Math.floor((opts.durationMs / 1000) * opts.rate);
  const intervalMs = 1000 / opts.rate;
  const latencyMs = new Float64Array(total).fill(NaN);
  const status = new Uint16Array(total);
  const errors = new Map<string, number>();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const pool = new Pool(opts.origin, {
    connections: opts.connections ?? 64,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  });
  const startedAt = performance.now();
  let outstanding = 0;
  let next = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  const fire = (i: number): void => {
    outstanding++;
    pool
      .request({ path: opts.path, method: 'GET', headers: opts.headers ?? {} })
      .then(async (res) => {
        await res.body.dump();
        status[i] = res.statusCode;
        latencyMs[i] = performance.now() - (startedAt + i * intervalMs);
      })
      .catch((err: unknown) => {
        const code = (err as { code?: unknown }).code;
        const key = typeof code === 'string' ? code : (err as Error).name;
        errors.set(key, (errors.get(key) ?? 0) + 1);
      })
      .finally(() => {
        outstanding--;
        if (next >= total && outstanding === 0) finish();
      });
  };

  const tick = (): void => {
    const now = performance.now() - startedAt;
    while (next < total && next * intervalMs <= now) fire(next++);
    if (next < total) setTimeout(tick, Math.max(0, next * intervalMs - (performance.now() - startedAt)));
    else if (outstanding === 0) finish();
  };
  tick();
  await done;
  await pool.close();
  return { startedAt, intervalMs, latencyMs, status, errors };
}

/** Whether request i of `r` failed (no response, or a 5xx). */
export function failed(r: LoadRecord, i: number): boolean {
  const s = r.status[i]!;
  return s === 0 || s >= 500;
}

/**
 * The requests intended between `fromMs` and `toMs` after the start (performance.now() based
 * times are turned into offsets by the caller: `at - r.startedAt`).
 */
export function summarize(r: LoadRecord, fromMs = 0, toMs = Infinity): WindowSummary {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const first = Math.max(0, Math.ceil(fromMs / r.intervalMs));
  const last = Math.min(r.latencyMs.length, Math.ceil(toMs / r.intervalMs));
  let requests = 0;
  let bad = 0;
  for (let i = first; i < last; i++) {
    requests++;
    if (failed(r, i)) bad++;
    const l = r.latencyMs[i]!;
    if (!Number.isNaN(l)) h.recordValue(Math.max(1, Math.round(l * 1000)));
  }
  const us = (v: number) => v / 1000;
  const summary = {
    requests,
    failed: bad,
    p50Ms: h.totalCount === 0 ? NaN : us(h.getValueAtPercentile(50)),
    p99Ms: h.totalCount === 0 ? NaN : us(h.getValueAtPercentile(99)),
    maxMs: h.totalCount === 0 ? NaN : us(h.maxValue),
  };
  h.destroy();
  return summary;
}

/** Offset (ms after the load's start) of a performance.now() time. */
export const offsetOf = (r: LoadRecord, at: number): number => at - r.startedAt;
