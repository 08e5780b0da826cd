/**
 * wrk (Debian's `wrk`) as the chaos suite's second opinion on its own load generator (load.ts):
 * the matrix asks that the open-loop generator be cross-checked against wrk on one row (F4 does).
 * wrk is closed-loop — each connection sends its next request when the last one is answered — and
 * paced here (`paceMs`: it waits between answer and next request), so one connection paced 20 ms
 * offers the same light load as the open-loop generator at 50 requests/s, idle gaps included (an
 * idle proxy and client wake up for each request, which a back-to-back loop never does). Their
 * latencies must then agree within a bound: a generator that added its own delay would show here.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openLoopInThread } from './load-thread.js';
import type { LoadRecord } from './load.js';
import { between, exactly, type Figure } from './row.js';

const SCRIPT = fileURLToPath(new URL('./wrk-report.lua', import.meta.url));

export interface WrkRun {
  readonly requests: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx/3xx answers. */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Runs `wrk` against `url` (one thread) and reads its summary line; throws when wrk is missing. */
export async function runWrk(
  url: string,
  opts: {
    connections: number;
    durationS: number;
    /** Each connection waits this long after an answer before its next request (wrk's `delay`). */
    paceMs?: number;
    headers?: Readonly<Record<string, string>>;
  },
): Promise<WrkRun> {
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.durationS}s`, '--timeout', '5s', '-s', SCRIPT];
  for (const [name, value] of Object.entries(opts.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(url);
  const env = opts.paceMs === undefined ? process.env : { ...process.env, WRK_PACE_MS: String(opts.paceMs) };
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(e.code === 'ENOENT' ? 'wrk is not installed (apt-get install wrk)' : `wrk: ${e.message}`),
      ),
    );
    child.on('close', (c) => resolve(c));
  });
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (code !== 0 || line === undefined) throw new Error(`wrk exited ${code}:\n${out}`);
  const j = JSON.parse(line.slice('WRK_JSON '.length)) as {
    requests: number;
    errors: Record<string, number>;
    p50_us: number;
    p99_us: number;
    max_us: number;
  };
  return {
    requests: j.requests,
    errors: Object.values(j.errors).reduce((a, b) => a + b, 0),
    p50Ms: j.p50_us / 1000,
    p99Ms: j.p99_us / 1000,
    maxMs: j.max_us / 1000,
  };
}

/**
 * The cross-check's two loads, **at the same time** on `origin + path`: wrk with one connection
 * paced 20 ms, and the generator in its thread at 50 requests/s, for `seconds`. Side by side, both
 * meet the same moments of a shared box (one after the other, a 3 s window could catch the data
 * plane descheduled and the other not: the generator once read a p50 of 10 ms against wrk's 1.8
 * that way at load average 14). The data plane serves 100 requests/s, still a light load, and the
 * two streams drift in phase (wrk's period is 20 ms plus each answer), so neither keeps arriving
 * behind the other.
 */
export async function runCrossCheck(
  origin: string,
  path: string,
  seconds = 3,
): Promise<{ wrk: WrkRun; record: LoadRecord; sched: string }> {
  const thread = openLoopInThread({ origin, path, rate: 50, durationMs: seconds * 1000 });
  await thread.started;
  const [wrk, record] = await Promise.all([
    runWrk(`${origin}${path}`, { connections: 1, durationS: seconds, paceMs: 20 }),
    thread.record,
  ]);
  return { wrk, record, sched: await thread.sched };
}

/** Largest difference allowed between the two instruments' medians at one request in flight. */
export const CROSS_CHECK_P50_MS = 1;

/**
 * The cross-check's verdict: the generator's median minus wrk's within ±`CROSS_CHECK_P50_MS`
 * (an instrument that read lower than wrk by more than that would be as wrong as one that read
 * higher), and neither saw a failure. The p99s are not judged: the generator counts its own late
 * sends from the due time and wrk does not count a send it made late, so their tails differ by
 * what the box's scheduler did to each; both are logged.
 */
export function crossCheckFigures(
  wrk: WrkRun,
  generator: { readonly requests: number; readonly failed: number; readonly p50Ms: number },
): Figure[] {
  return [
    between(
      'p50, generator − wrk (cross-check, 50/s)',
      generator.p50Ms - wrk.p50Ms,
      -CROSS_CHECK_P50_MS,
      CROSS_CHECK_P50_MS,
      'ms',
      2,
    ),
    exactly('failures seen by wrk (cross-check)', wrk.errors, 0, wrk.requests),
    exactly('failures seen by the generator (cross-check)', generator.failed, 0, generator.requests),
  ];
}
