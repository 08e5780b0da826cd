/**
 * The shape most rows share: an open-loop load on one data plane for the profile's duration, a
 * fault injected a third of the way in and healed at two thirds. `inject` and `heal` run the fault
 * (and may watch for its effect before returning: detection, recovery); the times they started and
 * finished come back with the load's record, so a row can cut its windows (baseline before the
 * fault, the fault itself) out of it.
 */
import type { DpHandle } from '../../e2e/helpers/processes.js';
import { sleep } from './fleet.js';
import { openLoop, type LoadRecord } from './load.js';
import type { Profile } from './row.js';

export interface MiddleThird {
  readonly record: LoadRecord;
  /** performance.now() when the fault was injected and when it was healed. */
  readonly injectedAt: number;
  readonly healedAt: number;
}

export async function faultInMiddleThird(
  dp: DpHandle,
  profile: Profile,
  inject: () => Promise<void>,
  heal: () => Promise<void>,
): Promise<MiddleThird> {
  const third = profile.durationMs / 3;
  const load = openLoop({
    origin: dp.proxy,
    path: '/chaos',
    rate: profile.rate,
    durationMs: profile.durationMs,
  });
  const t0 = performance.now();
  await sleep(third);
  const injectedAt = performance.now();
  await inject();
  await sleep(Math.max(0, t0 + 2 * third - performance.now()));
  const healedAt = performance.now();
  await heal();
  return { record: await load, injectedAt, healedAt };
}
