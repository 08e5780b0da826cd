/**
 * F17: an upstream target flapping under load. The route's upstream has two targets, one healthy
 * and one that, in the middle third of the run, cycles each second through resetting every
 * connection, answering 2 s late, and not listening at all. GETs go through the open-loop load;
 * POSTs (each with its own id) through a second, slower loop. Figures: client 5xx at most the
 * faults the bad target injected (a refused connection is retried on the other target, a reset or
 * a late answer to a request already sent may be a 502/504), POSTs that reached an upstream twice
 * (a retried non-idempotent request: 0), and the data plane's upstream connections left open
 * once the load is over: both targets advertise a 3 s keep-alive (2 s idle in undici's pools) but
 * keep connections open 120 s themselves, so every socket a DP worker still holds towards either
 * target some seconds after the last request (`ss -tanp`, any state, the DP's process tree) is
 * one its pools leaked (0).
 */
import { adminJson } from '../../../e2e/helpers/processes.js';
import { ADVERTISED_KEEP_ALIVE_S, startFlappingUpstream, type Mode } from '../flapping-upstream.js';
import { Fleet, sleep } from '../fleet.js';
import { openLoop, summarize } from '../load.js';
import { atMost, exactly, type Row } from '../row.js';
import { byState, processTree, socketsTo, type HeldSocket } from '../sockets.js';

/** How long after the last request a DP may still hold an upstream connection: idle keep-alive + margin. */
const SETTLE_MS = (ADVERTISED_KEEP_ALIVE_S + 7) * 1000;

export const F17: Row = {
  id: 'F17',
  fault: 'upstream target flapping (RST, slow, down) under load',
  async run(profile, log) {
    // The healthy target is the same server kept 'ok', so both advertise the same keep-alive.
    const good = await startFlappingUpstream();
    const bad = await startFlappingUpstream();
    const fleet = await Fleet.start();
    let sampling = true;
    try {
      const made = [
        await adminJson(fleet.admin, 'POST', '/upstreams', { name: 'flappy' }),
        await adminJson(fleet.admin, 'POST', '/upstreams/flappy/targets', {
          target: `127.0.0.1:${good.port}`,
        }),
        await adminJson(fleet.admin, 'POST', '/upstreams/flappy/targets', {
          target: `127.0.0.1:${bad.port}`,
        }),
        await adminJson(fleet.admin, 'POST', '/services', {
          name: 'flappy',
          host: 'flappy',
          read_timeout: 1000,
        }),
        await adminJson(fleet.admin, 'POST', '/services/flappy/routes', {
          name: 'flappy',
          paths: ['/flappy'],
        }),
      ];
      const refused = made.find((m) => m.status !== 201);
      if (refused) throw new Error(`setting up: ${refused.status} ${JSON.stringify(refused.json)}`);
      const dp = fleet.dps[0]!;
      await fleet.waitServing(dp);
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${dp.proxy}/flappy`);
        await r.arrayBuffer();
        if (r.status === 200) break;
        await sleep(50);
      }
      const ports = [good.port, bad.port];
      const dpTree = () => processTree(dp.proc.child.pid!);
      let peak = 0;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, (await socketsTo(dpTree(), ports)).length);
          await sleep(1000);
        }
      })();
      const load = openLoop({
        origin: dp.proxy,
        path: '/flappy',
        rate: profile.rate,
        durationMs: profile.durationMs,
      });
      let posting = true;
      let postFailures = 0;
      let postsSent = 0;
      const poster = (async () => {
        for (let id = 0; posting; id++) {
          postsSent++;
          try {
            const r = await fetch(`${dp.proxy}/flappy`, {
              method: 'POST',
              headers: { 'x-chaos-id': String(id), 'content-type': 'text/plain' },
              body: 'x',
              signal: AbortSignal.timeout(5000),
            });
            await r.arrayBuffer();
            if (r.status >= 500) postFailures++;
          } catch {
            postFailures++;
          }
          await sleep(20);
        }
      })();
      const third = profile.durationMs / 3;
      await sleep(third);
      const modes: Mode[] = ['reset', 'slow', 'down'];
      for (let i = 0; i < 3 * Math.max(1, Math.round(third / 3000)); i++) {
        const mode = modes[i % modes.length]!;
        bad.set(mode);
        await sleep(1000);
        if (mode === 'down') bad.set('up');
      }
      bad.set('ok');
      const record = await load;
      posting = false;
      await poster;
      sampling = false;
      await sampler;
      const atEnd = await socketsTo(dpTree(), ports);
      // Every connection idle from here on: the pools close theirs after the keep-alive.
      const quietFrom = Date.now();
      let held: HeldSocket[] = atEnd;
      while (Date.now() - quietFrom < SETTLE_MS) {
        held = await socketsTo(dpTree(), ports);
        if (held.length === 0) break;
        await sleep(250);
      }
      const settledIn = (Date.now() - quietFrom) / 1000;
      const all = summarize(record);
      const seen = await bad.report();
      const seenGood = await good.report();
      log(
        `GET 5xx ${all.failed} of ${all.requests}; POST 5xx ${postFailures} of ${postsSent}; bad target: ${JSON.stringify(seen)}; good target: ${JSON.stringify(seenGood)}`,
      );
      log(
        `DP upstream sockets: peak ${peak} (sampled 1/s), at the end of the load ${atEnd.length} (${byState(atEnd)}); ` +
          `${held.length} ${
            held.length === 0
              ? `after ${settledIn.toFixed(1)} s`
              : `still held after ${settledIn.toFixed(1)} s (${byState(held)}): ${held
                  .slice(0, 10)
                  .map((h) => `${h.state} ${h.local}->${h.peer}`)
                  .join('; ')}`
          }`,
      );
      return [
        atMost(
          'client 5xx (GET + POST) against the faults injected',
          all.failed + postFailures,
          seen.faults,
          'requests',
          0,
        ),
        exactly('POSTs that reached an upstream twice', seen.repeated, 0),
        exactly(
          `DP upstream connections still open ${SETTLE_MS / 1000} s after the load (leaked)`,
          held.length,
          0,
        ),
      ];
    } finally {
      sampling = false;
      await fleet.close();
      bad.close();
      good.close();
    }
  },
};
