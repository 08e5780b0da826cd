/**
 * F12: data planes whose clocks are off by +1 h, −1 h, +10 min and −10 min. Each runs with
 * libfaketime preloaded (Debian's `faketime` package: the library its `faketime` command preloads,
 * given here through LD_PRELOAD and FAKETIME so the process is the DP itself; only the wall clock
 * is skewed, FAKETIME_DONT_FAKE_MONOTONIC=1). They trust the CP's root key, so the signing key's
 * certificate (its not_before and expiry) is checked too. Under load: two Admin writes, and a
 * signing-key rotation between them (the new key's certificate starts "now" on the CP's clock, in
 * the future for a DP that runs late). Snapshots wrongly refused 0; every change served by every
 * skewed DP; failed requests 0.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adminJson, httpStatus, runGatehouse, type DpHandle } from '../../../e2e/helpers/processes.js';
import { refusedConfigs } from '../dp-log.js';
import { Fleet, dpStatus, sleep, whenTrue } from '../fleet.js';
import { failed, openLoop } from '../load.js';
import { exactly, holds, type Row } from '../row.js';

/** libfaketime from Debian's faketime package (`apt-get install faketime`). */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

const SKEWS = ['+1h', '-1h', '+10m', '-10m'];

/** The environment that runs a process with its wall clock `offset` off (FAKETIME syntax). */
export function skewedClock(offset: string): NodeJS.ProcessEnv {
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

export const F12: Row = {
  id: 'F12',
  fault: 'DP clock skew (+1 h, −1 h, +10 min, −10 min), with a key rotation',
  async run(profile, log) {
    if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: apt-get install faketime`);
    const fleet = await Fleet.start({ rootKey: true });
    try {
      const skewed: { offset: string; dp: DpHandle }[] = [];
      for (const offset of SKEWS) {
        const dp = await fleet.startDp(join(fleet.dir, `skew${offset}`), true, { env: skewedClock(offset) });
        fleet.dps.push(dp);
        skewed.push({ offset, dp });
      }
      for (const { dp } of skewed) await fleet.waitServing(dp);
      const clocks = await Promise.all(
        skewed.map(async ({ dp }) => {
          const r = await fetch(`${dp.status}/status`);
          return Date.parse(r.headers.get('date') ?? '') - Date.now();
        }),
      );
      log(
        `clock offsets seen in the DPs' Date headers (s): ${clocks.map((c) => Math.round(c / 1000)).join(', ')}`,
      );

      const durationMs = profile.short ? 25_000 : 45_000;
      // A light load on each skewed DP and on the fleet's own DP (the control, clock right): on this
      // 2-core box six processes share the cores, and what is measured is serving, not capacity.
      const rate = Math.max(20, profile.rate / 12);
      const control = openLoop({ origin: fleet.dps[0]!.proxy, path: '/chaos', rate, durationMs });
      const loads = skewed.map(({ dp }) => openLoop({ origin: dp.proxy, path: '/chaos', rate, durationMs }));
      await sleep(1000);
      const servedBy = async (path: string) => {
        const ok = await Promise.all(
          skewed.map(({ dp }) =>
            whenTrue(async () => (await httpStatus(`${dp.proxy}${path}`)) === 200, 15_000),
          ),
        );
        return ok.filter((t) => t !== null).length;
      };
      const write = async (path: string) => {
        const r = await adminJson(fleet.admin, 'POST', '/services/chaos/routes', {
          name: path.slice(1),
          paths: [path],
        });
        if (r.status !== 201) throw new Error(`creating a route: ${JSON.stringify(r.json)}`);
      };
      await write('/f12-before');
      const first = await servedBy('/f12-before');
      const k1 = (await dpStatus(skewed[0]!.dp))?.config?.kid ?? null;
      const rotate = runGatehouse('keys', [
        'keys',
        'rotate',
        '--root-key',
        fleet.cp!.rootPrivateKey,
        '--dir',
        join(fleet.cpDataDir, 'keys'),
      ]);
      if ((await rotate.exited) !== 0) throw new Error(`gatehouse keys rotate: ${rotate.output}`);
      const k2Seen = await whenTrue(async () => {
        const s = await dpStatus(fleet.dps[0]!);
        return s?.config?.kid != null && s.config.kid !== k1;
      }, 20_000);
      const k2 = (await dpStatus(fleet.dps[0]!))?.config?.kid ?? null;
      await write('/f12-after');
      const second = await servedBy('/f12-after');
      const onK2 = (
        await Promise.all(
          skewed.map(({ dp }) => whenTrue(async () => (await dpStatus(dp))?.config?.kid === k2, 10_000)),
        )
      ).filter((t) => t !== null).length;
      const records = await Promise.all(loads);
      let failures = 0;
      let requests = 0;
      const perDp: string[] = [];
      for (const [j, r] of records.entries()) {
        requests += r.status.length;
        const codes = new Map<string, number>();
        for (let i = 0; i < r.status.length; i++) {
          if (!failed(r, i)) continue;
          failures++;
          const k = String(r.status[i] || 'none');
          codes.set(k, (codes.get(k) ?? 0) + 1);
        }
        // Its load-shedding count, logged beside its failures (a shed 503 is a busy box, not its clock).
        const metrics = await fetch(`${skewed[j]!.dp.status}/metrics`).then(
          (m) => m.text(),
          () => '',
        );
        // Summed over its reasons (event_loop_delay, concurrency).
        const shed = [...metrics.matchAll(/^gatehouse_dp_requests_shed_total(?:\{[^}]*\})? (\d+)/gm)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
        codes.set('shed', Number(shed));
        perDp.push(
          `${skewed[j]!.offset}: ${[...codes].map(([k, v]) => `${k}×${v}`).join(' ') || '0'} ${[...r.errors].map(([k, v]) => `${k}×${v}`).join(' ')}`,
        );
      }
      const controlRecord = await control;
      let controlFailures = 0;
      for (let i = 0; i < controlRecord.status.length; i++) if (failed(controlRecord, i)) controlFailures++;
      log(
        `failures by DP: ${perDp.join('; ')}; control (no skew): ${controlFailures} of ${controlRecord.status.length}`,
      );
      const refused = skewed.map(({ offset, dp }) => ({ offset, lines: refusedConfigs(dp.proc.output) }));
      log(
        `k1 ${k1} → k2 ${k2} (${k2Seen === null ? 'not seen' : 'seen'}); refused: ` +
          refused.map((r) => `${r.offset}: ${r.lines.map((l) => l.code).join(', ') || 'none'}`).join('; '),
      );
      const n = SKEWS.length;
      return [
        exactly(
          'snapshots wrongly refused',
          refused.reduce((s, r) => s + r.lines.length, 0),
          0,
        ),
        exactly('skewed DPs serving the write before the rotation', first, n, n),
        exactly('skewed DPs on the new key', onK2, n, n),
        exactly('skewed DPs serving the write after the rotation', second, n, n),
        exactly('failed requests on the skewed DPs', failures, 0, requests),
        exactly(
          'failed requests on the control DP (no skew)',
          controlFailures,
          0,
          controlRecord.status.length,
        ),
        holds(
          'every skewed DP alive',
          skewed.every(({ dp }) => dp.proc.alive),
        ),
      ];
    } finally {
      await fleet.close();
    }
  },
};
