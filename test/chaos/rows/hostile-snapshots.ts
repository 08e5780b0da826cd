/**
 * Snapshots a DP must refuse, written by the CP's test-only snapshot hook (docs/chaos.md, "The
 * snapshot hook"; control-plane/src/testing/snapshot-hook.ts), under open-loop load.
 *
 * F9: one byte of a snapshot flipped after signing, in flight: the delta of an Admin write and the
 * full snapshot the CP sends after the DP refuses it are both tampered. Refused (2 of 2), the
 * served hash unchanged, each refusal reported to the CP (its Nack, seen in
 * /clustering/data-planes) within 1 s of the write.
 * F10: an older signed snapshot replayed: on the live stream; to a DP restarted (kill -9) on its
 * cache, first thing after its Hello; and to a DP restarted with its cache file deleted (only the
 * highest-version record is left). Accepted rollbacks 0.
 * F13: a signed snapshot whose config breaks the schema (routes not a list; a route with paths
 * [42]) and a snapshot message bigger than the DP takes (65 MiB > its 64 MiB receive limit, > the
 * matrix's 16 MiB): refused, nothing applied, the DP's RSS peak ≤ before + 2× the message.
 */
import { readFileSync, rmSync } from 'node:fs';
import { adminJson, httpStatus } from '../../../e2e/helpers/processes.js';
import { appliedConfigs, refusedConfigs } from '../dp-log.js';
import { Fleet, dpStatus, sleep, whenTrue, type DpStatus } from '../fleet.js';
import { failed, openLoop, type LoadRecord } from '../load.js';
import { atMost, exactly, holds, type Figure, type Profile, type Row } from '../row.js';

/** Load on the fleet's DP while `during` runs; the failed requests of the whole run. */
async function underLoad<T>(
  fleet: Fleet,
  profile: Profile,
  during: () => Promise<T>,
): Promise<{ result: T; failed: number; requests: number }> {
  const dp = fleet.dps[0]!;
  const durationMs = profile.short ? 8_000 : 20_000;
  const load: Promise<LoadRecord> = openLoop({
    origin: dp.proxy,
    path: '/chaos',
    rate: profile.rate,
    durationMs,
  });
  const result = await during();
  const record = await load;
  let n = 0;
  for (let i = 0; i < record.status.length; i++) if (failed(record, i)) n++;
  return { result, failed: n, requests: record.status.length };
}

/** The DP's row in the CP's /clustering/data-planes. */
async function dpRow(fleet: Fleet): Promise<Record<string, unknown> | null> {
  const r = await adminJson(fleet.admin, 'GET', '/clustering/data-planes');
  const rows = (r.json?.data ?? []) as Record<string, unknown>[];
  return rows[0] ?? null;
}

const held = async (dp: { status: string }): Promise<DpStatus['config']> =>
  (await dpStatus(dp))?.config ?? null;

export const F9: Row = {
  id: 'F9',
  fault: 'tampered snapshot in flight (1 byte flipped after signing)',
  async run(profile, log) {
    const fleet = await Fleet.start({ snapshotHook: true });
    try {
      const dp = fleet.dps[0]!;
      const before = await held(dp);
      const from = dp.proc.output.length;
      const {
        result,
        failed: failures,
        requests,
      } = await underLoad(fleet, profile, async () => {
        await sleep(1000);
        await fleet.hookDo('/tamper-next');
        const write = await adminJson(fleet.admin, 'POST', '/services/chaos/routes', {
          name: 'f9-tampered',
          paths: ['/f9-tampered'],
        });
        if (write.status !== 201) throw new Error(`creating a route: ${JSON.stringify(write.json)}`);
        // The first refusal as the CP records it (its Nack), against the hook's write time.
        let reportMs = Infinity;
        await whenTrue(
          async () => {
            const row = await dpRow(fleet);
            if (typeof row?.last_nack_reason !== 'string') return false;
            const seenAt = Date.now();
            const events = await hookEvents(fleet);
            if (events.length === 0) return false;
            reportMs = seenAt - events[0]!.at;
            return true;
          },
          10_000,
          10,
        );
        await whenTrue(async () => refusedConfigs(dp.proc.output, from).length >= 1, 10_000);
        const after = await held(dp);
        const tamperedServed = await httpStatus(`${dp.proxy}/f9-tampered`);
        const events = await hookEvents(fleet);
        return { reportMs, after, tamperedServed, events };
      });
      const refused = refusedConfigs(dp.proc.output, from);
      const applied = appliedConfigs(dp.proc.output, from);
      log(
        `hook: ${result.events.map((e) => `${e.action} v${e.version}`).join(', ')}; served ${before?.hash.slice(0, 8)} → ${result.after?.hash.slice(0, 8)}; /f9-tampered ${result.tamperedServed}; DP refused: ` +
          `${refused.map((r) => r.code).join(', ')}; applied ${applied.length}; report ${result.reportMs.toFixed(0)} ms`,
      );
      // Afterwards the DP catches up with the next write, as it would in production.
      await adminJson(fleet.admin, 'POST', '/services/chaos/routes', {
        name: 'f9-after',
        paths: ['/f9-after'],
      });
      const recovers = await whenTrue(async () => (await httpStatus(`${dp.proxy}/f9-after`)) === 200, 15_000);
      return [
        exactly(
          'tampered snapshots refused',
          Math.min(refused.length, result.events.length),
          1,
          result.events.length,
        ),
        exactly('tampered configs applied', applied.length, 0),
        holds('served hash unchanged', result.after?.hash === before?.hash && result.tamperedServed === 404),
        atMost('refusal reported to the CP (Nack) after the write', result.reportMs / 1000, 1, 's', 2),
        exactly('failed requests', failures, 0, requests),
        holds('serves the next write', recovers !== null),
      ];
    } finally {
      await fleet.close();
    }
  },
};

async function hookEvents(fleet: Fleet): Promise<{ action: string; at: number; version: string }[]> {
  const r = await fetch(`${fleet.hook}/events`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as { action: string; at: number; version: string }[];
}

/** Versions the DP applied after `from` below the highest it had applied before them (rollbacks). */
function rollbacks(output: string, highest: bigint, from: number): number {
  let top = highest;
  let n = 0;
  for (const a of appliedConfigs(output, from)) {
    const v = BigInt(a.version || '0');
    if (v < top) n++;
    else top = v;
  }
  return n;
}

export const F10: Row = {
  id: 'F10',
  fault: 'replayed older snapshot (live; after a DP restart; after a restart without its cache)',
  async run(profile, log) {
    const fleet = await Fleet.start({ snapshotHook: true });
    try {
      // Two writes: the hook has an older snapshot to replay.
      await adminJson(fleet.admin, 'POST', '/services/chaos/routes', { name: 'f10-v2', paths: ['/f10-v2'] });
      let dp = fleet.dps[0]!;
      await whenTrue(async () => (await httpStatus(`${dp.proxy}/f10-v2`)) === 200, 15_000);
      const top = BigInt((await held(dp))!.version);
      const figures: Figure[] = [];
      const cases: { name: string; attempts: number; accepted: number; refused: number }[] = [];

      // Live: under load.
      const from = dp.proc.output.length;
      const live = await underLoad(fleet, profile, async () => {
        await sleep(1000);
        const e = await fleet.hookDo('/replay');
        await whenTrue(async () => refusedConfigs(dp.proc.output, from).length >= 1, 10_000);
        return e;
      });
      cases.push({
        name: 'live',
        attempts: 1,
        accepted: rollbacks(dp.proc.output, top, from),
        refused: refusedConfigs(dp.proc.output, from).length,
      });
      log(`live: replayed v${live.result.version} over v${top}; failed ${live.failed} of ${live.requests}`);
      let events = (await hookEvents(fleet)).length;
      figures.push(exactly('failed requests during the live replay', live.failed, 0, live.requests));

      // After a restart: on its cache, then without it (the highest-version record is all that is left).
      for (const withoutCache of [false, true]) {
        const name = withoutCache ? 'restart without cache' : 'restart on cache';
        const cacheFile = (await dpStatus(dp))!.cache!.file;
        const replayed = await fleet.hookDo('/replay-on-hello');
        await dp.proc.kill9();
        if (withoutCache) rmSync(cacheFile, { force: true });
        dp = await fleet.startDp(dp.dataDir, false);
        fleet.dps[0] = dp;
        const again = dp;
        await whenTrue(async () => (await hookEvents(fleet)).length > events, 30_000);
        events = (await hookEvents(fleet)).length;
        await whenTrue(async () => refusedConfigs(again.proc.output).length >= 1, 15_000);
        await whenTrue(async () => (await held(again))?.version === top.toString(), 15_000);
        const below = appliedConfigs(again.proc.output).filter((a) => BigInt(a.version || '0') < top);
        const refused = refusedConfigs(again.proc.output);
        cases.push({ name, attempts: 1, accepted: below.length, refused: refused.length });
        log(
          `${name}: replayed v${replayed.version ?? '?'}; refused ${refused.map((r) => `${r.code} v${r.version}`).join(', ')}; ` +
            `serving v${(await held(again))?.version ?? 'none'}`,
        );
      }
      for (const c of cases)
        figures.push(exactly(`${c.name}: rollbacks accepted`, c.accepted, 0, c.attempts));
      figures.push(
        exactly(
          'replays refused',
          cases.reduce((n, c) => n + Math.min(c.refused, 1), 0),
          cases.length,
          cases.length,
        ),
      );
      return figures;
    } finally {
      await fleet.close();
    }
  },
};

/** The DP's resident set (its primary and its workers), from /proc; 0 when it cannot be read. */
function rssBytes(pid: number): number {
  let total = 0;
  const visit = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) total += Number(m[1]) * 1024;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim();
      for (const c of children.split(/\s+/).filter(Boolean)) visit(Number(c));
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

/** 65 MiB: over the DP's 64 MiB receive limit, and over the matrix's 16 MiB. */
const OVERSIZE_BYTES = 65 * 1024 * 1024;
const MiB = 1024 * 1024;

export const F13: Row = {
  id: 'F13',
  fault: 'invalid (schema error) and oversized (65 MiB) snapshots',
  async run(profile, log) {
    const fleet = await Fleet.start({ snapshotHook: true });
    try {
      const dp = fleet.dps[0]!;
      const before = await held(dp);
      const from = dp.proc.output.length;
      const pid = dp.proc.child.pid!;
      const {
        result,
        failed: failures,
        requests,
      } = await underLoad(fleet, profile, async () => {
        await sleep(1000);
        let refusedSoFar = 0;
        const invalid: string[] = [];
        for (const kind of ['document', 'entity']) {
          await fleet.hookDo('/invalid', { kind });
          await whenTrue(async () => refusedConfigs(dp.proc.output, from).length > refusedSoFar, 10_000);
          refusedSoFar = refusedConfigs(dp.proc.output, from).length;
          invalid.push(kind);
        }
        // Oversized: the RSS of the DP (primary and workers) sampled every 5 ms around it.
        await sleep(500);
        const baseline = rssBytes(pid);
        let peak = baseline;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            peak = Math.max(peak, rssBytes(pid));
            await sleep(5);
          }
        })();
        const reconnectsBefore = (await dpStatus(dp))?.sync.reconnects ?? 0;
        await fleet.hookDo('/oversize', { bytes: OVERSIZE_BYTES });
        // The DP's gRPC client refuses the message from its length prefix and drops the stream.
        const dropped = await whenTrue(
          async () => ((await dpStatus(dp))?.sync.reconnects ?? 0) > reconnectsBefore,
          20_000,
        );
        await sleep(1000);
        sampling = false;
        await sampler;
        const status = await dpStatus(dp);
        return {
          invalid,
          baseline,
          peak,
          dropped: dropped !== null,
          lastError: status?.sync.lastError ?? null,
        };
      });
      const refused = refusedConfigs(dp.proc.output, from);
      const applied = appliedConfigs(dp.proc.output, from);
      const after = await held(dp);
      const invalidServed = await httpStatus(`${dp.proxy}/f13-invalid`);
      log(
        `refused: ${refused.map((r) => `${r.code} (${(r.reason ?? '').slice(0, 80)})`).join('; ')}; ` +
          `oversize: stream dropped ${result.dropped} (${result.lastError ?? '-'}); RSS ${(result.baseline / MiB).toFixed(0)} → peak ${(result.peak / MiB).toFixed(0)} MiB`,
      );
      const oversizeRefused =
        result.dropped && /larger than max|RESOURCE_EXHAUSTED/i.test(result.lastError ?? '');
      return [
        exactly('invalid snapshots refused', Math.min(refused.length, 2), 2, 2),
        exactly('oversized snapshots refused', oversizeRefused ? 1 : 0, 1, 1),
        exactly('configs applied', applied.length, 0),
        holds('served hash unchanged', after?.hash === before?.hash && invalidServed === 404),
        atMost(
          'DP RSS peak over before (bound: 2× the 65 MiB message)',
          (result.peak - result.baseline) / MiB,
          (2 * OVERSIZE_BYTES) / MiB,
          'MiB',
          0,
        ),
        exactly('failed requests', failures, 0, requests),
      ];
    } finally {
      await fleet.close();
    }
  },
};
