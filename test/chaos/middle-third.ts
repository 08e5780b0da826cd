/**
 * The shape most rows share: an open-loop load on one data plane for the profile's duration, a
 * fault injected a third of the way in and healed at two thirds. `inject` and `heal` run the fault
 * (and may watch for its effect before returning: detection, recovery); the times they started and
 * finished come back with the load's record, so a row can cut its windows (baseline before the
 * fault, the fault itself) out of it.
 */
import type { DpHandle } from '../../e2e/helpers/processes.js';
import { sleep } from './fleet.js';
import { offsetOf, openLoop, sendLateness, type LoadRecord } from './load.js';
import { openLoopInThread } from './load-thread.js';
import type { Profile } from './row.js';

export interface MiddleThird {
  readonly record: LoadRecord;
  /** performance.now() when the fault was injected and when it was healed. */
  readonly injectedAt: number;
  readonly healedAt: number;
  /** Where the load ran: the thread's scheduling class (load-thread.ts), or `main thread`. */
  readonly sched: string;
}

/**
 * The generator's own lateness in each window (`sendLateness`), with where it ran: a row logs it
 * beside its p99s, so a delta the instrument made shows as such (docs/chaos.md, "The instrument").
 */
export function instrumentLine(
  run: MiddleThird,
  windows: readonly { name: string; from: number; to: number }[],
): string {
  const r = run.record;
  return (
    `generator (${run.sched}) sent late p50/p99 ms: ` +
    windows
      .map((w) => {
        const l = sendLateness(r, offsetOf(r, w.from), offsetOf(r, w.to));
        return `${w.name} ${l.p50Ms.toFixed(2)}/${l.p99Ms.toFixed(2)}`;
      })
      .join(', ')
  );
}

export interface MiddleThirdOptions {
  /**
   * Run the load in a thread of its own (load-thread.ts), so what the fault does on the runner's
   * main thread (spawning a process, polling) is not measured as request latency. Default true;
   * false, or `CHAOS_LOAD_THREAD=0`, puts it on the main thread (A/B runs).
   */
  readonly loadThread?: boolean;
}

export async function faultInMiddleThird(
  dp: DpHandle,
  profile: Profile,
  inject: () => Promise<void>,
  heal: () => Promise<void>,
  opts: MiddleThirdOptions = {},
): Promise<MiddleThird> {
  const third = profile.durationMs / 3;
  const loadOpts = { origin: dp.proxy, path: '/chaos', rate: profile.rate, durationMs: profile.durationMs };
  let load: Promise<LoadRecord>;
  let t0: number;
  let sched = 'main thread';
  // CHAOS_LOAD_THREAD=0 puts the load back on the main thread (for A/B runs of the effect).
  if (opts.loadThread !== false && process.env.CHAOS_LOAD_THREAD !== '0') {
    const thread = openLoopInThread(loadOpts);
    load = thread.record;
    t0 = await thread.started;
    sched = await thread.sched;
    if (Number.isNaN(t0)) return { record: await load, injectedAt: NaN, healedAt: NaN, sched };
  } else {
    load = openLoop(loadOpts);
    t0 = performance.now();
  }
  await sleep(Math.max(0, t0 + third - performance.now()));
  const injectedAt = performance.now();
  await inject();
  await sleep(Math.max(0, t0 + 2 * third - performance.now()));
  const healedAt = performance.now();
  await heal();
  return { record: await load, injectedAt, healedAt, sched };
}
