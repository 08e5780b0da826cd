/**
 * Prometheus metrics of the data plane primary (prom-client, on its own registry so several
 * data planes can live in one process in tests). Nothing here touches the request path.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** How often the primary samples its own event-loop lag (see the constructor). */
const PRIMARY_LAG_SAMPLE_MS = 1_000;

export class DataPlaneMetrics {
  readonly registry = new Registry();
  readonly configVersion: Gauge;
  readonly configAppliedAt: Gauge;
  readonly snapshotApplies: Counter<'source'>;
  readonly snapshotRejects: Counter<'code'>;
  readonly deltaApplies: Counter;
  readonly deltaRejects: Counter<'code'>;
  readonly cacheWriteFailures: Counter;
  readonly cpConnected: Gauge;
  readonly cpState: Gauge<'state'>;
  readonly cpReconnects: Counter;
  readonly workersAlive: Gauge;
  readonly workerRestarts: Counter;
  readonly cpRefusals: Counter<'sync_status'>;
  readonly declarativeReloads: Counter<'result'>;
  readonly jetstreamBoot: Counter<'result'>;
  readonly configHash: Gauge<'hash'>;
  readonly configAge: Gauge;
  readonly snapshotExpired: Gauge;
  readonly snapshotExpiresAt: Gauge;
  readonly clusterRateLimitConnected: Gauge<'subject'>;
  readonly clusterRateLimitLocalDecisions: Counter;
  readonly oauth2Revocations: Gauge;
  readonly oauth2RevocationsEvicted: Counter;
  /**
   * The node's list of oauth2 revocations pushed by the CP (plugins/oauth2/revoked-tokens.ts):
   * entries held, and live entries dropped because the list was full. The DP sets it.
   */
  oauth2RevocationList: () => { readonly size: number; readonly evicted: number } = () => ({
    size: 0,
    evicted: 0,
  });
  /**
   * The `cluster` rate-limit policy as /status says it (null while no config uses it: no series).
   * The DP sets it once its ClusterNode exists.
   */
  clusterPolicy: () => { readonly subject: string; readonly degraded: boolean } | null = () => null;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.configVersion = new Gauge({
      name: 'gatehouse_dp_config_version',
      help: 'Version of the config snapshot this data plane serves (0 = none).',
      registers,
    });
    this.configAppliedAt = new Gauge({
      name: 'gatehouse_dp_config_applied_timestamp_seconds',
      help: 'Unix time the served config was applied.',
      registers,
    });
    this.snapshotExpired = new Gauge({
      name: 'gatehouse_dp_snapshot_expired',
      help: 'Whether the signed snapshot served is past its expiry (1): still served, the control plane has not re-signed it in time.',
      registers,
    });
    this.snapshotExpiresAt = new Gauge({
      name: 'gatehouse_dp_snapshot_expiry_timestamp_seconds',
      help: 'Unix time the signed snapshot served expires (0 = it carries no expiry).',
      registers,
    });
    this.snapshotApplies = new Counter({
      name: 'gatehouse_dp_snapshot_applies_total',
      help: 'Configs applied to every worker, by source (control_plane, cache, jetstream, declarative).',
      labelNames: ['source'],
      registers,
    });
    this.snapshotRejects = new Counter({
      name: 'gatehouse_dp_snapshot_rejects_total',
      help: 'Snapshots refused (NACKed or ignored at boot), by error code.',
      labelNames: ['code'],
      registers,
    });
    this.deltaApplies = new Counter({
      name: 'gatehouse_dp_delta_applies_total',
      help: 'Deltas from the control plane applied (delta sync; also counted in gatehouse_dp_snapshot_applies_total).',
      registers,
    });
    this.deltaRejects = new Counter({
      name: 'gatehouse_dp_delta_rejects_total',
      help: 'Deltas refused (NACKed; the control plane then sends the full snapshot), by error code (GH_ERR_SNAPSHOT_DELTA_BASE: not based on the config held).',
      labelNames: ['code'],
      registers,
    });
    this.cacheWriteFailures = new Counter({
      name: 'gatehouse_dp_snapshot_cache_write_failures_total',
      help: 'Applied snapshots that could not be written to the disk cache.',
      registers,
    });
    this.cpConnected = new Gauge({
      name: 'gatehouse_dp_control_plane_connected',
      help: '1 while the stream to the control plane is up, else 0.',
      registers,
    });
    this.cpState = new Gauge({
      name: 'gatehouse_dp_control_plane_state',
      help: 'Sync state with the control plane (1 for the current state).',
      labelNames: ['state'],
      registers,
    });
    this.cpReconnects = new Counter({
      name: 'gatehouse_dp_control_plane_reconnects_total',
      help: 'Connection attempts to the control plane after the first.',
      registers,
    });
    this.workersAlive = new Gauge({
      name: 'gatehouse_dp_workers_alive',
      help: 'Worker processes alive.',
      registers,
    });
    this.workerRestarts = new Counter({
      name: 'gatehouse_dp_worker_restarts_total',
      help: 'Workers that died and were replaced.',
      registers,
    });
    this.cpRefusals = new Counter({
      name: 'gatehouse_dp_control_plane_refusals_total',
      help: 'Refusals received from the control plane, by sync_status.',
      labelNames: ['sync_status'],
      registers,
    });
    this.declarativeReloads = new Counter({
      name: 'gatehouse_dp_declarative_reloads_total',
      help: 'DB-less reloads of the declarative file, by result (applied, unchanged, refused).',
      labelNames: ['result'],
      registers,
    });
    this.jetstreamBoot = new Counter({
      name: 'gatehouse_dp_jetstream_boot_total',
      help: 'Cold-start attempts from the JetStream snapshot store, by result (applied, refused, empty, unreachable, superseded).',
      labelNames: ['result'],
      registers,
    });
    this.configHash = new Gauge({
      name: 'gatehouse_dp_config_hash_info',
      help: 'Hash of the served config (the label; value 1). No series before the first config.',
      labelNames: ['hash'],
      registers,
    });
    const appliedAt = this.configAppliedAt;
    this.configAge = new Gauge({
      name: 'gatehouse_dp_config_age_seconds',
      help: 'Seconds since the served config was applied (since the last config change from the CP or file); -1 before one.',
      registers,
      async collect() {
        const at = (await appliedAt.get()).values[0]?.value ?? 0;
        this.set(at > 0 ? Date.now() / 1000 - at : -1);
      },
    });
    const clusterPolicy = () => this.clusterPolicy();
    this.clusterRateLimitConnected = new Gauge({
      name: 'gatehouse_ratelimit_cluster_connected',
      help: 'rate-limiting policy cluster, by NATS subject: 1 while this data plane shares its counts over NATS, 0 while it counts locally (NATS down or not configured). No series while no config uses the policy.',
      labelNames: ['subject'],
      registers,
      collect() {
        const p = clusterPolicy();
        this.reset();
        if (p) this.set({ subject: p.subject }, p.degraded ? 0 : 1);
      },
    });
    this.clusterRateLimitLocalDecisions = new Counter({
      name: 'gatehouse_ratelimit_cluster_local_decisions_total',
      help: "rate-limiting policy cluster: decisions taken on this data plane's counts alone, while NATS was not connected (or not configured).",
      registers,
    });
    const revocationList = () => this.oauth2RevocationList();
    this.oauth2Revocations = new Gauge({
      name: 'gatehouse_dp_oauth2_revocations',
      help: 'oauth2 access tokens revoked outside the config that this data plane holds on its list (bounded, MAX_OAUTH2_REVOCATIONS).',
      registers,
      collect() {
        this.set(revocationList().size);
      },
    });
    let evictedSeen = 0;
    this.oauth2RevocationsEvicted = new Counter({
      name: 'gatehouse_dp_oauth2_revocations_evicted_total',
      help: 'oauth2 revocations dropped from the full list while their token was still live (such a token is accepted again until it expires).',
      registers,
      collect() {
        const evicted = revocationList().evicted;
        if (evicted > evictedSeen) this.inc(evicted - evictedSeen);
        evictedSeen = Math.max(evictedSeen, evicted);
      },
    });
    this.configVersion.set(0);
    this.cpConnected.set(0);
    if (opts.defaultMetrics ?? true)
      collectDefaultMetrics({
        register: this.registry,
        prefix: 'gatehouse_dp_primary_',
        // The event-loop-lag histogram samples on a timer (prom-client's default: every 10 ms).
        // The primary serves no traffic but shares its core with a worker (one-core deployments,
        // the bench pins both to one): 100 wake-ups a second preempt the worker for nothing.
        eventLoopMonitoringPrecision: PRIMARY_LAG_SAMPLE_MS,
      });
  }

  setConfigHash(hash: string): void {
    this.configHash.reset();
    this.configHash.set({ hash }, 1);
  }

  /** The sync state last set (`setSyncState`). */
  syncState = 'disabled';

  setSyncState(state: string): void {
    this.syncState = state;
    for (const s of ['disabled', 'connecting', 'connected', 'disconnected'])
      this.cpState.set({ state: s }, s === state ? 1 : 0);
    this.cpConnected.set(state === 'connected' ? 1 : 0);
  }
}
