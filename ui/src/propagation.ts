/**
 * After every save, which data planes run the config it produced: polls the fleet until every
 * connected DP is in sync (or has refused it), so the header can say "version 7: 2 of 3 data
 * planes" while it spreads. The Fleet screen shows the same per DP.
 */
import { reactive } from 'vue';
import { readFleet, syncState } from './fleet';
import { session } from './session';

const POLL_MS = 1000;
/** Keep watching at least this long: the CP publishes the new snapshot shortly after the write. */
const SETTLE_MS = 2500;
const GIVE_UP_MS = 60_000;

export const propagation = reactive({
  active: false,
  version: null as number | null,
  inSync: 0,
  total: 0,
  refused: [] as string[],
});

let run = 0;

export function notifySaved(): void {
  const mine = ++run;
  const started = Date.now();
  propagation.active = true;
  const tick = async () => {
    if (mine !== run) return;
    try {
      const { dps, cp } = await readFleet(session.client);
      const states = dps.filter((d) => d.connected).map((d) => syncState(d, cp));
      propagation.version = cp.version;
      propagation.total = states.length;
      propagation.inSync = states.filter((s) => s.kind === 'in-sync').length;
      propagation.refused = states.flatMap((s) => (s.kind === 'refused' ? [s.reason] : []));
      const settled = propagation.inSync + propagation.refused.length === propagation.total;
      if (settled && Date.now() - started >= SETTLE_MS) return;
    } catch {
      // the Fleet screen shows fetch errors; the banner just keeps its last figures
    }
    if (Date.now() - started < GIVE_UP_MS) setTimeout(() => void tick(), POLL_MS);
  };
  void tick();
}
