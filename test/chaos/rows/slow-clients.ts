/**
 * F21, oversize and slow clients, against a real data plane (test/chaos/hostile.ts) at its
 * default client limits (data-plane/src/proxy/client-connections.ts: request head 10 s, body idle
 * 10 s then at least 500 B/s, checked every second).
 *
 * - Oversize, on raw sockets: a 20 KiB header and a 20 KiB request target → 431 (or 414); a body
 *   over the route's request-size-limiting cap → 413; each N of N.
 * - Slow clients: Debian's `slowhttptest` opens 500 slowloris connections (`-H`), then 500 slow
 *   body connections (`-B`), while the row's own probes (a few sockets doing the same, timed to
 *   the millisecond) measure how long the DP lets a slow connection live: ≤ the header (body)
 *   timeout + 1 s. slowhttptest's own CSV must show its connections closed by the DP, none still
 *   open when the bound has passed.
 * - Normal traffic meanwhile: the open-loop load's p99 while the slow clients hold their sockets
 *   against a baseline before them: ≤ +5 ms; failures 0.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { CLIENT_LIMIT_DEFAULTS } from '../../../data-plane/src/proxy/client-connections.js';
import { BODY_LIMIT, exchange, HostileDp, request } from '../hostile.js';
import { offsetOf, sendLateness, summarize } from '../load.js';
import { openLoopInThread } from '../load-thread.js';
import { atMost, exactly, p99Delta, type Figure, type Row } from '../row.js';
import { sleep } from '../fleet.js';
import { logProbe } from '../probe/report.js';

const CONNECTIONS = 500;
const PROBES = 5;
const HEADER_S = CLIENT_LIMIT_DEFAULTS.headerTimeoutMs / 1000;
const BODY_S = CLIENT_LIMIT_DEFAULTS.bodyTimeoutMs / 1000;

/**
 * A slow client on a raw socket: sends `head`, then `drip` every second; resolves with the
 * seconds until the server closed the connection (Infinity after `giveUpS`).
 */
function slowProbe(port: number, head: string, drip: string, giveUpS: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const t0 = performance.now();
    let timer: NodeJS.Timeout | null = null;
    const end = (s: number): void => {
      if (timer) clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve(s);
    };
    const giveUp = setTimeout(() => end(Infinity), giveUpS * 1000);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => socket.write(drip), 1000);
    });
    socket.on('data', () => {});
    socket.on('close', () => end((performance.now() - t0) / 1000));
    socket.on('error', () => end((performance.now() - t0) / 1000));
  });
}

interface SlowRun {
  /** Seconds after slowhttptest's start at which its CSV first shows every connection open. */
  readonly allOpenAtS: number;
  /**
   * Seconds after its start at which it exited: slowhttptest stops once the server has closed
   * all its connections, or at its test length.
   */
  readonly exitedAtS: number;
  readonly opened: number;
  /** Connections it still had open at its last CSV row. */
  readonly openAtEnd: number;
  /** CPU it used (user + system, s), read from /proc while it ran: it shares the box's cores. */
  readonly cpuS: number;
}

/**
 * slowhttptest's niceness (`CHAOS_SLOWHTTPTEST_NICE`, default 0): a positive value models an
 * attacker on another host, whose CPU would not be taken from the data plane (F21's diagnosis,
 * docs/chaos.md).
 */
const SLOW_NICE = Number(process.env.CHAOS_SLOWHTTPTEST_NICE ?? 0);

/** User + system CPU seconds of a live process (/proc/PID/stat, clock ticks of 10 ms); NaN once gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Runs slowhttptest in `mode` (-H or -B) for `lengthS` s; reads its CSV (seconds, closed, pending, connected). */
async function slowhttptest(mode: '-H' | '-B', url: string, dir: string, lengthS: number): Promise<SlowRun> {
  const prefix = join(dir, `slowhttptest${mode}`);
  const t0 = performance.now();
  const child = spawn(
    'slowhttptest',
    [
      mode,
      '-c',
      String(CONNECTIONS),
      '-r',
      String(CONNECTIONS),
      '-i',
      '1',
      '-x',
      '8',
      '-s',
      '65536',
      '-l',
      String(lengthS),
      '-p',
      '3',
      '-u',
      url,
      '-g',
      '-o',
      prefix,
    ],
    { stdio: 'ignore' },
  );
  if (SLOW_NICE !== 0 && child.pid !== undefined) setPriority(child.pid, SLOW_NICE);
  let cpuS = 0;
  const cpuPoll = setInterval(() => {
    const c = child.pid === undefined ? NaN : cpuSecondsOf(child.pid);
    if (!Number.isNaN(c)) cpuS = c;
  }, 250);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  }).finally(() => clearInterval(cpuPoll));
  const exitedAtS = (performance.now() - t0) / 1000;
  if (!existsSync(`${prefix}.csv`)) throw new Error(`slowhttptest ${mode} exited ${code} without its CSV`);
  const rows = readFileSync(`${prefix}.csv`, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number) as [number, number, number, number]);
  const opened = Math.max(...rows.map(([, closed, , connected]) => closed + connected));
  const all = rows.find(([, closed, pending, connected]) => pending === 0 && closed + connected >= opened);
  return { allOpenAtS: all?.[0] ?? Infinity, exitedAtS, opened, openAtEnd: rows.at(-1)?.[3] ?? 0, cpuS };
}

export const F21: Row = {
  id: 'F21',
  fault: 'oversize and slow clients (slowhttptest, 500 connections)',
  async run(profile, log) {
    const dp = await HostileDp.start();
    try {
      // Oversize.
      const big = 'a'.repeat(20 * 1024);
      const oversize = [
        { name: '20 KiB header', bytes: request('/echo', [`X-Big: ${big}`]), ok: [431] },
        { name: '20 KiB request target', bytes: request(`/echo?${big}`), ok: [414, 431] },
        {
          name: `body over the ${BODY_LIMIT}-byte cap`,
          bytes: request('/limited', [], { method: 'POST', body: 'x'.repeat(BODY_LIMIT * 4) }),
          ok: [413],
        },
      ];
      let right = 0;
      for (const o of oversize) {
        const x = await exchange(dp.port, o.bytes);
        if (x.status !== null && o.ok.includes(x.status)) right++;
        else log(`${o.name}: ${x.status ?? 'no answer'}`);
      }

      // Slow clients under normal traffic.
      const rate = Math.min(profile.rate, 100);
      const attackS = profile.short ? 20 : 40;
      const baselineMs = 8000;
      // The load in a thread of its own (load-thread.ts): slowhttptest's spawn and the probes run here.
      const thread = openLoopInThread({
        origin: dp.proxy,
        path: '/echo',
        rate,
        durationMs: baselineMs + 2 * (attackS + 2) * 1000,
      });
      const load = thread.record;
      await thread.started;
      await sleep(baselineMs);
      const url = `${dp.proxy}/echo`;
      const slowHead = 'GET /echo HTTP/1.1\r\nHost: gw.example\r\n';
      const slowBody = `POST /echo HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 65536\r\n\r\n`;
      const windows: [number, number][] = [];
      const figures: Figure[] = [];
      for (const [mode, probe, boundS] of [
        ['-H', () => slowProbe(dp.port, slowHead, 'X-a: b\r\n', attackS), HEADER_S + 1],
        ['-B', () => slowProbe(dp.port, slowBody, 'x', attackS), BODY_S + 1],
      ] as const) {
        const from = performance.now();
        const [run, probes] = await Promise.all([
          slowhttptest(mode, url, dp.dir, attackS),
          (async () => {
            await sleep(1000);
            return Promise.all(Array.from({ length: PROBES }, probe));
          })(),
        ]);
        windows.push([from, performance.now()]);
        const slowest = Math.max(...probes);
        const what = mode === '-H' ? 'slow headers' : 'slow body';
        // slowhttptest ran to its test length: some connection outlived the DP's timeouts.
        const lastClosed = run.exitedAtS < attackS - 0.5 ? run.exitedAtS - run.allOpenAtS : Infinity;
        log(
          `${what}: slowhttptest opened ${run.opened}, all open by ${run.allOpenAtS} s, exited at ${run.exitedAtS.toFixed(1)} s of ${attackS} (${run.openAtEnd} open at its last sample; its CPU ${run.cpuS.toFixed(2)} s at nice ${SLOW_NICE}); probes closed after ${probes.map((s) => s.toFixed(1)).join(', ')} s`,
        );
        figures.push(
          atMost(`${what}: slowest probe connection closed after`, slowest, boundS, 's'),
          exactly(`${what}: slowhttptest connections opened`, run.opened, CONNECTIONS),
          // Its CSV samples once a second: the time they were all open is known to 1 s.
          atMost(
            `${what}: slowhttptest's last connection closed after they were all open`,
            lastClosed,
            boundS + 1,
            's',
          ),
        );
      }
      const record = await load;
      // The first 2 s warm the pool and the JIT: the baseline is the rest of the time before the slow clients.
      const base = summarize(record, 2000, baselineMs);
      const first = windows[0]!;
      const last = windows[windows.length - 1]!;
      const during = summarize(record, offsetOf(record, first[0]), offsetOf(record, last[1]));
      const all = summarize(record);
      // Where in the slow clients' time the latency goes: p99 of each second.
      const perSecond: string[] = [];
      for (let t = offsetOf(record, first[0]); t < offsetOf(record, last[1]); t += 1000)
        perSecond.push(summarize(record, t, t + 1000).p99Ms.toFixed(0));
      log(`normal traffic p99 per second during the slow clients (ms): ${perSecond.join(' ')}`);
      logProbe(
        [
          { name: 'baseline', from: record.startedAt + 2000, to: record.startedAt + baselineMs },
          { name: 'slow headers', from: first[0], to: first[1] },
          { name: 'slow body', from: last[0], to: last[1] },
        ],
        log,
      );
      const late = sendLateness(record, offsetOf(record, first[0]), offsetOf(record, last[1]));
      log(
        `the generator's own lateness during the slow clients (${await thread.sched}): p50 ${late.p50Ms.toFixed(2)} ms, p99 ${late.p99Ms.toFixed(2)} ms`,
      );
      const statuses = new Map<number, number>();
      for (const st of record.status)
        if (st === 0 || st >= 500) statuses.set(st, (statuses.get(st) ?? 0) + 1);
      if (all.failed > 0)
        log(
          `normal traffic failures: ${[...statuses].map(([st, n]) => `${n}×${st || 'no answer'}`).join(', ')}; errors ${JSON.stringify([...record.errors])}`,
        );
      log(
        `normal traffic: baseline p99 ${base.p99Ms.toFixed(2)} ms, during ${during.p99Ms.toFixed(2)} ms; failed ${all.failed} of ${all.requests}`,
      );
      return [
        exactly('oversize requests answered 431/414/413', right, oversize.length, oversize.length),
        ...figures,
        p99Delta('normal traffic p99 during the slow clients', base.p99Ms, during.p99Ms, 5),
        // A 503 is the DP shedding load on a starved event loop (docs/data-plane.md, "Overload"):
        // on this shared box it comes with the p99 figure; every other failure is a fault.
        exactly(
          `normal traffic: no answer or a 5xx other than 503 (shed: ${statuses.get(503) ?? 0})`,
          all.failed - (statuses.get(503) ?? 0),
          0,
          all.requests,
        ),
      ];
    } finally {
      await dp.close();
    }
  },
};
