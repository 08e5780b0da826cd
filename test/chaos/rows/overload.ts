/**
 * F24: a data plane offered twice what it can serve. The route runs the waf plugin at paranoia
 * level 4 over a long benign query (`CHAOS_F24_FIELDS` fields, default 200), so one DP worker
 * saturates at a rate far below what the load generator and the upstream, on the same machine,
 * can do: the DP, not they, is the bottleneck, and the generator can double its rate. The DP's
 * capacity is measured first: closed loops of 16, 32, 64… clients until one more doubling gains
 * under 5 % (the best rate is the capacity), with the DP worker's CPU over the probe reported (a
 * probe that did not saturate it under-reads). Then an open loop offers 2× that for the run's
 * length, then ½× for five seconds. The overload goes through enough sockets for the queue to
 * build in the DP worker rather than in the generator's pool: one HTTP/1.1 socket carries one
 * request at a time, so with K sockets a worker serving C req/s is at most K / C seconds behind,
 * and its event-loop delay bound (250 ms) can only be crossed with K > C / 4; the row uses
 * max(512, 0.6 × C) sockets.
 *
 * Figures (reliability.md F24): requests with no answer at all (timeouts ≈ 0: the excess must be
 * answered, by a 503); the share shed with 503 (reported); the DP's status port answering during
 * the overload (its slowest answer); the DP's peak RSS (primary and worker); recovery, the time
 * from the end of the overload until requests are served again without a 503.
 */
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readdirSync, readFileSync } from 'node:fs';
import { adminJson } from '../../../e2e/helpers/processes.js';
import { Fleet, sleep } from '../fleet.js';
import { openLoop } from '../load.js';
import { atMost, holds, type Row } from '../row.js';
import { Pool } from 'undici';

/** The DP's load-shedding settings in this row: the defaults, unless the environment says otherwise. */
const SHEDDING_ENV: NodeJS.ProcessEnv = {};
for (const k of [
  'GATEHOUSE_MAX_CONCURRENT_REQUESTS',
  'GATEHOUSE_MAX_EVENT_LOOP_DELAY',
  'GATEHOUSE_MAX_QUEUE_TIME',
])
  if (process.env[k] !== undefined) SHEDDING_ENV[k] = process.env[k];
// An A/B facility: node options for the DP's processes only (`CHAOS_F24_NODE_OPTIONS`).
if (process.env.CHAOS_F24_NODE_OPTIONS !== undefined)
  SHEDDING_ENV.NODE_OPTIONS = process.env.CHAOS_F24_NODE_OPTIONS;

const FIELDS = Number(process.env.CHAOS_F24_FIELDS ?? 200);
const QUERY =
  '?' + Array.from({ length: FIELDS }, (_, i) => `field_${i}=value-${i}-${'abcdefghij'.repeat(3)}`).join('&');

/** CPU ms (user + system) of the processes whose parent is `ppid` (the DP's workers; Linux /proc). */
function childrenCpuMs(ppid: number): number {
  let ticks = 0;
  try {
    for (const t of readdirSync(`/proc/${ppid}/task`)) {
      for (const kid of readFileSync(`/proc/${ppid}/task/${t}/children`, 'utf8').trim().split(' ')) {
        if (!kid) continue;
        const stat = readFileSync(`/proc/${kid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]);
      }
    }
  } catch {
    return NaN;
  }
  return ticks * 10; // USER_HZ = 100
}

/**
 * The DP's capacity: closed loops of 16, 32, 64… clients for `ms` each until doubling the clients
 * gains under 5 % (or 256 clients); the best rate, and the DP workers' CPU share (of one core)
 * during that loop.
 */
async function probeCapacity(
  origin: string,
  path: string,
  ms: number,
  dpPid: number,
  log: (l: string) => void,
): Promise<{ rate: number; clients: number; workerCpu: number }> {
  let best = { rate: 0, clients: 0, workerCpu: NaN };
  for (let clients = 16; clients <= 256; clients *= 2) {
    const cpu0 = childrenCpuMs(dpPid);
    const t0 = performance.now();
    const rate = await capacity(origin, path, clients, ms);
    const workerCpu = (childrenCpuMs(dpPid) - cpu0) / (performance.now() - t0);
    log(
      `capacity probe: ${clients} clients, ${rate.toFixed(0)} req/s, DP worker CPU ${(100 * workerCpu).toFixed(0)} %`,
    );
    const gain = best.rate === 0 ? Infinity : rate / best.rate - 1;
    if (rate > best.rate) best = { rate, clients, workerCpu };
    if (gain < 0.05) break;
  }
  return best;
}

/** Requests answered 200 per second by `origin` under a closed loop of `clients` for `ms`. */
async function capacity(origin: string, path: string, clients: number, ms: number): Promise<number> {
  const pool = new Pool(origin, { connections: clients });
  const end = performance.now() + ms;
  let ok = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const r = await pool.request({ path, method: 'GET' });
        await r.body.dump();
        if (r.statusCode === 200) ok++;
      }
    }),
  );
  await pool.close();
  return (ok * 1000) / ms;
}

/** Resident memory of `pid` and (unless `children` is false) its children, in MiB (Linux ps). */
function rssMiB(pid: number, children = true): number {
  try {
    const which = children ? ['--ppid', String(pid), '-p', String(pid)] : ['-p', String(pid)];
    const out = execFileSync('ps', ['-o', 'rss=', ...which], {
      encoding: 'utf8',
    });
    return out
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => Number.isFinite(n) && n > 0)
      .reduce((a, b) => a + b / 1024, 0);
  } catch {
    return NaN;
  }
}

export const F24: Row = {
  id: 'F24',
  fault: 'DP overload at 2× its measured capacity',
  async run(profile, log) {
    const fleet = await Fleet.start({ dpEnv: SHEDDING_ENV });
    try {
      const waf = await adminJson(fleet.admin, 'POST', '/routes/chaos/plugins', {
        name: 'waf',
        config: { mode: 'block', paranoia_level: 4 },
      });
      if (waf.status !== 201) throw new Error(`adding the waf: ${JSON.stringify(waf.json)}`);
      const dp = fleet.dps[0]!;
      const path = `/chaos${QUERY}`;
      // The plugin reaches the DP with the next snapshot: wait until the route answers through it.
      await sleep(1000);
      for (let i = 0; i < 200; i++) {
        const r = await fetch(`${dp.proxy}${path}`);
        await r.arrayBuffer();
        if (r.status === 200) break;
        await sleep(50);
      }
      const pid = dp.proc.child.pid!;
      await capacity(dp.proxy, path, 32, 1000); // warm-up
      const probe = await probeCapacity(dp.proxy, path, profile.short ? 2000 : 4000, pid, log);
      // `CHAOS_F24_CAPACITY=N` overloads as if the capacity were N (A/B runs at the same load; the
      // probe still runs and is reported).
      const fixed = Number(process.env.CHAOS_F24_CAPACITY ?? 0);
      const max = fixed > 0 ? fixed : probe.rate;
      const rate = Math.round(Number(process.env.CHAOS_F24_FACTOR ?? 2) * max);
      const connections = Math.max(512, Math.ceil(0.6 * max));
      log(`capacity ${max.toFixed(0)} req/s; offering ${rate} req/s through ${connections} sockets`);
      const rssBefore = rssMiB(pid);
      let rssPeak = rssBefore;
      /** The primary's own RSS at the peak (the rest is the worker's). */
      let primaryAtPeak = rssMiB(pid, false);
      let statusWorstMs = 0;
      let statusFailures = 0;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const t0 = performance.now();
          try {
            const r = await fetch(`${dp.status}/status`, { signal: AbortSignal.timeout(5000) });
            await r.arrayBuffer();
            if (!r.ok) statusFailures++;
          } catch {
            statusFailures++;
          }
          statusWorstMs = Math.max(statusWorstMs, performance.now() - t0);
          const rss = rssMiB(pid);
          if (rss > rssPeak) {
            rssPeak = rss;
            primaryAtPeak = rssMiB(pid, false);
          }
          await sleep(200);
        }
      })();
      const durationMs = profile.short ? 10_000 : 30_000;
      // The generator's own event-loop delay: a stall of its loop turns answers already received
      // into timeouts (undici's timers run before the sockets are read), so it is reported.
      const generatorDelay = monitorEventLoopDelay({ resolution: 10 });
      generatorDelay.enable();
      const over = await openLoop({ origin: dp.proxy, path, rate, durationMs, connections });
      generatorDelay.disable();
      const after = await openLoop({
        origin: dp.proxy,
        path,
        rate: Math.max(1, Math.round(max / 2)),
        durationMs: 5_000,
        connections: 64,
      });
      watching = false;
      await watcher;

      const total = over.status.length;
      let shed = 0;
      let served = 0;
      let other = 0;
      for (let i = 0; i < total; i++) {
        const s = over.status[i]!;
        if (s === 200) served++;
        else if (s === 503) shed++;
        else if (s !== 0) other++;
      }
      const unanswered = [...over.errors.values()].reduce((a, b) => a + b, 0);
      // Per second of intended send time: where the unanswered ones and the 503s fall.
      const perSecond = Math.ceil(rate);
      for (let s0 = 0; s0 < total; s0 += perSecond) {
        let ok = 0;
        let s503 = 0;
        let none = 0;
        for (let i = s0; i < Math.min(total, s0 + perSecond); i++) {
          if (over.status[i] === 200) ok++;
          else if (over.status[i] === 503) s503++;
          else if (over.status[i] === 0) none++;
        }
        log(`second ${s0 / perSecond}: 200 ${ok}, 503 ${s503}, unanswered ${none}`);
      }
      const unansweredAt: number[] = [];
      for (let i = 0; i < total; i++) if (over.status[i] === 0) unansweredAt.push(i * over.intervalMs);
      if (unansweredAt.length > 0)
        log(
          `unanswered requests' intended send times: ${unansweredAt[0]!.toFixed(0)}–${unansweredAt.at(-1)!.toFixed(0)} ms ` +
            `(median ${unansweredAt[unansweredAt.length >> 1]!.toFixed(0)} ms)`,
        );
      // Recovery: from the end of the overload (the ½× run's start), until the first request
      // after which every one was served 200.
      let lastBad = -1;
      for (let i = 0; i < after.status.length; i++) if (after.status[i] !== 200) lastBad = i;
      const recoveryS = lastBad < 0 ? 0 : ((lastBad + 1) * after.intervalMs) / 1000;
      const recovered = lastBad < after.status.length - 1;
      log(
        `offered ${total}: 200 ${served}, 503 ${shed}, other ${other}, unanswered ${unanswered} ` +
          `(${JSON.stringify(Object.fromEntries(over.errors))}); status port worst ${statusWorstMs.toFixed(0)} ms, ` +
          `${statusFailures} failed; RSS ${rssBefore.toFixed(0)} → peak ${rssPeak.toFixed(0)} MiB ` +
          `(primary ${primaryAtPeak.toFixed(0)}); ` +
          `generator's event-loop delay max ${(generatorDelay.max / 1e6).toFixed(0)} ms, p99 ${(generatorDelay.percentile(99) / 1e6).toFixed(0)} ms`,
      );
      return [
        {
          // Reported: on a shared box the worker gets what the scheduler leaves it, so its share
          // of a core says whether the probe was DP-bound only on a quiet one; its CPU per request
          // is the capacity's other reading (1 / that is a free core's rate).
          measured: 'capacity (closed loop, best of 16, 32… clients)',
          value:
            `${max.toFixed(0)} req/s at ${probe.clients} clients, DP worker ${(100 * probe.workerCpu).toFixed(0)} % ` +
            `of a core, ${((1000 * probe.workerCpu) / max).toFixed(2)} ms CPU per request`,
          bound: 'reported',
          pass: true,
        },
        atMost('requests with no answer (timeouts)', (100 * unanswered) / total, 0.1, '%', 2),
        holds(`excess shed with 503 (${((100 * shed) / total).toFixed(1)} % of ${total})`, shed > 0),
        atMost('slowest status-port answer during the overload', statusWorstMs, 1000, 'ms', 0),
        atMost('DP RSS peak (primary + worker)', rssPeak, Math.max(2 * rssBefore, rssBefore + 256), 'MiB', 0),
        atMost('recovery after the overload', recovered ? recoveryS : Infinity, 5, 's'),
      ];
    } finally {
      await fleet.close();
    }
  },
};
