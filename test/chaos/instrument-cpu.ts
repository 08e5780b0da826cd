/**
 * CPU per request of the generator's client against undici's, on one thread, at the same
 * open-loop schedule against a bare node server in a child process (docs/chaos.md, "The
 * instrument": why raw sockets). Interleaved runs; the load average beside each.
 *
 *   node --import tsx test/chaos/instrument-cpu.ts [--runs 3] [--rate 1000] [--seconds 3]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';
import { startUpstream } from './fleet.js';
import { openLoop } from './load.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '3' },
  },
});
const rate = Number(values.rate);
const durationMs = Number(values.seconds) * 1000;
const total = Math.floor((durationMs / 1000) * rate);

/** The same schedule (request i at i/rate, no spin) through an undici Pool, `request()` or `dispatch()`. */
async function undiciLoop(origin: string, how: 'request' | 'dispatch'): Promise<void> {
  const pool = new Pool(origin, { connections: 64, pipelining: 1 });
  const iv = 1000 / rate;
  let settled = 0;
  let next = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  const settle = (): void => {
    if (++settled === total) finish();
  };
  const handler: Dispatcher.DispatchHandler = {
    onConnect: () => {},
    onHeaders: () => true,
    onData: () => true,
    onComplete: settle,
    onError: settle,
  };
  const send = (): void => {
    if (how === 'dispatch') pool.dispatch({ path: '/', method: 'GET', origin }, handler);
    else
      void pool
        .request({ path: '/', method: 'GET' })
        .then((res) => res.body.dump())
        .then(settle, settle);
  };
  const t0 = performance.now();
  const tick = (): void => {
    const now = performance.now() - t0;
    while (next < total && next * iv <= now) {
      next++;
      send();
    }
    if (next < total) setTimeout(tick, Math.max(0, next * iv - (performance.now() - t0)));
  };
  tick();
  await done;
  await pool.close();
}

const upstream = await startUpstream();
const origin = `http://127.0.0.1:${upstream.port}`;
const kinds: [string, () => Promise<unknown>][] = [
  ['raw sockets (load.ts)', () => openLoop({ origin, path: '/', rate, durationMs, spinMs: 0 })],
  ['undici dispatch()', () => undiciLoop(origin, 'dispatch')],
  ['undici request()', () => undiciLoop(origin, 'request')],
];
try {
  for (let run = 1; run <= Number(values.runs); run++)
    for (const [name, f] of kinds) {
      const c0 = process.cpuUsage();
      await f();
      const c = process.cpuUsage(c0);
      console.log(
        `run ${run} ${name}: ${((c.user + c.system) / total).toFixed(1)} µs CPU per request (load ${loadavg()[0]!.toFixed(1)})`,
      );
    }
} finally {
  upstream.close();
}
