/**
 * F1 (CP kill -9 under load) and F2 (CP SIGTERM under load): the control plane stops a third of
 * the way into an open-loop load on a data plane and starts again at two thirds. The data plane
 * serves its last snapshot throughout. Figures: failed requests (0), the p99 while the CP is down
 * against the p99 before (≤ +2 ms), time until the DP reports the stream lost (≤ 15 s), time from
 * the CP answering again until the DP is connected (≤ 5 s); F2 also the DP's error lines (0).
 */
import { CP_PRIORITY, Fleet, dpStatus, whenTrue } from '../fleet.js';
import { offsetOf, summarize } from '../load.js';
import { faultInMiddleThird, instrumentLine } from '../middle-third.js';
import { logProbe } from '../probe/report.js';
import { atMost, exactly, p99Delta, type Figure, type Profile, type Row } from '../row.js';

async function cpStopUnderLoad(
  signal: 'SIGKILL' | 'SIGTERM',
  profile: Profile,
  log: (l: string) => void,
): Promise<Figure[]> {
  const fleet = await Fleet.start();
  try {
    const dp = fleet.dps[0]!;
    const outputMark = dp.proc.output.length;
    let lostAt: number | null = null;
    let upAt = 0;
    let backAt: number | null = null;
    const run = await faultInMiddleThird(
      dp,
      profile,
      async () => {
        await fleet.stopCp(signal);
        lostAt = await whenTrue(async () => (await dpStatus(dp))?.sync.state !== 'connected', 30_000);
      },
      async () => {
        await fleet.restartCp();
        upAt = performance.now();
        backAt = await whenTrue(async () => (await dpStatus(dp))?.sync.state === 'connected', 30_000);
      },
    );
    const { record, injectedAt: stoppedAt, healedAt: restartAt } = run;
    log(
      `control plane stopped (${signal}), then answering again ${((upAt - stoppedAt) / 1000).toFixed(1)} s later`,
    );
    const baseline = summarize(record, 1000, offsetOf(record, stoppedAt));
    // The CP down, and the CP starting again: on one machine its start (PGlite, key loading) takes
    // CPU from the DP, which a CP on its own host would not; each window gets its own figure.
    const down = summarize(record, offsetOf(record, stoppedAt), offsetOf(record, restartAt));
    const restarting = summarize(record, offsetOf(record, restartAt), offsetOf(record, upAt));
    const all = summarize(record);
    log(
      `baseline p99 ${baseline.p99Ms} ms; CP down p99 ${down.p99Ms} ms; CP starting p99 ${restarting.p99Ms} ms; errors ${JSON.stringify([...record.errors])}`,
    );
    const windows = [
      { name: 'baseline', from: record.startedAt + 1000, to: stoppedAt },
      { name: 'CP down', from: stoppedAt, to: restartAt },
      { name: 'CP starting', from: restartAt, to: upAt },
    ];
    log(instrumentLine(run, windows));
    logProbe(windows, log, record.startedAt + profile.durationMs);
    const figures = [
      exactly('failed requests', all.failed, 0, all.requests),
      p99Delta('p99 while the CP is down', baseline.p99Ms, down.p99Ms, 2),
      p99Delta(
        `p99 while the CP starts again (same machine, CP at nice ${CP_PRIORITY})`,
        baseline.p99Ms,
        restarting.p99Ms,
        2,
      ),
      atMost('loss detected', lostAt === null ? Infinity : (lostAt - stoppedAt) / 1000, 15, 's'),
      atMost('resync after the CP is up', backAt === null ? Infinity : (backAt - upAt) / 1000, 5, 's'),
    ];
    if (signal === 'SIGTERM') {
      const errors = Fleet.errorLines(dp.proc.output, outputMark);
      if (errors.length > 0) log(`DP error lines:\n${errors.join('\n')}`);
      figures.push(exactly('DP error lines', errors.length, 0));
    }
    return figures;
  } finally {
    await fleet.close();
  }
}

export const F1: Row = {
  id: 'F1',
  fault: 'CP kill -9 under load',
  run: (profile, log) => cpStopUnderLoad('SIGKILL', profile, log),
};

export const F2: Row = {
  id: 'F2',
  fault: 'CP SIGTERM under load',
  run: (profile, log) => cpStopUnderLoad('SIGTERM', profile, log),
};
