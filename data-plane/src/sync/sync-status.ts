/**
 * What /status says of the link to the control plane (`sync`), and its value before any attempt.
 * A module of its own, with no imports: the primary's start path reads the initial value without
 * loading the gRPC client (sync/config-client.ts, loaded once the cache is served).
 */

export type SyncState = 'disabled' | 'connecting' | 'connected' | 'disconnected';

export interface SyncStatus {
  state: SyncState;
  /** The address this DP is connected to, or dialling (or dialled last). */
  controlPlane: string | null;
  /** The configured `--control-plane` list (host:port each). */
  controlPlanes: string[];
  lastError: string | null;
  lastErrorAt: string | null;
  connectedSince: string | null;
  lastMessageAt: string | null;
  reconnects: number;
  /** The CP's current refusal of this DP (e.g. its Hello: `kong_version_incompatible`), since `at`. */
  refusal: { syncStatus: string; reason: string; at: string } | null;
}

/**
 * The status before any attempt: `disconnected` for a client about to dial `controlPlanes`,
 * `disabled` for a node without a control plane (DB-less, or cache only).
 */
export function initialSyncStatus(
  state: 'disabled' | 'disconnected',
  controlPlanes: string[] = [],
): SyncStatus {
  return {
    state,
    controlPlane: null,
    controlPlanes,
    lastError: null,
    lastErrorAt: null,
    connectedSince: null,
    lastMessageAt: null,
    reconnects: 0,
    refusal: null,
  };
}
