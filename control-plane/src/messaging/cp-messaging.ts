/**
 * CpMessaging: how control-plane replicas tell each other about config writes, proxy-cache
 * purges, target health orders and oauth2 access tokens revoked by a refresh. Over NATS when NATS_URL is set; without it the same interface is a no-op (one CP, no
 * one to tell).
 *
 * NATS is never on the path of an Admin API write or a DP stream: publishing is fire-and-forget
 * (refused and counted while the link is down), the first connection is made in the background, and
 * a NATS outage only means other replicas learn of changes later. Every (re)connection emits
 * 'connected', on which the CP rebuilds its snapshot, so whatever was missed while NATS was down
 * is caught up (Postgres holds the truth; NATS only says "look again").
 *
 * The connection is the process's NatsLink (@gatehouse/shared): the same one carries the DPs'
 * traffic summaries (analytics) and whatever else the CP puts on NATS; `nats` hands it out.
 * A message that does not decode (messages.ts) is dropped and counted, and logged at most once
 * a minute; a message from this replica's own id is ignored.
 */
import { EventEmitter } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  connectNats,
  type Logger,
  type NatsLink,
  type NatsLinkStatus,
  type NatsSubscriptionHandle,
  type NatsTlsFiles,
} from '@gatehouse/shared';
import {
  decodeConfigChanged,
  decodeOAuth2Revoked,
  decodeProxyCachePurge,
  decodeTargetHealth,
  encodeConfigChanged,
  encodeOAuth2Revoked,
  encodeProxyCachePurge,
  encodeTargetHealth,
  SUBJECTS,
  type ConfigChanged,
  type OAuth2Revoked,
  type ProxyCachePurge,
  type PurgeOrder,
  type TargetHealth,
  type TargetHealthOrder,
} from './messages.js';
import type { UsedToken } from '../store/oauth2-used-tokens.js';

export type MessagingState = 'off' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/**
 * What `/clustering/status` says under `messaging`: the process's one NATS connection (servers
 * as host:port, never credentials; every subject subscribed on it; its counters).
 */
export type MessagingStatus = Omit<NatsLinkStatus, 'state'> & { state: MessagingState };

export interface MessagingEvents {
  configChanged: [ConfigChanged];
  purge: [ProxyCachePurge];
  targetHealth: [TargetHealth];
  oauth2Revoked: [OAuth2Revoked];
  /** The link is up (first connection or a reconnect). */
  connected: [];
}

export interface CpMessaging extends EventEmitter<MessagingEvents> {
  readonly state: MessagingState;
  /**
   * The process's NATS connection (null without NATS_URL): other CP modules subscribe, publish
   * or use JetStream on it (`nats.subscribe`, `nats.publish`, `await nats.ready()`) instead of
   * opening their own. Closed by close() when this adapter made it.
   */
  readonly nats: NatsLink | null;
  status(): MessagingStatus;
  publishConfigChanged(version: bigint): void;
  publishPurge(order: PurgeOrder): void;
  publishTargetHealth(order: TargetHealthOrder): void;
  /** oauth2 access tokens revoked here (a refresh token redeemed at this replica). */
  publishOAuth2Revoked(tokens: readonly UsedToken[]): void;
  /** The NATS connection while connected (for JetStream users such as the snapshot store), else null. */
  connection(): NatsConnection | null;
  close(): Promise<void>;
}

export type NatsTlsOptions = NatsTlsFiles;

export interface CpMessagingOptions {
  /** The process's NATS link to use (wins over natsUrl; left open by close()). */
  nats?: NatsLink;
  /** NATS_URL; unset or empty (and no `nats`): the no-op adapter. */
  natsUrl?: string | undefined;
  tls?: NatsTlsOptions | undefined;
  cpId: string;
  logger: Logger;
  /** Delay between attempts while the first connection fails (and between reconnects). Default 1 s. */
  retryMs?: number;
}

/** One CP, no NATS: nothing to tell anyone. */
class NoopCpMessaging extends EventEmitter<MessagingEvents> implements CpMessaging {
  private readonly since = Date.now();
  readonly state: MessagingState = 'off';
  readonly nats = null;
  status(): MessagingStatus {
    return {
      state: 'off',
      servers: [],
      subjects: [],
      published: 0,
      received: 0,
      dropped: 0,
      publish_failures: 0,
      reconnects: 0,
      since: this.since,
    };
  }
  publishConfigChanged(): void {}
  publishPurge(): void {}
  publishTargetHealth(): void {}
  publishOAuth2Revoked(): void {}
  connection(): null {
    return null;
  }
  async close(): Promise<void> {}
}

class NatsCpMessaging extends EventEmitter<MessagingEvents> implements CpMessaging {
  private closed = false;
  private readonly subscriptions: NatsSubscriptionHandle[];
  private readonly onConnected = () => this.emit('connected');

  constructor(
    readonly nats: NatsLink,
    /** The link was made for this adapter (closed with it). */
    private readonly owned: boolean,
    private readonly cpId: string,
    private readonly logger: Logger,
  ) {
    super();
    this.subscriptions = [
      nats.subscribe(SUBJECTS.configChanged, {
        decode: decodeConfigChanged,
        handle: (m) => this.deliver(() => this.emit('configChanged', m), m.cpId),
      }),
      nats.subscribe(SUBJECTS.proxyCachePurge, {
        decode: decodeProxyCachePurge,
        handle: (m) => this.deliver(() => this.emit('purge', m), m.cpId),
      }),
      nats.subscribe(SUBJECTS.targetHealth, {
        decode: decodeTargetHealth,
        handle: (m) => this.deliver(() => this.emit('targetHealth', m), m.cpId),
      }),
      nats.subscribe(SUBJECTS.oauth2Revoked, {
        decode: decodeOAuth2Revoked,
        handle: (m) => this.deliver(() => this.emit('oauth2Revoked', m), m.cpId),
      }),
    ];
    nats.on('connected', this.onConnected);
  }

  get state(): MessagingState {
    return this.closed ? 'closed' : this.nats.state;
  }

  status(): MessagingStatus {
    return { ...this.nats.status(), state: this.state };
  }

  publishConfigChanged(version: bigint): void {
    this.publish(SUBJECTS.configChanged, encodeConfigChanged({ cpId: this.cpId, version }));
  }

  publishPurge(order: PurgeOrder): void {
    this.publish(SUBJECTS.proxyCachePurge, encodeProxyCachePurge({ cpId: this.cpId, ...order }));
  }

  publishTargetHealth(order: TargetHealthOrder): void {
    this.publish(SUBJECTS.targetHealth, encodeTargetHealth({ cpId: this.cpId, ...order }));
  }

  publishOAuth2Revoked(tokens: readonly UsedToken[]): void {
    for (const data of encodeOAuth2Revoked({ cpId: this.cpId, tokens: [...tokens] }))
      this.publish(SUBJECTS.oauth2Revoked, data);
  }

  connection(): NatsConnection | null {
    return this.nats.state === 'connected' ? this.nats.connection : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.nats.off('connected', this.onConnected);
    for (const s of this.subscriptions) s.unsubscribe();
    if (this.owned) await this.nats.close();
  }

  /** A message from another replica (this replica's own are ignored). */
  private deliver(emit: () => void, from: string): void {
    if (this.closed || from === this.cpId) return;
    emit();
  }

  private publish(subject: string, data: Uint8Array): void {
    // Not connected: the link counts the failure; the rebuild on connect (and Postgres) catch
    // the other replicas up.
    if (!this.closed) this.nats.publish(subject, data);
    else this.logger.debug({ subject }, 'messaging: publish after close ignored');
  }
}

/**
 * The NATS adapter over `o.nats` when given (the process's link, left open on close), else over
 * a link of its own when `natsUrl` is set; the no-op one otherwise. Throws
 * GH_ERR_CONFIG_INVALID_SETTING on a malformed URL or an unreadable TLS file.
 */
export function createCpMessaging(o: CpMessagingOptions): CpMessaging {
  if (o.nats) return new NatsCpMessaging(o.nats, false, o.cpId, o.logger);
  const url = o.natsUrl?.trim();
  if (!url) return new NoopCpMessaging();
  const link = connectNats({
    settings: { url, tls: o.tls ?? {} },
    name: `gatehouse-cp-${o.cpId}`,
    logger: o.logger,
    ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
  });
  return new NatsCpMessaging(link, true, o.cpId, o.logger);
}
