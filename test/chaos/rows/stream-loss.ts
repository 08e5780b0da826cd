/**
 * F4 (the CP's end of the stream closes: the kernel resets the connection of a killed process, as
 * a redeploy closes it) and F5 (a CP flapping up and down). F4: detection ≤ 1 s; the first
 * reconnect attempt within 0.5–2× the backoff base after it (RECONNECT_BACKOFF: the first delay
 * is 80–100 % of the base); no request fails. F5: the CP up and down in turns (5 s each, 10
 * cycles; short: 3 s, 3 cycles) under load: the DP applies one config hash throughout (no
 * thrash), at most 2 reconnect attempts in any one cycle (the backoff starts over only after a
 * stream stable for 10 s, so it stays at its ceiling while the CP flaps), failures 0. The flap
 * is at the CP's port — a Gate (gate.ts) resets the stream and refuses dials, then opens onto
 * the other of two CP replicas — so the outage is the cycle's, not the time a CP takes to start
 * on this machine; F1 and F2 kill and restart the CP process itself.
 */
import { createPostgresDatabase } from '../../helpers/db.js';
import type { CpHandle } from '../../../e2e/helpers/processes.js';
import { Gate } from '../gate.js';
import { Fleet, dpStatus, sleep, whenTrue } from '../fleet.js';
import { openLoop, sendLateness, summarize } from '../load.js';
import { openLoopInThread } from '../load-thread.js';
import { RECONNECT_BACKOFF } from '../../../data-plane/src/sync/backoff.js';
import { atMost, between, exactly, type Figure, type Profile, type Row } from '../row.js';
import { crossCheckFigures, runCrossCheck } from '../wrk.js';

const BACKOFF_BASE_MS = RECONNECT_BACKOFF.baseMs;

export const F4: Row = {
  id: 'F4',
  fault: 'CP closes the stream (connection reset)',
  async run(profile, log) {
    const fleet = await Fleet.start();
    try {
      const dp = fleet.dps[0]!;
      const crossCheck = await wrkCrossCheck(dp.proxy, log);
      const thread = openLoopInThread({
        origin: dp.proxy,
        path: '/chaos',
        rate: Math.min(profile.rate, 200),
        durationMs: 6000,
      });
      const load = thread.record;
      await thread.started;
      await sleep(2000);
      const before = (await dpStatus(dp))!.sync.reconnects;
      const stoppedAt = performance.now();
      await fleet.stopCp('SIGKILL');
      const lostAt = await whenTrue(async () => (await dpStatus(dp))?.sync.state !== 'connected', 10_000, 5);
      const retryAt = await whenTrue(
        async () => ((await dpStatus(dp))?.sync.reconnects ?? 0) > before,
        10_000,
        5,
      );
      const record = await load;
      const all = summarize(record);
      log(
        `lost after ${lostAt === null ? 'never' : (lostAt - stoppedAt).toFixed(0)} ms; first retry ${retryAt === null || lostAt === null ? 'never' : (retryAt - lostAt).toFixed(0)} ms later`,
      );
      return [
        atMost('loss detected', lostAt === null ? Infinity : (lostAt - stoppedAt) / 1000, 1, 's', 2),
        between(
          'first reconnect after detection',
          retryAt === null || lostAt === null ? Infinity : retryAt - lostAt,
          0.5 * BACKOFF_BASE_MS,
          2 * BACKOFF_BASE_MS,
          'ms',
          0,
        ),
        exactly('failed requests', all.failed, 0, all.requests),
        ...crossCheck,
      ];
    } finally {
      await fleet.close();
    }
  },
};

/**
 * The open-loop generator against wrk on the same data plane before the fault, side by side at the
 * same light load (`runCrossCheck`): wrk with one connection paced 20 ms (answer, wait, next), the
 * generator in its thread at 50 requests/s. Their medians must agree within 1 ms and neither may
 * see a failure (`crossCheckFigures`); both p99s are logged, with how late the generator issued
 * its requests and the thread's scheduling class.
 */
async function wrkCrossCheck(origin: string, log: (line: string) => void): Promise<Figure[]> {
  const { wrk, record, sched } = await runCrossCheck(origin, '/chaos');
  const ours = summarize(record);
  const late = sendLateness(record);
  log(
    `cross-check (side by side): wrk -c1 paced 20 ms ${wrk.requests} requests p50 ${wrk.p50Ms.toFixed(3)} ms p99 ${wrk.p99Ms.toFixed(3)} ms; ` +
      `generator 50/s (${sched}) ${ours.requests} requests p50 ${ours.p50Ms.toFixed(3)} ms p99 ${ours.p99Ms.toFixed(3)} ms, ` +
      `issued late p50 ${late.p50Ms.toFixed(3)} ms p99 ${late.p99Ms.toFixed(3)} ms`,
  );
  return crossCheckFigures(wrk, ours);
}

export const F5: Row = {
  id: 'F5',
  fault: 'CP flapping (up/down cycles) under load',
  async run(profile: Profile, log) {
    const cycles = profile.short ? 3 : 10;
    const halfMs = profile.short ? 3000 : 5000;
    // Two CP replicas on one Postgres behind a gate the DP dials. At each cycle the gate resets
    // the DP's stream and refuses its dials for `halfMs` (what the port of a killed CP does), then
    // opens onto the other replica: each outage is exactly the cycle's, however long a CP takes
    // to start on this box (5–20 s when busy), and each reconnection meets another CP process.
    const db = await createPostgresDatabase();
    let gate: Gate | null = null;
    let fleet: Fleet;
    try {
      fleet = await Fleet.start({
        cpEnv: { DATABASE_URL: db.url },
        clusterVia: async (port) => (gate = await Gate.open(port)).port,
      });
    } catch (err) {
      await db.drop();
      throw err;
    }
    let replica: CpHandle | null = null;
    try {
      const dp = fleet.dps[0]!;
      replica = await fleet.startReplica('chaos-b');
      const ports = [fleet.clusterPort, replica.clusterPort];
      const first = (await dpStatus(dp))!;
      const hashes = new Set<string>([first.config!.hash]);
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const s = await dpStatus(dp);
          if (s?.config) hashes.add(s.config.hash);
          await sleep(50);
        }
      })();
      const load = openLoop({
        origin: dp.proxy,
        path: '/chaos',
        rate: Math.min(profile.rate, 300),
        durationMs: cycles * 2 * halfMs + 4000,
      });
      // The DP's reconnect count at the start of each cycle (the gate shut), then at the end.
      const marks: number[] = [];
      const outages: number[] = [];
      for (let c = 0; c < cycles; c++) {
        await sleep(halfMs);
        marks.push((await dpStatus(dp))!.sync.reconnects);
        const shutAt = performance.now();
        await gate!.shut();
        await sleep(halfMs - (performance.now() - shutAt));
        await gate!.reopen(ports[(c + 1) % 2]!);
        outages.push(performance.now() - shutAt);
      }
      await whenTrue(async () => (await dpStatus(dp))?.sync.state === 'connected', 15_000);
      marks.push((await dpStatus(dp))!.sync.reconnects);
      const record = await load;
      watching = false;
      await watcher;
      const perCycle = marks.slice(1).map((m, i) => m - marks[i]!);
      const all = summarize(record);
      log(
        `${cycles} cycles; reconnect attempts per cycle ${perCycle.join(', ')}; outages ${outages.map((t) => (t / 1000).toFixed(1)).join(', ')} s; hashes ${[...hashes].join(', ')}`,
      );
      return [
        exactly('distinct config hashes applied', hashes.size, 1),
        atMost('reconnect attempts in the worst cycle', Math.max(...perCycle), 2, 'per cycle', 0),
        exactly('failed requests', all.failed, 0, all.requests),
      ];
    } finally {
      await replica?.proc.stop();
      await (gate as Gate | null)?.shut();
      await fleet.close();
      await db.drop();
    }
  },
};
