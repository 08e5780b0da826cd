/**
 * The config client: the primary's stream to the control plane (ClusterService.Connect).
 *
 * Forever: connect, say Hello (with the hash/version served), apply each Snapshot through the
 * SnapshotApplier and answer Ack/Nack, send a Heartbeat every 5 s. A dead or black-holed CP is
 * noticed by gRPC keepalive (ping every 10 s, 5 s timeout) and by a watchdog: no message from
 * the CP for 15 s cancels the stream. Every lost stream is retried after an exponential, jittered
 * delay (backoff.ts, RECONNECT_BACKOFF: 2–2.5 s first, up to 4.5 s); the schedule starts over only
 * when the stream lost had been up, with the CP speaking on it, for 10 s.
 * Failover: with several control planes (replicas of one fleet, control-planes.ts) each retry
 * dials the next address in the list, round-robin, re-resolving DNS names at each round; a DP
 * stays on the replica it reached (it does not move back to the first when that one returns).
 * A Refusal from the CP is logged and reported in the status: a version refusal
 * (`kong_version_incompatible`, the CP then ends the stream) is retried after the refusal
 * delay; a plugin refusal (`plugin_set_incompatible`, `plugin_version_incompatible`) keeps the
 * stream open, as Kong does, and the next compatible snapshot clears it. The served config is
 * never touched by any of this.
 * Delta sync: Hello says `accepts_deltas` (unless `deltas: false`); a SnapshotDelta goes to the
 * applier's `handleDelta` and is answered with Ack/Nack naming its target, as a snapshot is.
 */
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import {
  AckSchema,
  ClusterServiceClient,
  dpMessage,
  HeartbeatSchema,
  HelloSchema,
  NackSchema,
  PluginInfoSchema,
  type ControlPlaneMessage,
  type DataPlaneMessage,
  type Snapshot,
  type SnapshotDelta,
  type OAuth2GrantRedemption,
  type TrafficSummary,
} from '@gatehouse/proto';
import {
  GATEHOUSE_VERSION,
  signedDeltaFromProto,
  signedSnapshotFromProto,
  type Logger,
} from '@gatehouse/shared';
import { Backoff, type BackoffOptions } from './backoff.js';
import { initialSyncStatus, type SyncState, type SyncStatus } from './sync-status.js';

export type { SyncState, SyncStatus };
import {
  formatAddress,
  resolveControlPlanes,
  type ControlPlaneEndpoint,
  type ControlPlaneTarget,
  type Lookup,
} from './control-planes.js';
import type { SnapshotApplier, SnapshotOutcome } from './snapshot-applier.js';

export interface NodeInfo {
  nodeId: string;
  hostname?: string;
  region?: string;
  labels?: Record<string, string>;
  /** Software version said in Hello. Default GATEHOUSE_VERSION. */
  softwareVersion?: string;
  /** The plugins this DP can run (the plugin registry's pluginInfos()). */
  plugins?: { name: string; version: string }[];
}

/** How long `reportSoon` waits, so a burst of health changes makes one heartbeat. */
const REPORT_SOON_MS = 200;

/** Refusals after which the CP keeps the stream open (the config is held back, not the DP). */
const STREAM_KEEPING_REFUSALS = new Set(['plugin_set_incompatible', 'plugin_version_incompatible']);

export interface ConfigClientOptions {
  /** The CP cluster listeners (replicas of one fleet), tried in this order, round-robin. */
  controlPlanes: readonly ControlPlaneEndpoint[];
  /** DNS lookup of a name in `controlPlanes` (default: the system resolver). */
  lookup?: Lookup;
  applier: SnapshotApplier;
  node: NodeInfo;
  logger: Logger;
  /** Channel credentials; default insecure (dev). Pass grpc.credentials.createSsl(...) for mTLS. */
  credentials?: grpc.ChannelCredentials;
  /** Extra grpc channel options (merged over the defaults). */
  channelOptions?: grpc.ChannelOptions;
  backoff?: BackoffOptions;
  heartbeatIntervalMs?: number;
  /** No message from the CP for this long => the stream is presumed dead (default 15 s). */
  watchdogMs?: number;
  /** Delay before retrying after a Refusal (default 30 s). */
  refusalDelayMs?: number;
  /** The node's health, sent with every heartbeat (absent: heartbeats carry none). */
  health?: () => HeartbeatHealth;
  /** Say in Hello that this DP applies deltas (delta sync). Default true. */
  deltas?: boolean;
}

/** What a heartbeat says about the node (the proto's DataPlaneHealth). */
export interface HeartbeatHealth {
  status: string;
  workers: number;
  workersConfigured: number;
  rssBytes: bigint;
  heapUsedBytes: bigint;
  eventLoopLagMs: number;
  /** The node's unhealthy targets (balancer/target-report.ts); absent: target health not reported. */
  unhealthyTargets?: { upstreamId: string; target: string; cause: string }[];
  unhealthyTargetsDropped?: number;
  targetsReported?: boolean;
}

export const DEFAULT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  // Snapshots of large configs exceed grpc's 4 MiB default.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 4 * 1024 * 1024,
  // Our own backoff drives reconnects; keep grpc's channel-level retry short.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

type Call = grpc.ClientDuplexStream<DataPlaneMessage, ControlPlaneMessage>;

/** What the client tells its owner (metrics, tests). */
/** A proxy-cache purge the CP relayed (null = every plugin / every key). */
export interface ProxyCachePurgeOrder {
  pluginId: string | null;
  key: string | null;
}

/** The Admin API's healthy / unhealthy for a target, relayed by the CP. */
export interface TargetHealthOrder {
  upstreamId: string;
  /** host:port */
  target: string;
  healthy: boolean;
}

export interface ConfigClientEvents {
  /** The CP relayed an Admin API proxy-cache purge: pass it to the workers. */
  purge: [order: ProxyCachePurgeOrder];
  /** The CP relayed an Admin API target health order: set it on the node. */
  targetHealth: [order: TargetHealthOrder];
  /** oauth2 access tokens the CP revoked outside the config (unchecked: RevokedTokens.add checks). */
  oauth2Revoked: [tokens: { jti: string; expiresAt: bigint }[]];
  state: [state: SyncState];
  reconnect: [];
  refusal: [refusal: NonNullable<SyncStatus['refusal']>];
  ack: [outcome: Extract<SnapshotOutcome, { ok: true }>];
  nack: [outcome: Extract<SnapshotOutcome, { ok: false }>];
}

export class ConfigClient extends EventEmitter<ConfigClientEvents> {
  private readonly backoff: Backoff;
  private readonly heartbeatIntervalMs: number;
  private readonly watchdogMs: number;
  private readonly refusalDelayMs: number;
  private client: InstanceType<typeof ClusterServiceClient> | null = null;
  private call: Call | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = true;
  private attempts = 0;
  private nextDelayOverride: number | null = null;
  /** This round's targets (resolved at its start) and the index of the one dialled next. */
  private targets: ControlPlaneTarget[] = [];
  private cursor = 0;
  /** Bumped by stop(): a resolution that finishes after it does not dial. */
  private generation = 0;
  private readonly status: SyncStatus;

  constructor(private readonly opts: ConfigClientOptions) {
    super();
    this.backoff = new Backoff(opts.backoff);
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 5_000;
    this.watchdogMs = opts.watchdogMs ?? 15_000;
    this.refusalDelayMs = opts.refusalDelayMs ?? 30_000;
    this.status = initialSyncStatus(
      'disconnected',
      opts.controlPlanes.map((e) => formatAddress(e.host, e.port)),
    );
  }

  get syncStatus(): SyncStatus {
    return { ...this.status };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.dialNext();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = null;
    this.teardown();
    this.setState('disconnected');
  }

  /** Dials the next target; at the end of a round (or the first time) resolves the list again. */
  private async dialNext(): Promise<void> {
    if (this.stopped) return;
    if (this.cursor >= this.targets.length) {
      const generation = this.generation;
      this.setState('connecting');
      const targets = await resolveControlPlanes(this.opts.controlPlanes, this.opts.lookup);
      if (this.stopped || generation !== this.generation) return;
      this.targets = targets;
      this.cursor = 0;
    }
    this.connect(this.targets[this.cursor]!);
  }

  private connect(target: ControlPlaneTarget): void {
    if (this.stopped) return;
    this.attempts += 1;
    if (this.attempts > 1) {
      this.status.reconnects += 1;
      this.emit('reconnect');
    }
    this.setState('connecting');
    const { logger } = this.opts;
    const { address } = target;
    this.status.controlPlane = address;
    const client = new ClusterServiceClient(
      address,
      this.opts.credentials ?? grpc.credentials.createInsecure(),
      {
        ...DEFAULT_CHANNEL_OPTIONS,
        ...channelOptionsFor(target),
        // An explicit server name (--cluster-server-name, shared mode) wins over the target's.
        ...this.opts.channelOptions,
      },
    );
    const call = client.connect();
    this.client = client;
    this.call = call;
    let spoke = false;
    let heard = false;

    call.on('data', (m: ControlPlaneMessage) => {
      if (this.call !== call) return;
      this.armWatchdog();
      this.status.lastMessageAt = new Date().toISOString();
      if (!heard) {
        heard = true;
        // The stream counts as up once the CP has really spoken; the backoff starts over only if
        // it then stays up for its stable period, so a flapping CP does not get a reconnect storm.
        this.backoff.connected();
      }
      if (!spoke) {
        spoke = true;
        this.onConnected();
      }
      this.onMessage(m);
    });
    call.on('metadata', () => {
      if (this.call === call && !spoke) {
        spoke = true;
        this.onConnected();
      }
    });
    call.on('error', (e: grpc.ServiceError) => {
      if (this.call === call) this.lost(`stream error: ${e.details || e.message}`);
    });
    call.on('end', () => {
      if (this.call === call) this.lost('control plane closed the stream');
    });

    const held = this.opts.applier.held;
    this.write(
      dpMessage({
        case: 'hello',
        value: create(HelloSchema, {
          nodeId: this.opts.node.nodeId,
          hostname: this.opts.node.hostname ?? osHostname(),
          region: this.opts.node.region ?? '',
          labels: this.opts.node.labels ?? {},
          softwareVersion: this.opts.node.softwareVersion ?? GATEHOUSE_VERSION,
          plugins: (this.opts.node.plugins ?? []).map((p) =>
            create(PluginInfoSchema, { name: p.name, version: p.version }),
          ),
          configHash: held?.hash ?? '',
          configVersion: held?.version ?? 0n,
          configKid: held?.kid ?? '',
          acceptsDeltas: this.opts.deltas ?? true,
        }),
      }),
    );
    // A CP holding the config this DP already serves sends nothing after Hello; it answers a
    // heartbeat at once, so one sent now tells the DP it is connected (after a failover) within a
    // round trip instead of a heartbeat interval.
    this.sendHeartbeat();
    this.armWatchdog();
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), this.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    logger.debug({ address, attempt: this.attempts }, 'connecting to the control plane');
  }

  private onConnected(): void {
    // A plugin refusal belonged to the previous stream; the CP says it again if it still holds.
    if (this.status.refusal && STREAM_KEEPING_REFUSALS.has(this.status.refusal.syncStatus))
      this.status.refusal = null;
    this.status.connectedSince = new Date().toISOString();
    this.setState('connected');
    this.opts.logger.info({ address: this.status.controlPlane }, 'connected to the control plane');
  }

  private onMessage(m: ControlPlaneMessage): void {
    const msg = m.message;
    switch (msg.case) {
      case 'snapshot':
        this.status.refusal = null;
        void this.onSnapshot(msg.value);
        return;
      case 'snapshotDelta':
        this.status.refusal = null;
        void this.onDelta(msg.value);
        return;
      case 'heartbeat':
        return;
      case 'proxyCachePurge': {
        const { pluginId, cacheKey } = msg.value;
        this.emit('purge', {
          pluginId: pluginId === '' ? null : pluginId,
          key: cacheKey === '' ? null : cacheKey,
        });
        return;
      }
      case 'oauth2Revocations':
        this.emit('oauth2Revoked', msg.value.tokens);
        return;
      case 'targetHealthOrder': {
        const { upstreamId, target, healthy } = msg.value;
        this.emit('targetHealth', { upstreamId, target, healthy });
        return;
      }
      case 'refusal': {
        const { syncStatus, reason } = msg.value;
        this.status.refusal = { syncStatus, reason, at: new Date().toISOString() };
        this.opts.logger.warn(
          { syncStatus, reason },
          'control plane refused to sync this data plane; keeping the config served',
        );
        this.emit('refusal', this.status.refusal);
        // The CP holds back a config this DP cannot run but keeps the stream: stay and wait.
        if (STREAM_KEEPING_REFUSALS.has(syncStatus)) return;
        this.nextDelayOverride = this.refusalDelayMs;
        this.lost(`refused by the control plane: ${syncStatus}${reason ? `: ${reason}` : ''}`);
        return;
      }
      default:
        return;
    }
  }

  private onSnapshot(s: Snapshot): Promise<void> {
    return this.answer(s, () => this.opts.applier.handle(signedSnapshotFromProto(s), 'control_plane'));
  }

  private onDelta(d: SnapshotDelta): Promise<void> {
    return this.answer(d, () => this.opts.applier.handleDelta(signedDeltaFromProto(d), 'control_plane'));
  }

  /** Applies a snapshot or delta and answers Ack or Nack (naming its version and hash). */
  private async answer(
    s: { version: bigint; hash: string },
    apply: () => Promise<SnapshotOutcome>,
  ): Promise<void> {
    const call = this.call;
    let outcome;
    try {
      outcome = await apply();
    } catch (e) {
      outcome = {
        ok: false as const,
        version: s.version,
        hash: s.hash,
        reason: (e as Error).message,
        code: 'GH_ERR_DP_INTERNAL',
      };
    }
    if (call !== this.call) return; // the stream went away while applying; Hello will report the state
    if (outcome.ok) {
      this.write(
        dpMessage({
          case: 'ack',
          value: create(AckSchema, {
            version: outcome.version,
            hash: outcome.hash,
            kid: this.opts.applier.held?.kid ?? '',
          }),
        }),
      );
    } else {
      this.write(
        dpMessage({
          case: 'nack',
          value: create(NackSchema, {
            version: outcome.version,
            hash: outcome.hash,
            reason: `${outcome.code}: ${outcome.reason}`,
          }),
        }),
      );
    }
    if (outcome.ok) this.emit('ack', outcome);
    else this.emit('nack', outcome);
  }

  /**
   * Sends a heartbeat soon (coalescing calls within REPORT_SOON_MS), e.g. when the node's
   * target health changed, so the CP need not wait for the next period.
   */
  reportSoon(): void {
    if (this.reportTimer !== null || this.stopped) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = null;
      if (this.status.state === 'connected') this.sendHeartbeat();
    }, REPORT_SOON_MS);
    this.reportTimer.unref();
  }

  private sendHeartbeat(): void {
    const held = this.opts.applier.held;
    this.write(
      dpMessage({
        case: 'heartbeat',
        value: create(HeartbeatSchema, {
          configHash: held?.hash ?? '',
          configVersion: held?.version ?? 0n,
          configKid: held?.kid ?? '',
          sentAtUnixMs: BigInt(Date.now()),
          ...(this.opts.health ? { health: this.opts.health() } : {}),
        }),
      }),
    );
  }

  /** Sends a traffic summary on the stream; false when there is no live stream to take it. */
  sendTrafficSummary(summary: TrafficSummary): boolean {
    if (this.status.state !== 'connected') return false;
    const call = this.call;
    if (!call || call.destroyed || call.writableEnded) return false;
    this.write(dpMessage({ case: 'trafficSummary', value: summary }));
    return true;
  }

  private write(m: DataPlaneMessage): void {
    const call = this.call;
    if (!call || call.destroyed || call.writableEnded) return;
    try {
      call.write(m);
    } catch (e) {
      this.opts.logger.debug({ err: e }, 'write to the control plane stream failed');
    }
  }

  private armWatchdog(): void {
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.watchdogTimer = setTimeout(() => {
      this.lost(`no message from the control plane for ${this.watchdogMs} ms`);
    }, this.watchdogMs);
    this.watchdogTimer.unref();
  }

  /** The stream is gone (or presumed dead): tear it down and retry after the backoff delay. */
  private lost(reason: string): void {
    if (!this.call) return;
    this.teardown();
    this.status.lastError = reason;
    this.status.lastErrorAt = new Date().toISOString();
    this.status.connectedSince = null;
    this.setState('disconnected');
    if (this.stopped) return;
    const scheduled = this.backoff.next();
    const delay = this.nextDelayOverride ?? scheduled;
    this.nextDelayOverride = null;
    // Fail over: the next attempt dials the next address of the list.
    this.cursor += 1;
    const next = this.targets[this.cursor]?.address ?? this.targets[0]?.address;
    this.opts.logger.warn(
      { reason, address: this.status.controlPlane, retryInMs: delay, next },
      'control plane stream lost; keeping the config served',
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.dialNext();
    }, delay);
  }

  /**
   * Asks the control plane this DP is connected to to redeem an oauth2 code or refresh token
   * (RedeemOAuth2Grant, on the stream's channel and credentials). 'unavailable' when not
   * connected, or the CP does not answer within `timeoutMs`.
   */
  redeemOAuth2Grant(
    request: OAuth2GrantRedemption,
    timeoutMs = 5_000,
  ): Promise<'redeemed' | 'already-used' | 'unavailable'> {
    const client = this.client;
    if (client === null || this.status.state !== 'connected') return Promise.resolve('unavailable');
    return new Promise((resolve) => {
      client.redeemOAuth2Grant(
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err !== null || res === undefined) {
            this.opts.logger.warn({ err }, 'control plane did not redeem an oauth2 grant');
            resolve('unavailable');
          } else resolve(res.alreadyUsed ? 'already-used' : 'redeemed');
        },
      );
    });
  }

  private teardown(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.heartbeatTimer = null;
    this.watchdogTimer = null;
    const call = this.call;
    const client = this.client;
    this.call = null;
    this.client = null;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => undefined); // cancel() surfaces as a CANCELLED error
      call.cancel();
    }
    client?.close();
  }

  private setState(state: SyncState): void {
    if (this.status.state === state) return;
    this.status.state = state;
    this.emit('state', state);
  }
}

/** A target resolved from a DNS name is dialled by IP but verified (and SNI-named) by the name. */
export function channelOptionsFor(target: ControlPlaneTarget): grpc.ChannelOptions {
  return target.serverName ? { 'grpc.ssl_target_name_override': target.serverName } : {};
}
