/**
 * Where one saved config version stands on each data plane, from `/clustering/data-planes`:
 * acked (the DP runs that version or a later one), refused (it sent a NACK and still runs an
 * older one), held (a staged rollout keeps it at the rollout's base), pending otherwise.
 *
 * What the API cannot tell, and so what these rows may misread (docs/admin-ui.md):
 * - a DP whose slice (regions-and-slices.md) the change did not touch is sent nothing and keeps
 *   its version: it reads "pending" for good; `maybeUnchangedSlice` flags DPs with a placement;
 * - a NACK carries no version: a DP that refused an earlier snapshot reads "refused" with the old
 *   reason until it acks or refuses the new one;
 * - a disconnected DP is listed apart: it gets the version when it reconnects.
 * A staged rollout's hold is the Admin API's word (`/config/rollouts/{id}/data-planes`): a DP
 * outside the waves so far is held, one in them is pending until it acks.
 */
import type { DataPlane } from '../fleet';

export type PropagationState = 'acked' | 'pending' | 'refused' | 'held' | 'disconnected';

export interface PropagationRow {
  id: string;
  hostname: string;
  region: string | null;
  state: PropagationState;
  /** The NACK reason (refused), or why it is held. */
  reason: string | null;
  config_version: number;
  /** Pending, with a region or labels: its slice may not have changed (see above). */
  maybeUnchangedSlice: boolean;
}

/** Where one DP stands in the rollout (`GET /config/rollouts/{id}/data-planes`). */
export interface RolloutMember {
  /** Its wave, 0-based as `current_wave` (the last wave takes everyone). */
  wave: number | null;
  in_rolled_waves: boolean;
  held: boolean;
}

/** The running rollout, if any: DPs outside its waves are held at `base_version`. */
export interface RunningRollout {
  id: string;
  base_version: number;
  target_version: number;
  /** Each DP's wave and hold, by DP id, when the Admin API says (absent: guessed from versions). */
  members?: ReadonlyMap<string, RolloutMember>;
}

export function propagationRow(
  dp: DataPlane,
  version: number,
  rollout: RunningRollout | null,
): PropagationRow {
  const base = {
    id: dp.id,
    hostname: dp.hostname,
    region: dp.region,
    config_version: dp.config_version,
    reason: null,
    maybeUnchangedSlice: false,
  };
  if (dp.config_version >= version) return { ...base, state: 'acked' };
  if (!dp.connected) return { ...base, state: 'disconnected' };
  if (dp.last_nack_reason && dp.sync_status !== 'normal')
    return { ...base, state: 'refused', reason: dp.last_nack_reason };
  if (rollout && version <= rollout.target_version) {
    const name = `staged rollout ${rollout.id.slice(0, 8)}`;
    const member = rollout.members?.get(dp.id);
    if (member?.held)
      return {
        ...base,
        state: 'held',
        reason: `${name} holds it at version ${rollout.base_version} until its wave${member.wave === null ? '' : ` (${member.wave + 1})`} starts`,
      };
    if (member?.in_rolled_waves)
      return {
        ...base,
        state: 'pending',
        reason: `in wave ${member.wave! + 1} of ${name}: the change is on its way`,
      };
    // Without the API's word (an older CP, or a role that cannot read it): held or in a wave alike.
    if (!member && !rollout.members && dp.config_version >= rollout.base_version)
      return {
        ...base,
        state: 'held',
        reason: `${name} holds it at version ${rollout.base_version}, or it is in a wave (the Admin API did not say which)`,
      };
  }
  const placed = dp.region !== null || Object.keys(dp.labels ?? {}).length > 0;
  return { ...base, state: 'pending', maybeUnchangedSlice: placed };
}

export interface PropagationSummary {
  acked: number;
  pending: number;
  refused: number;
  held: number;
  disconnected: number;
  /** Every connected DP has acked, refused or is held: nothing more will change by itself. */
  settled: boolean;
}

export function summarize(rows: readonly PropagationRow[]): PropagationSummary {
  const count = (s: PropagationState) => rows.filter((r) => r.state === s).length;
  const out = {
    acked: count('acked'),
    pending: count('pending'),
    refused: count('refused'),
    held: count('held'),
    disconnected: count('disconnected'),
  };
  return { ...out, settled: out.pending === 0 };
}

/** Rows in reading order: problems first (refused, pending, held), then acked, then disconnected. */
export function sortRows(rows: readonly PropagationRow[]): PropagationRow[] {
  const rank: Record<PropagationState, number> = {
    refused: 0,
    pending: 1,
    held: 2,
    acked: 3,
    disconnected: 4,
  };
  return [...rows].sort(
    (a, b) =>
      rank[a.state] - rank[b.state] || a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id),
  );
}
