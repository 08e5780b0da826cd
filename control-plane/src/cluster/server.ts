/**
 * The cluster gRPC server (@grpc/grpc-js, its own port): one bidirectional stream per DP.
 *
 * Liveness, so a dead or black-holed DP is noticed within deadAfterMs (15 s):
 *  - application heartbeats: the CP sends one when it has sent nothing for heartbeatIntervalMs (5 s)
 *    and answers each DP heartbeat; a stream with no traffic from the DP for deadAfterMs is closed
 *    (UNAVAILABLE) and the DP marked disconnected;
 *  - HTTP/2 keepalive pings every 5 s with a 5 s timeout tear down a connection whose peer is gone.
 *
 * Rows of DPs not seen for purgeDelayMs (14 days, Kong's default) are deleted every
 * purgeIntervalMs (1 h) and once at start.
 */
import * as grpc from '@grpc/grpc-js';
import { clusterServiceDefinition, oauth2Redeemed, type OAuth2GrantRedemption } from '@gatehouse/proto';
import { GATEHOUSE_VERSION, type Logger, type NodePlacement, type PeerIdentity } from '@gatehouse/shared';
import type { PublishedSnapshot, SnapshotDeltas } from '../snapshot/index.js';
import { pluginMap, type Incompatibility, type PluginInfo } from './compat.js';
import { DEFAULT_PURGE_DELAY_MS, type DataPlaneRegistry } from './registry.js';
import type { TargetHealthOrder } from '../messaging/messages.js';
import type { UsedToken } from '../store/oauth2-used-tokens.js';
import { DataPlaneSession, type ClusterCall, type SessionContext } from './session.js';
import {
  callPeerCertificate,
  checkPeer,
  clusterServerCredentials,
  guardTlsListeners,
  type ClusterServerTls,
} from './tls.js';

/** What the server needs from the SnapshotPublisher: each DP's slice. */
export interface SnapshotFeed {
  acquireSlice(placement: NodePlacement): string;
  releaseSlice(key: string): void;
  renewSlice(key: string): void;
  latestSlice(key: string): PublishedSnapshot | null;
  on(event: 'slice', listener: (key: string, p: PublishedSnapshot) => void): unknown;
  off(event: 'slice', listener: (key: string, p: PublishedSnapshot) => void): unknown;
}

export interface ClusterServerOptions {
  host: string;
  port: number;
  publisher: SnapshotFeed;
  registry: DataPlaneRegistry;
  logger: Logger;
  /**
   * Mutual TLS policy (see tls.ts). Required: plaintext (`{ mode: 'off' }`) must be asked for.
   */
  tls: ClusterServerTls;
  /** CP heartbeat period. Default 5000 ms. */
  heartbeatIntervalMs?: number;
  /** Close a stream with no traffic from the DP for this long. Default 15000 ms. */
  deadAfterMs?: number;
  /** HTTP/2 keepalive ping period and timeout. Defaults 5000 / 5000 ms. */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** The CP's software version, for the DP compatibility check. Default GATEHOUSE_VERSION. */
  softwareVersion?: string;
  /**
   * The CP's plugins (`loadPluginSchemas().pluginInfos()`), for Kong's plugin version rule.
   * Without them only the plugin set is checked (a DP must have every plugin a config uses).
   */
  plugins?: PluginInfo[];
  /** Delete rows of DPs not seen for this long. Default 14 days; 0 disables the purge. */
  purgeDelayMs?: number;
  /** How often the purge runs. Default 1 h. */
  purgeIntervalMs?: number;
  /** Traffic summaries DPs send on their streams (the analytics intake); absent: ignored. */
  onTrafficSummary?: SessionContext['onTrafficSummary'];
  /** Which snapshot a DP gets of its slice's newest (staged rollouts); absent: the newest. */
  select?: SessionContext['select'];
  /** Delta sync (snapshot/deltas.ts): DPs that take deltas get them; absent: full snapshots only. */
  deltas?: Pick<SnapshotDeltas, 'remember' | 'deltaFor' | 'record'>;
  /** The chaos suite's test-only snapshot hook (test-hook.ts); never set in production. */
  tap?: SessionContext['tap'];
  /**
   * Redeems a DP's oauth2 code or refresh token (true: it was already used); absent: the RPC
   * answers UNIMPLEMENTED and DPs refuse those grants (oauth2/grant-redemption.ts).
   */
  redeemOAuth2Grant?: (request: OAuth2GrantRedemption) => Promise<boolean>;
  /**
   * The oauth2 access tokens revoked outside the configuration and not yet expired: sent to each
   * DP after its Hello, so one that (re)connects catches up; absent: none are sent.
   */
  liveOAuth2Revocations?: () => Promise<UsedToken[]>;
}

export interface ConnectedDataPlane {
  nodeId: string;
  ip: string;
  connectedAt: Date;
  lastReceivedAt: Date;
  configHash: string;
  hostname: string;
  region: string;
  labels: Record<string, string>;
  /** The DP's placement key (`sliceKeyOf(region, labels)`). */
  sliceKey: string;
  softwareVersion: string;
  plugins: PluginInfo[];
  /** Why the newest config is not sent to this DP, or null. */
  refusal: Incompatibility | null;
  snapshotsSent: number;
  snapshotsDropped: number;
  /** Of snapshotsSent, those sent as deltas. */
  deltasSent: number;
  /** The DP said in Hello that it applies deltas. */
  acceptsDeltas: boolean;
  /** The DP's client certificate (null on a plaintext channel). */
  certificate: PeerIdentity | null;
}

export interface ClusterServer {
  /** host:port actually bound (port resolved when 0 was asked). */
  readonly address: string;
  readonly port: number;
  /** DPs with a live stream on this CP. */
  connections(): ConnectedDataPlane[];
  /**
   * Relays a proxy-cache purge (null: every plugin / every key) to every DP with a live stream
   * on this CP; returns how many it was written to.
   */
  broadcastPurge(order: { pluginId: string | null; key: string | null }): number;
  /** Relays a target health order (the Admin API's healthy / unhealthy) to every DP with a live stream on this CP. */
  broadcastTargetHealth(order: TargetHealthOrder): number;
  /** Sends oauth2 access tokens just revoked to every DP with a live stream on this CP. */
  broadcastOAuth2Revocations(tokens: readonly UsedToken[]): number;
  /** Offers every DP its slice's newest snapshot again (what `select` gives changed). */
  reoffer(): void;
  /** Ends every stream (UNAVAILABLE, so DPs reconnect elsewhere), records them disconnected, shuts down. */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
export const DEFAULT_DEAD_AFTER_MS = 15_000;
export const DEFAULT_KEEPALIVE_TIME_MS = 5_000;
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 5_000;

export async function startClusterServer(o: ClusterServerOptions): Promise<ClusterServer> {
  const heartbeatIntervalMs = o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const deadAfterMs = o.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS;
  const logger = o.logger.child({ component: 'cluster' });
  const sessions = new Set<DataPlaneSession>();
  const byNode = new Map<string, DataPlaneSession>();
  let stopping = false;

  const server = new grpc.Server({
    'grpc.keepalive_time_ms': o.keepaliveTimeMs ?? DEFAULT_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
    'grpc.keepalive_permit_without_calls': 1,
    // Snapshots can be large; the DP must raise its receive limit to match.
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': 1024 * 1024,
  });

  const ctx = {
    registry: o.registry,
    logger,
    cpVersion: o.softwareVersion ?? GATEHOUSE_VERSION,
    cpPlugins: pluginMap(o.plugins ?? []),
    acquireSlice: (p: NodePlacement) => o.publisher.acquireSlice(p),
    releaseSlice: (key: string) => o.publisher.releaseSlice(key),
    renewSlice: (key: string) => o.publisher.renewSlice(key),
    latestSlice: (key: string) => o.publisher.latestSlice(key),
    onTrafficSummary: o.onTrafficSummary,
    select: o.select,
    deltas: o.deltas,
    tap: o.tap,
    onReady(session: DataPlaneSession) {
      const id = session.nodeId!;
      const previous = byNode.get(id);
      byNode.set(id, session);
      if (previous && previous !== session) {
        previous.close({
          code: grpc.status.ALREADY_EXISTS,
          details: `replaced by a newer stream from node ${id}`,
        });
      }
      // Registered first: a revocation made after the read below is broadcast to this session
      // too, one made before is in what the read returns (the DP merges both).
      o.liveOAuth2Revocations?.().then(
        (tokens) => {
          if (tokens.length > 0) session.oauth2Revocations(tokens);
        },
        (err: unknown) =>
          logger.warn({ err, nodeId: id }, 'cannot read the oauth2 revocations for a data plane'),
      );
    },
    onClosed(session: DataPlaneSession) {
      sessions.delete(session);
      const id = session.nodeId;
      if (id !== null && byNode.get(id) === session) {
        byNode.delete(id);
        void o.registry.disconnected(id);
      }
    },
  };

  server.addService(clusterServiceDefinition, {
    connect: (call: ClusterCall) => {
      if (stopping) {
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'control plane is shutting down' });
        return;
      }
      // The handshake checks already ran; this one holds even if they could not be installed.
      const check = checkPeer(o.tls, callPeerCertificate(call));
      if (!check.ok) {
        logger.warn({ peer: call.getPeer(), reason: check.reason }, 'refused a cluster stream');
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: check.reason });
        return;
      }
      sessions.add(new DataPlaneSession(call, ctx, check.identity));
    },
    redeemOAuth2Grant: (
      call: grpc.ServerUnaryCall<OAuth2GrantRedemption, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      const check = checkPeer(o.tls, callPeerCertificate(call));
      if (!check.ok) {
        callback({ code: grpc.status.UNAUTHENTICATED, details: check.reason });
        return;
      }
      const redeem = o.redeemOAuth2Grant;
      if (stopping || redeem === undefined) {
        callback({ code: grpc.status.UNAVAILABLE, details: 'oauth2 grant redemption is not available' });
        return;
      }
      redeem(call.request).then(
        (alreadyUsed) => callback(null, oauth2Redeemed(alreadyUsed)),
        (err: unknown) => {
          logger.error({ err }, 'oauth2 grant redemption failed');
          callback({ code: grpc.status.UNAVAILABLE, details: 'oauth2 grant redemption failed' });
        },
      );
    },
  });

  const onSlice = (key: string, p: PublishedSnapshot) => {
    o.deltas?.remember(p);
    for (const s of byNode.values()) if (s.sliceKey === key) s.offer(p);
  };
  o.publisher.on('slice', onSlice);

  // One sweep for all streams: hello timeouts, dead peers, CP heartbeats.
  const sweepMs = Math.max(
    10,
    Math.min(1000, Math.floor(heartbeatIntervalMs / 2), Math.floor(deadAfterMs / 5)),
  );
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sessions) {
      if (now - s.lastReceivedAt >= deadAfterMs) {
        s.close({
          code: grpc.status.UNAVAILABLE,
          details:
            s.nodeId === null
              ? `no Hello within ${deadAfterMs} ms`
              : `no message from the data plane for ${deadAfterMs} ms; closing`,
        });
      } else if (s.nodeId !== null && now - s.lastSentAt >= heartbeatIntervalMs) {
        s.heartbeat();
      }
    }
  }, sweepMs);
  sweep.unref();

  const purgeDelayMs = o.purgeDelayMs ?? DEFAULT_PURGE_DELAY_MS;
  let purging: Promise<unknown> = Promise.resolve();
  const purge = () => {
    purging = o.registry
      .purgeStale(purgeDelayMs)
      .catch((err: unknown) => logger.error({ err }, 'purging stale data planes failed'));
  };
  const purgeTimer = purgeDelayMs > 0 ? setInterval(purge, o.purgeIntervalMs ?? 3_600_000) : null;
  purgeTimer?.unref();
  if (purgeDelayMs > 0) purge();

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`,
        clusterServerCredentials(o.tls),
        (err, bound) => (err ? reject(err) : resolve(bound)),
      );
    });
    guardTlsListeners(server, o.tls, logger);
  } catch (e) {
    server.forceShutdown();
    clearInterval(sweep);
    if (purgeTimer) clearInterval(purgeTimer);
    o.publisher.off('slice', onSlice);
    throw e;
  }
  const address = `${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  logger.info({ address, heartbeatIntervalMs, deadAfterMs, mtls: o.tls.mode }, 'cluster server listening');
  if (o.tls.mode === 'off')
    logger.warn(
      { address },
      'cluster channel is plaintext (--cluster-mtls off): any client gets the configuration',
    );

  return {
    address,
    port,
    connections: () =>
      [...byNode.values()].map((s) => ({
        nodeId: s.nodeId!,
        ip: s.ip,
        connectedAt: new Date(s.connectedAt),
        lastReceivedAt: new Date(s.lastReceivedAt),
        configHash: s.dpHash,
        hostname: s.hostname,
        region: s.region,
        labels: s.labels,
        sliceKey: s.sliceKey!,
        softwareVersion: s.softwareVersion,
        plugins: s.plugins,
        refusal: s.refusal,
        snapshotsSent: s.snapshotsSent,
        snapshotsDropped: s.snapshotsDropped,
        deltasSent: s.deltasSent,
        acceptsDeltas: s.acceptsDeltas,
        certificate: s.certificate,
      })),
    reoffer() {
      for (const s of byNode.values()) {
        const p = s.sliceKey === null ? null : o.publisher.latestSlice(s.sliceKey);
        if (p) s.offer(p);
      }
    },
    broadcastTargetHealth(order) {
      let n = 0;
      for (const s of byNode.values()) if (s.targetHealth(order.upstreamId, order.target, order.healthy)) n++;
      logger.info({ ...order, data_planes: n }, 'target health order relayed');
      return n;
    },
    broadcastOAuth2Revocations(tokens) {
      let n = 0;
      for (const s of byNode.values()) if (s.oauth2Revocations(tokens)) n++;
      logger.debug({ tokens: tokens.length, data_planes: n }, 'oauth2 revocations relayed');
      return n;
    },
    broadcastPurge(order) {
      let n = 0;
      for (const s of byNode.values()) if (s.purge(order.pluginId ?? '', order.key ?? '')) n++;
      logger.info({ plugin_id: order.pluginId, key: order.key, data_planes: n }, 'proxy-cache purge relayed');
      return n;
    },
    async stop({ graceMs = 2000 } = {}) {
      if (stopping) return;
      stopping = true;
      clearInterval(sweep);
      if (purgeTimer) clearInterval(purgeTimer);
      o.publisher.off('slice', onSlice);
      for (const s of [...sessions]) {
        s.close({ code: grpc.status.UNAVAILABLE, details: 'control plane is shutting down' });
      }
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await purging;
      await o.registry.flush();
      logger.info({ address }, 'cluster server stopped');
    },
  };
}
