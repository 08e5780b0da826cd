/**
 * Wires one CP replica to the others through CpMessaging:
 *  - a committed write here is published on gatehouse.config.changed;
 *  - a change published by another replica (or NATS coming back) makes this replica's publisher
 *    rebuild: every replica reads the same committed config and version from Postgres, so every
 *    one builds the same bytes, hash and version and pushes it to its own DPs;
 *  - a proxy-cache purge made here goes to this replica's DPs and on gatehouse.proxy-cache.purge;
 *    one published by another replica goes to this replica's DPs;
 *  - a target health order (the Admin API's healthy / unhealthy) likewise, on gatehouse.targets.health.
 */
import type { PurgeRelay } from '../admin/proxy-cache-endpoints.js';
import type { TargetHealthRelay } from '../admin/upstream-health-endpoints.js';
import type { CpMessaging } from './cp-messaging.js';
import type { TargetHealthOrder } from './messages.js';

export interface ReplicaWiring {
  /** Give this to the proxy-cache endpoints: local DPs, then the other replicas. */
  purgeRelay: PurgeRelay;
  /** Give this to the upstream health endpoints: local DPs, then the other replicas. */
  targetHealthRelay: TargetHealthRelay;
  /** Undoes the wiring (listeners removed; the messaging adapter is closed by its owner). */
  stop(): void;
}

export function connectReplicas(o: {
  messaging: CpMessaging;
  store: { onChange(listener: (version: bigint) => void): () => void };
  publisher: { notifyChange(version?: bigint): void };
  /** This replica's DP streams. */
  local: PurgeRelay & TargetHealthRelay;
}): ReplicaWiring {
  const { messaging, publisher, local } = o;
  const unsubscribe = o.store.onChange((version) => messaging.publishConfigChanged(version));
  const onChanged = (m: { version: bigint }) => publisher.notifyChange(m.version);
  const onConnected = () => publisher.notifyChange();
  const onPurge = (m: { pluginId: string | null; key: string | null }) =>
    local.broadcastPurge({ pluginId: m.pluginId, key: m.key });
  messaging.on('configChanged', onChanged);
  messaging.on('connected', onConnected);
  const onTargetHealth = (m: TargetHealthOrder) =>
    local.broadcastTargetHealth({ upstreamId: m.upstreamId, target: m.target, healthy: m.healthy });
  messaging.on('purge', onPurge);
  messaging.on('targetHealth', onTargetHealth);
  return {
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
      unsubscribe();
      messaging.off('configChanged', onChanged);
      messaging.off('connected', onConnected);
      messaging.off('purge', onPurge);
      messaging.off('targetHealth', onTargetHealth);
    },
  };
}
