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
