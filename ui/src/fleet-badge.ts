/**
 * The header's fleet badge: how many connected data planes run the CP's latest configuration
 * (fleet.ts's `syncState`), polled every 5 s while signed in and the role may read the fleet.
 */
import { reactive } from 'vue';
import { fleetCounts, readFleet, syncState } from './fleet';
import { can, session } from './session';

export const fleetBadge = reactive({ known: false, inSync: 0, connected: 0, refused: 0 });

export async function refreshFleetBadge(): Promise<void> {
  if (!session.signedIn || !can('GET', '/clustering/data-planes') || !can('GET', '/clustering/status')) {
    fleetBadge.known = false;
    return;
  }
  try {
    const { dps, cp } = await readFleet(session.client);
    Object.assign(fleetBadge, fleetCounts(dps.map((dp) => syncState(dp, cp))), { known: true });
  } catch {
    fleetBadge.known = false;
  }
}
