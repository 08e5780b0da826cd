/**
 * The open-loop load in a thread of its own (`openLoopInThread`): the runner's main thread also
 * injects the fault — spawns a CP or `gatehouse keys` (a spawn blocks its caller until the child
 * has exec'd: 5–300 ms on this shared box), polls /status — and every request scheduled while
 * that thread is busy would be measured late by as much, a latency no data plane caused
 * (docs/chaos.md, "Where the time goes"). The thread's record is put back on the main thread's
 * clock (performance.now() differs per thread: each has its own time origin).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openLoop, type LoadRecord, type OpenLoopOptions } from './load.js';

interface ThreadRecord {
  /** Epoch ms (timeOrigin + now) of request 0's intended time. */
  startedAtEpoch: number;
  intervalMs: number;
  latencyMs: Float64Array;
  status: Uint16Array;
  errors: [string, number][];
}

export interface ThreadLoad {
  /** When request 0 was due (the caller's performance.now()): the thread takes a while to start. */
  readonly started: Promise<number>;
  readonly record: Promise<LoadRecord>;
}

/** Runs `openLoop(opts)` in a worker thread; the record's times are the caller's performance.now(). */
export function openLoopInThread(opts: OpenLoopOptions): ThreadLoad {
  let started: (at: number) => void = () => {};
  const startedP = new Promise<number>((resolve) => (started = resolve));
  const record = new Promise<LoadRecord>((resolve, reject) => {
    // The runner runs from TypeScript (tsx): the thread registers tsx, then loads this module.
    const worker = new Worker(
      `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`,
      { eval: true, workerData: opts },
    );
    let done = false;
    worker.on('message', (m: ThreadRecord | { startedAtEpoch: number; started: true }) => {
      if ('started' in m) {
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
      });
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`the load thread exited (${code}) without its record`));
    });
  });
  // A thread that fails before it starts: `started` must not wait forever.
  record.catch(() => started(NaN));
  return { started: startedP, record };
}

if (!isMainThread && parentPort !== null) {
  // openLoop fixes request 0's time synchronously, before its first await.
  const load = openLoop(workerData as OpenLoopOptions);
  parentPort.postMessage({ started: true, startedAtEpoch: performance.timeOrigin + performance.now() });
  const r = await load;
  const out: ThreadRecord = {
    startedAtEpoch: performance.timeOrigin + r.startedAt,
    intervalMs: r.intervalMs,
    latencyMs: r.latencyMs,
    status: r.status,
    errors: [...r.errors],
  };
  parentPort.postMessage(out, [r.latencyMs.buffer as ArrayBuffer, r.status.buffer as ArrayBuffer]);
}
