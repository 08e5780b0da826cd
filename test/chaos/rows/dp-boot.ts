/**
 * Data plane boots without a control plane. F6: a DP killed (-9) while the CP is down starts
 * again from its signed disk cache: time from the process start to the first 200 (≤ 1 s), routes
 * served (N of N). F7: a DP with no cache and no CP: it runs, says not ready (503), and answers
 * proxy requests with the gateway's 404/503, never crashes. F8: a cache file corrupted on disk (a
 * flipped byte; a truncated file) is refused, never applied: the DP boots, serves no config from
 * it, and serves again once the CP is back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpStatus } from '../../../e2e/helpers/processes.js';
import { treeCpuMs } from '../cpu.js';
import { Fleet, dpStatus, sleep, whenTrue } from '../fleet.js';
import { atMost, exactly, holds, type Figure, type Row } from '../row.js';

const ROUTES = 5;

export const F6: Row = {
  id: 'F6',
  fault: 'DP restart (kill -9) while the CP is down',
  async run(_profile, log) {
    const fleet = await Fleet.start({ routes: ROUTES });
    try {
      const dp = fleet.dps[0]!;
      await fleet.stopCp('SIGKILL');
      await dp.proc.kill9();
      const startedAt = performance.now();
      const again = await fleet.startDp(dp.dataDir, false);
      fleet.dps[0] = again;
      const firstOk = await whenTrue(
        async () => (await httpStatus(`${again.proxy}/chaos`)) === 200,
        30_000,
        10,
      );
      // CPU the DP's processes used by then (the `gatehouse` script's shell included): the figure
      // a busy machine does not inflate the way it does the wall time.
      const cpuMs = treeCpuMs(again.proc.child.pid!);
      let served = 0;
      for (const p of fleet.paths) if ((await httpStatus(`${again.proxy}${p}`)) === 200) served++;
      log(
        `first 200 after ${firstOk === null ? 'never' : (firstOk - startedAt).toFixed(0)} ms, DP CPU ${cpuMs} ms`,
      );
      return [
        {
          measured: 'DP CPU to the first 200 (primary + workers)',
          value: `${(cpuMs / 1000).toFixed(2)} s`,
          bound: 'reported',
          pass: true,
        },
        atMost('time to first 200', firstOk === null ? Infinity : (firstOk - startedAt) / 1000, 1, 's', 2),
        exactly('routes served', served, ROUTES, ROUTES),
      ];
    } finally {
      await fleet.close();
    }
  },
};

export const F7: Row = {
  id: 'F7',
  fault: 'DP cold start, no cache, CP down',
  async run(_profile, log) {
    const fleet = await Fleet.start();
    try {
      await fleet.stopCp('SIGKILL');
      const dp = await fleet.startDp(join(fleet.dir, 'cold'), false);
      fleet.dps.push(dp);
      await whenTrue(async () => (await dpStatus(dp)) !== null, 30_000);
      await sleep(5000);
      const ready = await httpStatus(`${dp.status}/status/ready`);
      const proxy = await httpStatus(`${dp.proxy}/chaos`);
      log(`ready ${ready}, proxy ${proxy}, alive ${dp.proc.alive}`);
      return [
        exactly('crashes', dp.proc.alive ? 0 : 1, 0),
        exactly('/status/ready', ready, 503),
        {
          measured: 'proxy answer',
          value: String(proxy),
          bound: '404 or 503',
          pass: proxy === 404 || proxy === 503,
        },
      ];
    } finally {
      await fleet.close();
    }
  },
};

/** One corruption of the cache file: a DP starting on it, then the CP coming back. */
async function corruptCache(
  name: string,
  corrupt: (bytes: Buffer) => Buffer,
  log: (l: string) => void,
): Promise<Figure[]> {
  const fleet = await Fleet.start();
  try {
    const dp = fleet.dps[0]!;
    const file = (await dpStatus(dp))!.cache!.file;
    await fleet.stopCp('SIGKILL');
    await dp.proc.stop();
    writeFileSync(file, corrupt(readFileSync(file)));
    const again = await fleet.startDp(dp.dataDir, false);
    fleet.dps[0] = again;
    const up = await whenTrue(async () => (await dpStatus(again)) !== null, 30_000);
    await sleep(2000);
    const status = await dpStatus(again);
    const proxy = await httpStatus(`${again.proxy}/chaos`);
    const applied = status?.config != null || proxy === 200 ? 1 : 0;
    await fleet.restartCp();
    const back = await whenTrue(async () => (await httpStatus(`${again.proxy}/chaos`)) === 200, 30_000);
    log(`${name}: boots ${up !== null}, config ${JSON.stringify(status?.config ?? null)}, proxy ${proxy}`);
    return [
      holds(`${name}: boots`, up !== null && again.proc.alive),
      exactly(`${name}: corrupt configs applied`, applied, 0),
      holds(`${name}: serves again once the CP is back`, back !== null),
    ];
  } finally {
    await fleet.close();
  }
}

export const F8: Row = {
  id: 'F8',
  fault: 'corrupt cache on disk',
  async run(_profile, log) {
    const flipped = await corruptCache(
      'flipped byte',
      (b) => {
        const c = Buffer.from(b);
        const at = c.length >> 1;
        c[at] = c[at]! ^ 0x01;
        return c;
      },
      log,
    );
    const truncated = await corruptCache('truncated', (b) => b.subarray(0, b.length >> 1), log);
    return [...flipped, ...truncated];
  },
};
