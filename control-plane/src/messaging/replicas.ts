/**
 * Wires one CP replica to the others through CpMessaging:
 *  - a committed write here is published on gatehouse.config.changed;
 *  - a change published by another replica (or NATS coming back) makes this replica's publisher
 *    rebuild: every replica reads the same committed config and version from Postgres, so every
 *    one builds the same bytes, hash and version and pushes it to its own DPs;
 *  - a proxy-cache purge made here goes to this replica's DPs and on gatehouse.proxy-cache.purge;
 *    one published by another replica goes to this replica's DPs;
 *  - a target health order (the Admin API's healthy / unhealthy) likewise, on gatehouse.targets.health;
 *  - oauth2 access tokens revoked here (a refresh token redeemed) likewise, on gatehouse.oauth2.revoked
 *    (a replica that misses one: its DPs that reconnect get the whole list from Postgres);
 *  - every `versionCheckMs` (5 s, Kong's db_update_frequency) the cluster-wide config version is
 *    read from Postgres (one row) and a newer one than this replica has seen makes it rebuild: a
 *    change whose NATS message was lost (NATS down, this replica cut off) still reaches this
 *    replica's DPs within that period, NATS or not.
 */
import type { Logger } from '@gatehouse/shared';
import type { PurgeRelay } from '../admin/proxy-cache-endpoints.js';
import type { TargetHealthRelay } from '../admin/upstream-health-endpoints.js';
import type { CpMessaging } from './cp-messaging.js';
import type { OAuth2Revoked, TargetHealthOrder } from './messages.js';
import type { UsedToken } from '../store/oauth2-used-tokens.js';

/** Sends oauth2 access tokens just revoked to DPs; returns how many (of this replica's) it reached. */
export interface OAuth2RevocationRelay {
  broadcastOAuth2Revocations(tokens: readonly UsedToken[]): number;
}

export interface ReplicaWiring {
  /** Give this to the proxy-cache endpoints: local DPs, then the other replicas. */
  purgeRelay: PurgeRelay;
  /** Give this to the upstream health endpoints: local DPs, then the other replicas. */
  targetHealthRelay: TargetHealthRelay;
  /** Give this to the grant redeemer: local DPs, then the other replicas. */
  oauth2RevocationRelay: OAuth2RevocationRelay;
  /** Undoes the wiring (listeners removed; the messaging adapter is closed by its owner). */
  stop(): void;
}

/** Kong's db_update_frequency: how often a replica checks the config version in Postgres. */
export const DEFAULT_VERSION_CHECK_MS = 5_000;

export function connectReplicas(o: {
  messaging: CpMessaging;
  store: {
    onChange(listener: (version: bigint) => void): () => void;
    /** The cluster-wide config version (one row). */
    currentVersion(): Promise<bigint>;
  };
  publisher: { notifyChange(version?: bigint): void };
  /** This replica's DP streams. */
  local: PurgeRelay & TargetHealthRelay & OAuth2RevocationRelay;
  /** How often the config version is read from Postgres. Default 5 s; 0: never. */
  versionCheckMs?: number;
  /** Where a failed version check is logged. */
  logger?: Logger;
}): ReplicaWiring {
  const { messaging, publisher, local } = o;
  /** The newest version this replica heard of (its writes, NATS, the version check). */
  let seen = 0n;
  const heard = (version: bigint) => {
    if (version <= seen) return false;
    seen = version;
    return true;
  };
  const unsubscribe = o.store.onChange((version) => {
    heard(version);
    messaging.publishConfigChanged(version);
  });
  const onChanged = (m: { version: bigint }) => {
    heard(m.version);
    publisher.notifyChange(m.version);
  };
  const versionCheckMs = o.versionCheckMs ?? DEFAULT_VERSION_CHECK_MS;
  let checking = false;
  const checkVersion = () => {
    if (checking) return;
    checking = true;
    o.store
      .currentVersion()
      .then((version) => {
        if (heard(version)) publisher.notifyChange(version);
      })
      .catch((err: unknown) => o.logger?.warn({ err }, 'config version check failed'))
      .finally(() => (checking = false));
  };
  const versionTimer = versionCheckMs > 0 ? setInterval(checkVersion, versionCheckMs) : null;
  versionTimer?.unref();
  const onConnected = () => publisher.notifyChange();
  const onPurge = (m: { pluginId: string | null; key: string | null }) =>
    local.broadcastPurge({ pluginId: m.pluginId, key: m.key });
  messaging.on('configChanged', onChanged);
  messaging.on('connected', onConnected);
  const onTargetHealth = (m: TargetHealthOrder) =>
    local.broadcastTargetHealth({ upstreamId: m.upstreamId, target: m.target, healthy: m.healthy });
  messaging.on('purge', onPurge);
  messaging.on('targetHealth', onTargetHealth);
  const onOAuth2Revoked = (m: OAuth2Revoked) => local.broadcastOAuth2Revocations(m.tokens);
  messaging.on('oauth2Revoked', onOAuth2Revoked);
  return {
    oauth2RevocationRelay: {
      broadcastOAuth2Revocations(tokens) {
        const n = local.broadcastOAuth2Revocations(tokens);
        messaging.publishOAuth2Revoked(tokens);
        return n;
      },
    },
    targetHealthRelay: {
      broadcastTargetHealth(order) {
        const n = local.broadcastTargetHealth(order);
        messaging.publishTargetHealth(order);
        return n;
      },
    },
    purgeRelay: {
      broadcastPurge(order) {
        const n = local.broadcastPurge(order);
        messaging.publishPurge(order);
        return n;
      },
    },
    stop() {
      if (versionTimer) clearInterval(versionTimer);
      unsubscribe();
      messaging.off('configChanged', onChanged);
      messaging.off('connected', onConnected);
      messaging.off('purge', onPurge);
      messaging.off('targetHealth', onTargetHealth);
      messaging.off('oauth2Revoked', onOAuth2Revoked);
    },
  };
}
