/**
 * The Fleet view's facts, from `/clustering/data-planes` and `/clustering/status`: each data
 * plane's config version against the control plane's latest, and how long since it was seen.
 */
export interface DataPlane {
  id: string;
  hostname: string;
  ip: string;
  version: string;
  sync_status: string;
  config_hash: string;
  config_version: number;
  last_seen: number;
  region: string | null;
  connected: boolean;
  last_nack_reason: string | null;
  /** The DP's client certificate (Kong's `cert_details`); absent or null without one. */
  cert_details?: { subject: string; common_name: string | null; expiry_timestamp: number } | null;
  labels?: Record<string, string>;
  cp_id?: string | null;
  plugins?: Array<{ name: string; version: string }>;
  health?: DataPlaneHealth | null;
}

/** What the DP's last heartbeat said about it. */
export interface DataPlaneHealth {
  status: string;
  workers: number;
  workers_configured: number;
  rss_bytes: number;
  heap_used_bytes: number;
  event_loop_lag_ms: number;
  reported_at: number;
  unhealthy_targets?: Array<{ upstream_id: string; target: string; cause: string }>;
  unhealthy_targets_dropped?: number;
}

export interface ControlPlaneConfig {
  version: number | null;
  config_hash: string | null;
}

export type SyncState =
  | { kind: 'in-sync' }
  | { kind: 'behind'; by: number }
  | { kind: 'refused'; reason: string }
  | { kind: 'disconnected' }
  | { kind: 'unknown' };

/** Whether a data plane runs the control plane's latest config, or how many versions behind it is. */
export function syncState(dp: DataPlane, cp: ControlPlaneConfig): SyncState {
  if (!dp.connected) return { kind: 'disconnected' };
  if (cp.version === null) return { kind: 'unknown' };
  if (dp.config_version >= cp.version || (cp.config_hash !== null && dp.config_hash === cp.config_hash))
    return { kind: 'in-sync' };
  if (dp.last_nack_reason) return { kind: 'refused', reason: dp.last_nack_reason };
  return { kind: 'behind', by: cp.version - dp.config_version };
}

export function syncText(s: SyncState): string {
  switch (s.kind) {
    case 'in-sync':
      return 'in sync';
    case 'behind':
      return `behind by ${s.by} version${s.by === 1 ? '' : 's'}`;
    case 'refused':
      return `refused: ${s.reason}`;
    case 'disconnected':
      return 'disconnected';
    default:
      return 'unknown';
  }
}

/** "5 s ago", "3 min ago", "2 h ago" from unix seconds. */
export function ago(unixSeconds: number, nowMs: number): string {
  const s = Math.max(0, Math.round(nowMs / 1000 - unixSeconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** "in 12 d", "in 5 h", "expired 2 d ago" for a certificate's expiry (unix seconds); "—" without one. */
export function expiryText(expiry: number | undefined, nowMs: number): string {
  if (expiry === undefined) return '—';
  const s = Math.round(expiry - nowMs / 1000);
  const span = (n: number) =>
    n < 3600
      ? `${Math.max(1, Math.floor(n / 60))} min`
      : n < 86_400
        ? `${Math.floor(n / 3600)} h`
        : `${Math.floor(n / 86_400)} d`;
  return s <= 0 ? `expired ${span(-s)} ago` : `in ${span(s)}`;
}

/** A certificate expiring within this many seconds is flagged. */
export const CERT_WARN_SECONDS = 14 * 86_400;

/** Data planes by region (no region: "default"), regions sorted. */
export function byRegion(dps: DataPlane[]): Array<[string, DataPlane[]]> {
  const groups = new Map<string, DataPlane[]>();
  for (const dp of dps) {
    const r = dp.region ?? 'default';
    groups.set(r, [...(groups.get(r) ?? []), dp]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** What the Admin API says about the fleet now: every data plane and the CP's latest config. */
export async function readFleet(client: {
  list<T>(path: string): Promise<T[]>;
  get<T>(path: string): Promise<T>;
}): Promise<{ dps: DataPlane[]; cp: ControlPlaneConfig }> {
  const [dps, status] = await Promise.all([
    client.list<DataPlane>('/clustering/data-planes'),
    client.get<{ control_plane?: ControlPlaneConfig }>('/clustering/status'),
  ]);
  return { dps, cp: status.control_plane ?? { version: null, config_hash: null } };
}

/** How many connected data planes are in sync, and how many refused the latest config (the header's badge). */
export function fleetCounts(states: SyncState[]): { inSync: number; connected: number; refused: number } {
  const connected = states.filter((s) => s.kind !== 'disconnected');
  return {
    inSync: connected.filter((s) => s.kind === 'in-sync').length,
    connected: connected.length,
    refused: connected.filter((s) => s.kind === 'refused').length,
  };
}
