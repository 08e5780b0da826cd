/**
 * F14: config churn under load. One Admin API write a second (a response-transformer header on
 * the route, carrying the write's number) while an open-loop load runs on two data planes. Each
 * write's propagation is measured as a client sees it: from the Admin API's answer until every DP
 * answers with that write's header. Figures: failed requests (0), the p99 during the churn against
 * the p99 before it (≤ +5 ms), write → all DPs serving, p99 of the writes (≤ 1 s).
 */
import { adminJson } from '../../../e2e/helpers/processes.js';
import { Fleet, sleep, whenTrue } from '../fleet.js';
import { offsetOf, summarize } from '../load.js';
import { openLoopInThread } from '../load-thread.js';
import { atMost, exactly, p99Delta, type Row } from '../row.js';

async function revisionServed(proxy: string, revision: number): Promise<boolean> {
  const r = await fetch(`${proxy}/chaos`, { signal: AbortSignal.timeout(2000) });
  await r.arrayBuffer();
  return r.headers.get('x-chaos-revision') === String(revision);
}

export const F14: Row = {
  id: 'F14',
  fault: 'config churn under load (1 write/s)',
  async run(profile, log) {
    const fleet = await Fleet.start({ dps: 2 });
    try {
      const baselineMs = profile.durationMs / 4;
      // Each DP's load in a thread of its own (load-thread.ts): the writes and the polling below
      // run on this thread.
      const threads = fleet.dps.map((dp) =>
        openLoopInThread({
          origin: dp.proxy,
          path: '/chaos',
          rate: profile.rate / 2,
          durationMs: profile.durationMs,
        }),
      );
      const loads = threads.map((t) => t.record);
      const t0 = Math.max(...(await Promise.all(threads.map((t) => t.started))));
      await sleep(baselineMs);
      const churnAt = performance.now();
      const propagation: number[] = [];
      let pluginId: string | null = null;
      for (let n = 1; performance.now() - t0 < profile.durationMs - 2000; n++) {
        const tick = performance.now();
        const config = { add: { headers: [`x-chaos-revision:${n}`] } };
        const w: { status: number; json: unknown } =
          pluginId === null
            ? await adminJson(fleet.admin, 'POST', '/routes/chaos/plugins', {
                name: 'response-transformer',
                config,
              })
            : await adminJson(fleet.admin, 'PATCH', `/plugins/${pluginId}`, { config });
        if (w.status !== 201 && w.status !== 200)
          throw new Error(`write ${n}: ${w.status} ${JSON.stringify(w.json)}`);
        pluginId ??= (w.json as { id: string }).id;
        const written = performance.now();
        let last = written;
        for (const dp of fleet.dps) {
          const at = await whenTrue(() => revisionServed(dp.proxy, n), 10_000, 10);
          last = Math.max(last, at ?? Infinity);
        }
        propagation.push(last - written);
        await sleep(Math.max(0, tick + 1000 - performance.now()));
      }
      const records = await Promise.all(loads);
      const sorted = [...propagation].sort((a, b) => a - b);
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? Infinity;
      let failed = 0;
      let requests = 0;
      const base: number[] = [];
      const churn: number[] = [];
      for (const r of records) {
        const all = summarize(r);
        failed += all.failed;
        requests += all.requests;
        base.push(summarize(r, 1000, offsetOf(r, churnAt)).p99Ms);
        churn.push(summarize(r, offsetOf(r, churnAt)).p99Ms);
      }
      log(`${propagation.length} writes; propagation ms: ${sorted.map((x) => x.toFixed(0)).join(' ')}`);
      return [
        exactly('failed requests', failed, 0, requests),
        p99Delta('p99 during the churn (worst DP)', Math.max(...base), Math.max(...churn), 5),
        atMost(`write → all DPs serving, p99 of ${propagation.length}`, p99 / 1000, 1, 's', 2),
      ];
    } finally {
      await fleet.close();
    }
  },
};
