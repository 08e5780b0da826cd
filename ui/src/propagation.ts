/**
 * After every save, which data planes run the config it produced: polls the fleet until every
 * connected DP has acked the CP's latest version, refused it, or is held by a staged rollout, so
 * the header can say "version 7: 2 of 3 data planes" while it spreads, and the save-propagation
 * table (ops/SavePropagation.vue) shows each DP: acked / pending / refused with its reason.
 */
import { reactive } from 'vue';
import { readFleet } from './fleet';
import {
  propagationRow,
  sortRows,
  summarize,
  type PropagationRow,
  type RolloutMember,
  type RunningRollout,
} from './ops/save-propagation';
import { session } from './session';

const POLL_MS = 1000;
/** Keep watching at least this long: the CP publishes the new snapshot shortly after the write. */
const SETTLE_MS = 2500;
const GIVE_UP_MS = 60_000;

export const propagation = reactive({
  active: false,
  /** Still polling (false once settled or given up). */
  watching: false,
  version: null as number | null,
  inSync: 0,
  total: 0,
  refused: [] as string[],
  /** Per DP, problems first. */
  rows: [] as PropagationRow[],
  /** When the save was made (ms). */
  savedAt: 0,
});

let run = 0;

/** The running staged rollout, if the Admin API has rollouts and one runs. */
async function runningRollout(): Promise<RunningRollout | null> {
  try {
    const page = await session.client.get<{ data: Array<RunningRollout & { state: string }> }>(
      '/config/rollouts?size=1',
    );
    const r = page.data[0];
    if (!r || r.state !== 'running') return null;
    // Which DPs it holds and which are in its waves so far (an older CP answers 404: guessed then).
    const members = await session.client
      .get<{ data: Array<RolloutMember & { id: string }> }>(
        `/config/rollouts/${encodeURIComponent(r.id)}/data-planes`,
      )
      .then((m) => new Map(m.data.map((d) => [d.id, d] as const)))
      .catch(() => undefined);
    return members ? { ...r, members } : r;
  } catch {
    return null;
  }
}

/** The version the database is at now (`GET /`'s `configuration.config_version`): the save's, or a later one. */
async function committedVersion(): Promise<number | null> {
  try {
    const info = await session.client.get<{ configuration?: { config_version?: string } }>('/');
    const v = Number(info.configuration?.config_version);
    return Number.isSafeInteger(v) ? v : null;
  } catch {
    return null;
  }
}

export function notifySaved(): void {
  const mine = ++run;
  const saved = committedVersion();
  const started = Date.now();
  propagation.active = true;
  propagation.watching = true;
  propagation.savedAt = started;
  propagation.rows = [];
  const tick = async () => {
    if (mine !== run) return;
    try {
      const [{ dps, cp }, rollout, committed] = await Promise.all([
        readFleet(session.client),
        runningRollout(),
        saved,
      ]);
      if (mine !== run) return;
      // The save's version, even before the CP has published its snapshot.
      const version = Math.max(cp.version ?? 0, committed ?? 0);
      const published = cp.version !== null && cp.version >= version;
      const rows = sortRows(dps.map((d) => propagationRow(d, version, rollout)));
      const sum = summarize(rows);
      propagation.version = version;
      propagation.rows = rows;
      const connected = new Set(dps.filter((d) => d.connected).map((d) => d.id));
      propagation.total = connected.size;
      propagation.inSync = rows.filter((r) => r.state === 'acked' && connected.has(r.id)).length;
      propagation.refused = rows.flatMap((r) => (r.state === 'refused' && r.reason ? [r.reason] : []));
      if (sum.settled && published && Date.now() - started >= SETTLE_MS) {
        propagation.watching = false;
        return;
      }
    } catch {
      // the Fleet screen shows fetch errors; the banner just keeps its last figures
    }
    if (Date.now() - started < GIVE_UP_MS) setTimeout(() => void tick(), POLL_MS);
    else propagation.watching = false;
  };
  void tick();
}
