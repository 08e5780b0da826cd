/**
 * The open-loop load in a thread of its own (`openLoopInThread`): the runner's main thread also
 * injects the fault — spawns a CP or `gatehouse keys` (a spawn blocks its caller until the child
 * has exec'd: 5–300 ms on this shared box), polls /status — and every request scheduled while
 * that thread is busy would be measured late by as much, a latency no data plane caused
 * (docs/chaos.md, "Where the time goes"). The thread's record is put back on the main thread's
 * clock (performance.now() differs per thread: each has its own time origin).
 */
import { readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openLoop, type LoadRecord, type OpenLoopOptions } from './load.js';

interface ThreadRecord {
  /** Epoch ms (timeOrigin + now) of request 0's intended time. */
  startedAtEpoch: number;
  intervalMs: number;
  latencyMs: Float64Array;
  status: Uint16Array;
  errors: [string, number][];
  sendLateMs: Float64Array;
}

export interface ThreadLoad {
  /** When request 0 was due (the caller's performance.now()): the thread takes a while to start. */
  readonly started: Promise<number>;
  /** The thread's scheduling class: `SCHED_FIFO 10`, or why it stayed in the normal one. */
  readonly sched: Promise<string>;
  readonly record: Promise<LoadRecord>;
}

/** Runs `openLoop(opts)` in a worker thread; the record's times are the caller's performance.now(). */
export function openLoopInThread(opts: OpenLoopOptions): ThreadLoad {
  let started: (at: number) => void = () => {};
  const startedP = new Promise<number>((resolve) => (started = resolve));
  let sched: (s: string) => void = () => {};
  const schedP = new Promise<string>((resolve) => (sched = resolve));
  const record = new Promise<LoadRecord>((resolve, reject) => {
    // The runner runs from TypeScript (tsx): the thread registers tsx, then loads this module.
    const worker = new Worker(
      `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`,
      { eval: true, workerData: opts },
    );
    let done = false;
    worker.on('message', (m: ThreadRecord | { startedAtEpoch: number; started: true; sched: string }) => {
      if ('started' in m) {
        sched(m.sched);
        started(m.startedAtEpoch - performance.timeOrigin);
        return;
      }
      const r = m;
      done = true;
      resolve({
        startedAt: r.startedAtEpoch - performance.timeOrigin,
        intervalMs: r.intervalMs,
        latencyMs: r.latencyMs,
        status: r.status,
        errors: new Map(r.errors),
        sendLateMs: r.sendLateMs,
      });
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`the load thread exited (${code}) without its record`));
    });
  });
  // A thread that fails before it starts: `started` must not wait forever.
  record.catch(() => {
    started(NaN);
    sched('none (the thread failed)');
  });
  return { started: startedP, sched: schedP, record };
}

/**
 * Puts the load thread in the real-time class (SCHED_FIFO, `CHAOS_LOAD_RT` = its priority, default
 * 10; `0` leaves it in the normal class) with util-linux's `chrt` on its thread id (from
 * /proc/thread-self: the runner and what it starts keep their class). On a shared box a thread of
 * the normal class waits behind other runnable ones — a nice value does not help across sessions
 * while the kernel groups tasks by session (`sched_autogroup_enabled`) — and each wait is latency
 * no data plane caused: a timer due every 5 ms in a worker fired up to 15–59 ms late at p99 at load
 * average 9, and 0.00–0.04 ms in SCHED_FIFO (docs/chaos.md, "The instrument"). The thread's CPU is
 * bounded: it spins at most a quarter of the interval per request (load.ts), and the kernel keeps
 * 5 % of each second for the normal class (`sched_rt_runtime_us`). Needs root (the suite runs as
 * root in CI); elsewhere the thread stays in the normal class. Returns what the thread got.
 */
function realtimeThread(): string {
  const prio = Number(process.env.CHAOS_LOAD_RT ?? 10);
  if (!Number.isInteger(prio) || prio <= 0) return 'normal class (CHAOS_LOAD_RT=0)';
  const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
  const r = spawnSync('chrt', ['-f', '-p', String(prio), tid], { encoding: 'utf8' });
  if (r.status === 0) return `SCHED_FIFO ${prio}`;
  return `normal class (chrt: ${(r.error?.message ?? r.stderr).trim()})`;
}

if (!isMainThread && parentPort !== null) {
  const sched = realtimeThread();
  // openLoop fixes request 0's time synchronously, before its first await.
  const load = openLoop(workerData as OpenLoopOptions);
  parentPort.postMessage({
    started: true,
    sched,
    startedAtEpoch: performance.timeOrigin + performance.now(),
  });
  const r = await load;
  const out: ThreadRecord = {
    startedAtEpoch: performance.timeOrigin + r.startedAt,
    intervalMs: r.intervalMs,
    latencyMs: r.latencyMs,
    status: r.status,
    errors: [...r.errors],
    sendLateMs: r.sendLateMs,
  };
  parentPort.postMessage(out, [
    r.latencyMs.buffer as ArrayBuffer,
    r.status.buffer as ArrayBuffer,
    r.sendLateMs.buffer as ArrayBuffer,
  ]);
}
