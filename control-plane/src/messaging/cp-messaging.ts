/**
 * CpMessaging: how control-plane replicas tell each other about config writes and proxy-cache
 * purges. Over NATS when NATS_URL is set; without it the same interface is a no-op (one CP, no
 * one to tell).
 *
 * NATS is never on the path of an Admin API write or a DP stream: publishing is fire-and-forget
 * (the client buffers while reconnecting), the first connection is made in the background, and
 * a NATS outage only means other replicas learn of changes later. Every (re)connection emits
 * 'connected', on which the CP rebuilds its snapshot, so whatever was missed while NATS was down
 * is caught up (Postgres holds the truth; NATS only says "look again").
 *
 * A message that does not decode (messages.ts) is dropped and counted, and logged at most once
 * a minute; a message from this replica's own id is ignored.
 */
import { EventEmitter } from 'node:events';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@gatehouse/shared';
import {
  decodeConfigChanged,
  decodeProxyCachePurge,
  encodeConfigChanged,
  encodeProxyCachePurge,
  SUBJECTS,
  type ConfigChanged,
  type ProxyCachePurge,
  type PurgeOrder,
} from './messages.js';
import { parseNatsUrl } from './nats-url.js';

export type MessagingState = 'off' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/** What `/clustering/status` says under `messaging`. */
export interface MessagingStatus {
  state: MessagingState;
  /** host:port of each server (never credentials). */
  servers: string[];
  subjects: string[];
  published: number;
  received: number;
  /** Messages that did not decode. */
  dropped: number;
  publish_failures: number;
  /** Unix ms of the last state change. */
  since: number;
}

export interface MessagingEvents {
  configChanged: [ConfigChanged];
  purge: [ProxyCachePurge];
  /** The link is up (first connection or a reconnect). */
  connected: [];
}

export interface CpMessaging extends EventEmitter<MessagingEvents> {
  readonly state: MessagingState;
  status(): MessagingStatus;
  publishConfigChanged(version: bigint): void;
  publishPurge(order: PurgeOrder): void;
  /** The NATS connection while connected (for JetStream users such as the snapshot store), else null. */
  connection(): NatsConnection | null;
  close(): Promise<void>;
}

export interface NatsTlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface CpMessagingOptions {
  /** NATS_URL; unset or empty: the no-op adapter. */
  natsUrl?: string;
  tls?: NatsTlsOptions;
  cpId: string;
  logger: Logger;
  /** Delay between attempts while the first connection fails (and between reconnects). Default 1 s. */
  retryMs?: number;
}

const DROP_LOG_EVERY_MS = 60_000;

/** One CP, no NATS: nothing to tell anyone. */
class NoopCpMessaging extends EventEmitter<MessagingEvents> implements CpMessaging {
  private readonly since = Date.now();
  readonly state: MessagingState = 'off';
  status(): MessagingStatus {
    return {
      state: 'off',
      servers: [],
      subjects: [],
      published: 0,
      received: 0,
      dropped: 0,
      publish_failures: 0,
      since: this.since,
    };
  }
  publishConfigChanged(): void {}
  publishPurge(): void {}
  connection(): null {
    return null;
  }
  async close(): Promise<void> {}
}

class NatsCpMessaging extends EventEmitter<MessagingEvents> implements CpMessaging {
  private state_: MessagingState = 'connecting';
  private since = Date.now();
  private nc: NatsConnection | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private wakeRetry: (() => void) | null = null;
  private lastDropLog = 0;
  private readonly counters = { published: 0, received: 0, dropped: 0, publish_failures: 0 };
  private readonly connectOptions: ConnectionOptions;
  private readonly servers: string[];
  private readonly cpId: string;
  private readonly logger: Logger;
  private readonly retryMs: number;

  constructor(natsUrl: string, o: CpMessagingOptions) {
    super();
    const parsed = parseNatsUrl(natsUrl);
    this.servers = parsed.servers;
    this.cpId = o.cpId;
    this.logger = o.logger.child({ component: 'messaging' });
    this.retryMs = o.retryMs ?? 1000;
    const tls =
      o.tls && (o.tls.caFile || o.tls.certFile || o.tls.keyFile) ? o.tls : parsed.tls ? {} : undefined;
    this.connectOptions = {
      servers: parsed.servers,
      name: `gatehouse-cp-${o.cpId}`,
      noEcho: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.retryMs,
      pingInterval: 5000,
      maxPingOut: 2,
      timeout: 2000,
      ...(parsed.user !== undefined ? { user: parsed.user, pass: parsed.pass } : {}),
      ...(parsed.token !== undefined ? { token: parsed.token } : {}),
      ...(tls ? { tls } : {}),
    };
    void this.connectLoop();
  }

  get state(): MessagingState {
    return this.state_;
  }

  status(): MessagingStatus {
    return {
      state: this.state_,
      servers: [...this.servers],
      subjects: Object.values(SUBJECTS),
      ...this.counters,
      since: this.since,
    };
  }

  publishConfigChanged(version: bigint): void {
    this.publish(SUBJECTS.configChanged, encodeConfigChanged({ cpId: this.cpId, version }));
  }

  publishPurge(order: PurgeOrder): void {
    this.publish(SUBJECTS.proxyCachePurge, encodeProxyCachePurge({ cpId: this.cpId, ...order }));
  }

  connection(): NatsConnection | null {
    return this.state_ === 'connected' ? this.nc : null;
  }

  async close(): Promise<void> {
    if (this.state_ === 'closed') return;
    const wasConnected = this.state_ === 'connected';
    this.setState('closed');
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    const nc = this.nc;
    this.nc = null;
    if (nc) await (wasConnected ? nc.drain() : nc.close()).catch(() => undefined);
  }

  /** Decodes and dispatches one message (the subscriptions call this). */
  private receive(subject: string, data: Uint8Array): void {
    const m =
      subject === SUBJECTS.configChanged
        ? decodeConfigChanged(data)
        : subject === SUBJECTS.proxyCachePurge
          ? decodeProxyCachePurge(data)
          : null;
    if (!m) {
      this.counters.dropped++;
      const now = Date.now();
      if (now - this.lastDropLog >= DROP_LOG_EVERY_MS) {
        this.lastDropLog = now;
        this.logger.warn(
          { subject, bytes: data.length, dropped: this.counters.dropped },
          'messaging: dropped a malformed message',
        );
      }
      return;
    }
    if (m.cpId === this.cpId) return;
    this.counters.received++;
    try {
      if ('version' in m) this.emit('configChanged', m);
      else this.emit('purge', m);
    } catch (err) {
      this.logger.error({ err, subject }, 'messaging: handling a message failed');
    }
  }

  private publish(subject: string, data: Uint8Array): void {
    const nc = this.nc;
    if (!nc || this.state_ === 'closed') {
      // Not connected yet: the rebuild on connect (and Postgres) catch other replicas up.
      this.counters.publish_failures++;
      return;
    }
    try {
      nc.publish(subject, data);
      this.counters.published++;
    } catch (err) {
      this.counters.publish_failures++;
      this.logger.debug({ err: (err as Error).message, subject }, 'messaging: publish failed');
    }
  }

  private setState(s: MessagingState): void {
    if (this.state_ === s) return;
    this.state_ = s;
    this.since = Date.now();
  }

  private async connectLoop(): Promise<void> {
    let warned = false;
    while (this.state_ === 'connecting') {
      try {
        const nc = await connect(this.connectOptions);
        if (this.state_ !== 'connecting') {
          await nc.close().catch(() => undefined);
          return;
        }
        this.attach(nc);
        return;
      } catch (err) {
        if (!warned) {
          warned = true;
          this.logger.warn(
            { err: (err as Error).message, servers: this.servers },
            'messaging: NATS unreachable; this control plane serves its own data planes and keeps trying',
          );
        }
        await new Promise<void>((resolve) => {
          this.wakeRetry = resolve;
          this.retryTimer = setTimeout(resolve, this.retryMs);
          this.retryTimer.unref();
        });
        this.wakeRetry = null;
      }
    }
  }

  private attach(nc: NatsConnection): void {
    this.nc = nc;
    for (const subject of Object.values(SUBJECTS)) {
      nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err) this.receive(subject, msg.data);
        },
      });
    }
    this.setState('connected');
    this.logger.info({ servers: this.servers }, 'messaging: connected to NATS');
    void this.watchStatus(nc);
    this.emit('connected');
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (this.state_ === 'closed') return;
        if (s.type === 'disconnect' && this.state_ === 'connected') {
          this.setState('disconnected');
          this.logger.warn(
            { servers: this.servers },
            'messaging: NATS disconnected; this control plane keeps serving its data planes and reconnects',
          );
        } else if (s.type === 'reconnect') {
          this.setState('connected');
          this.logger.info({ servers: this.servers }, 'messaging: NATS is back');
          this.emit('connected');
        }
      }
    } catch {
      // status() ends with the connection.
    }
    // The client gave up or was closed (it retries forever, so only close() ends it).
    if (this.state_ !== 'closed') this.setState('disconnected');
  }
}

/** The NATS adapter when `natsUrl` is set, the no-op one otherwise. Throws on a malformed URL. */
export function createCpMessaging(o: CpMessagingOptions): CpMessaging {
  const url = o.natsUrl?.trim();
  return url ? new NatsCpMessaging(url, o) : new NoopCpMessaging();
}
