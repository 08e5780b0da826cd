/**
 * A diagnostic probe for chaos rows (`CHAOS_PROBE=DIR`, docs/chaos.md, "Where the time goes"):
 * loaded into every process the runner starts (`NODE_OPTIONS=--import …/lag-probe.mjs`), and
 * into the runner itself. Every 10 ms it notes how late its timer fired (the process's event-loop
 * delay) and the CPU the process has used (`process.cpuUsage()`); once a second, and at exit, it
 * appends those samples to `DIR/probe-<pid>.jsonl` with the process's role (dp, dp-worker, cp,
 * keys, upstream, runner…); a DP worker also counts the IPC messages it received, by type. With `CHAOS_PROBE_PROFILE=role,role…` those processes are also
 * CPU-profiled in slices of 3 s (`DIR/prof-<role>-<pid>-<epoch ms>.cpuprofile`, each slice's start
 * in its name: --cpu-prof is not allowed in NODE_OPTIONS, and a killed process writes no
 * profile). Plain JavaScript so it loads without tsx; nothing of the product.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import cluster from 'node:cluster';
import { join } from 'node:path';

const dir = process.env.CHAOS_PROBE;
const INTERVAL_MS = 10;

function role() {
  if (cluster.isWorker) return 'dp-worker';
  const script = process.argv[1] ?? '';
  if (script === '') return 'upstream'; // node -e
  if (/chaos[/\\]run\.ts$/.test(script)) return 'runner';
  // The DP's entry: data-plane/dist/cli.js, or the start bundle's data-plane/dist/start/cli.js.
  if (/data-plane[/\\](dist|src)[/\\](start[/\\])?cli\.[jt]s$/.test(script)) return 'dp';
  if (/control-plane[/\\](dist|src)[/\\]cli\.[jt]s$/.test(script)) return process.argv[2] ?? 'cp';
  return script.slice(-60);
}

if (dir) {
  const file = join(dir, `probe-${process.pid}.jsonl`);
  const who = role();
  let samples = [];
  // A worker: the primary's IPC messages it received, by type (`t`), since the last flush.
  let ipc = {};
  if (cluster.isWorker) {
    process.on('message', (m) => {
      const t = m && typeof m === 'object' && typeof m.t === 'string' ? m.t : 'other';
      ipc[t] = (ipc[t] ?? 0) + 1;
    });
  }
  let expected = performance.now() + INTERVAL_MS;
  const tick = () => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    samples.push([
      Math.round(performance.timeOrigin + now),
      Math.max(0, now - expected),
      cpu.user + cpu.system,
    ]);
    expected = now + INTERVAL_MS;
    setTimeout(tick, INTERVAL_MS).unref();
  };
  setTimeout(tick, INTERVAL_MS).unref();
  const flush = () => {
    if (samples.length === 0) return;
    const at = Math.round(performance.timeOrigin + performance.now());
    const line = JSON.stringify({ pid: process.pid, ppid: process.ppid, role: who, at, ipc, samples });
    samples = [];
    ipc = {};
    try {
      appendFileSync(file, `${line}\n`);
    } catch {
      // the folder is gone: the row ended
    }
  };
  setInterval(flush, 1000).unref();
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    samples.push([Math.round(performance.timeOrigin + performance.now()), 0, cpu.user + cpu.system]);
    flush();
  });
}

const profiled = (process.env.CHAOS_PROBE_PROFILE ?? '').split(',');
if (dir && profiled.includes(role())) {
  const session = new Session();
  session.connect();
  const who = role();
  let since = Date.now();
  session.post('Profiler.enable', () =>
    session.post('Profiler.setSamplingInterval', { interval: 500 }, () =>
      session.post('Profiler.start', () => undefined),
    ),
  );
  setInterval(() => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) {
        try {
          writeFileSync(
            join(dir, `prof-${who}-${process.pid}-${since}.cpuprofile`),
            JSON.stringify(res.profile),
          );
        } catch {
          // the folder is gone
        }
      }
      since = Date.now();
      session.post('Profiler.start', () => undefined);
    });
  }, 3000).unref();
}
