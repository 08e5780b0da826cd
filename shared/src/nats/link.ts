/**
 * NatsLink: a process's one NATS connection, shared by everything in it that talks NATS.
 *
 * - Connects in the background: the first connection is retried every `retryMs` until it
 *   succeeds (warned once), and the client reconnects forever after a drop. Nothing waits on it:
 *   `publish` says false while there is no link, and callers fall back (Postgres, local counts,
 *   a bounded buffer).
 * - Credentials come out of the URL (url.ts) into client options; logs and `status()` carry
 *   `host:port` only.
 * - `subscribe` takes a decoder: a message it refuses is dropped and counted, and logged at most
 *   once a minute per subject. Subscriptions made before the link is up are opened when it is,
 *   and again on a fresh connection.
 * - Emits 'connected' on the first connection and on every reconnect (listeners catch up on
 *   what they missed), 'disconnected' when the link drops.
 * - `connection` / `ready()` hand out the client itself for what the adapter does not wrap
 *   (requests, JetStream, KV) on the same connection.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, NatsConnection, Subscription } from '@nats-io/transport-node';
import { ConfigErrors } from '../errors.js';
import { NatsErrors } from './errors.js';
import type { Logger } from '../logger.js';
import type { NatsSettings, NatsTlsFiles } from './settings.js';
import { parseNatsUrl } from './url.js';

export type NatsLinkState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/** What status endpoints show of the link (never credentials). */
export interface NatsLinkStatus {
  state: NatsLinkState;
  /** host:port of each configured server. */
  servers: string[];
  /** Unix ms of the last state change. */
  since: number;
  /** Subjects subscribed on the link. */
  subjects: string[];
  published: number;
  /** Messages that decoded and were handled. */
  received: number;
  /** Messages that did not decode (dropped). */
  dropped: number;
  /** Publishes refused because the link was down (or the client threw). */
  publish_failures: number;
  /** Times the link came back after a drop. */
  reconnects: number;
}

export interface NatsLinkEvents {
  /** The link is up (first connection or a reconnect). */
  connected: [];
  /** The link dropped; the client is reconnecting. */
  disconnected: [];
  /** close() was called. */
  closed: [];
}

export interface NatsLinkOptions {
  settings: NatsSettings;
  /** Connection name the server shows (`/connz`), e.g. `gatehouse-cp-<id>`. */
  name: string;
  logger: Logger;
  /** Delay between attempts while the first connection fails, and between reconnects. Default 1 s. */
  retryMs?: number;
  /** Do not deliver this connection's own publishes back to it. Default true. */
  noEcho?: boolean;
}

/** How a subscriber reads a subject: decode (null or undefined: malformed), then handle. */
export interface NatsSubscriber<T> {
  decode(data: Uint8Array, subject: string): T | null | undefined;
  handle(message: T, subject: string): void;
}

export interface NatsSubscriptionHandle {
  readonly subject: string;
  unsubscribe(): void;
}

const DROP_LOG_EVERY_MS = 60_000;

interface Entry {
  readonly subject: string;
  readonly reader: NatsSubscriber<unknown>;
  sub: Subscription | null;
  lastDropLog: number;
}

/** Client TLS options from the files (read now, so a missing file stops the start). */
function tlsOptions(files: NatsTlsFiles, required: boolean): ConnectionOptions['tls'] | undefined {
  const read = (file: string | undefined, flag: string) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw ConfigErrors.invalidSetting(
        `invalid setting --${flag}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  };
  const ca = read(files.caFile, 'nats-tls-ca');
  const cert = read(files.certFile, 'nats-tls-cert');
  const key = read(files.keyFile, 'nats-tls-key');
  if (ca === undefined && cert === undefined && !required) return undefined;
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}

export class NatsLink extends EventEmitter<NatsLinkEvents> {
  private state_: NatsLinkState = 'connecting';
  private since = Date.now();
  private nc: NatsConnection | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private wakeRetry: (() => void) | null = null;
  private readonly entries = new Set<Entry>();
  private readonly counters = { published: 0, received: 0, dropped: 0, publish_failures: 0, reconnects: 0 };
  private readonly connectOptions: ConnectionOptions;
  private readonly servers: string[];
  private readonly logger: Logger;
  private readonly retryMs: number;

  /** Throws GH_ERR_CONFIG_INVALID_SETTING on a malformed URL or an unreadable TLS file. */
  constructor(o: NatsLinkOptions) {
    super();
    const parsed = parseNatsUrl(o.settings.url);
    this.servers = parsed.servers;
    this.logger = o.logger.child({ component: 'nats' });
    this.retryMs = o.retryMs ?? 1000;
    const tls = tlsOptions(o.settings.tls, parsed.tls);
    this.connectOptions = {
      servers: parsed.servers,
      name: o.name,
      noEcho: o.noEcho ?? true,
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

  get state(): NatsLinkState {
    return this.state_;
  }

  /** The client while connected or reconnecting; null before the first connection and after close. */
  get connection(): NatsConnection | null {
    return this.nc;
  }

  /** Resolves with the client once connected; rejects if the link is closed first. */
  ready(): Promise<NatsConnection> {
    if (this.nc && this.state_ === 'connected') return Promise.resolve(this.nc);
    if (this.state_ === 'closed') return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const onUp = () => {
        this.off('closed', onClosed);
        resolve(this.nc!);
      };
      const onClosed = () => {
        this.off('connected', onUp);
        reject(closedError());
      };
      this.once('connected', onUp);
      this.once('closed', onClosed);
    });
  }

  status(): NatsLinkStatus {
    return {
      state: this.state_,
      servers: [...this.servers],
      since: this.since,
      subjects: [...new Set([...this.entries].map((e) => e.subject))],
      ...this.counters,
    };
  }

  /** Fire-and-forget; false (counted) while the link is down, so the caller can keep it. */
  publish(subject: string, data: Uint8Array): boolean {
    const nc = this.nc;
    if (!nc || this.state_ !== 'connected') {
      this.counters.publish_failures++;
      return false;
    }
    try {
      nc.publish(subject, data);
      this.counters.published++;
      return true;
    } catch (err) {
      this.counters.publish_failures++;
      this.logger.debug({ err: (err as Error).message, subject }, 'nats: publish failed');
      return false;
    }
  }

  /** Subscribes now if connected, else when the link comes up. */
  subscribe<T>(subject: string, reader: NatsSubscriber<T>): NatsSubscriptionHandle {
    const entry: Entry = { subject, reader, sub: null, lastDropLog: 0 };
    this.entries.add(entry);
    if (this.nc) this.open(this.nc, entry);
    return {
      subject,
      unsubscribe: () => {
        if (!this.entries.delete(entry)) return;
        try {
          entry.sub?.unsubscribe();
        } catch {
          // The connection closed meanwhile.
        }
        entry.sub = null;
      },
    };
  }

  /** Flushes pending publishes and subscriptions to the server (no-op while down). */
  async flush(): Promise<void> {
    if (this.nc && this.state_ === 'connected') await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.state_ === 'closed') return;
    const wasConnected = this.state_ === 'connected';
    this.setState('closed');
    this.emit('closed');
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    const nc = this.nc;
    this.nc = null;
    for (const e of this.entries) e.sub = null;
    this.entries.clear();
    if (nc) await (wasConnected ? nc.drain() : nc.close()).catch(() => undefined);
  }

  private open(nc: NatsConnection, entry: Entry): void {
    entry.sub = nc.subscribe(entry.subject, {
      callback: (err, msg) => {
        if (!err) this.deliver(entry, msg.subject, msg.data);
      },
    });
  }

  private deliver(entry: Entry, subject: string, data: Uint8Array): void {
    let message: unknown;
    try {
      message = entry.reader.decode(data, subject);
    } catch {
      message = undefined;
    }
    if (message === undefined || message === null) {
      this.counters.dropped++;
      const now = Date.now();
      if (now - entry.lastDropLog >= DROP_LOG_EVERY_MS) {
        entry.lastDropLog = now;
        this.logger.warn(
          { subject, bytes: data.length, dropped: this.counters.dropped },
          'nats: dropped a message that does not decode (logged at most once a minute per subject)',
        );
      }
      return;
    }
    this.counters.received++;
    try {
      entry.reader.handle(message, subject);
    } catch (err) {
      this.logger.error({ err, subject }, 'nats: handling a message failed');
    }
  }

  /** (A method, so TypeScript does not narrow the state across awaits.) */
  private isClosed(): boolean {
    return this.state_ === 'closed';
  }

  private setState(s: NatsLinkState): void {
    if (this.state_ === s) return;
    this.state_ = s;
    this.since = Date.now();
  }

  private async connectLoop(): Promise<void> {
    let warned = false;
    while (this.state_ === 'connecting' || this.state_ === 'disconnected') {
      try {
        // Loaded on the first connection: a process that never connects (a data plane without
        // --nats-url, one restarting from its cache) does not load the client.
        const { connect } = await import('@nats-io/transport-node');
        const nc = await connect(this.connectOptions);
        if (this.isClosed()) {
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
            'nats: unreachable; serving on without it and retrying',
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
    const again = this.state_ === 'disconnected';
    this.nc = nc;
    for (const e of this.entries) this.open(nc, e);
    this.setState('connected');
    if (again) this.counters.reconnects++;
    this.logger.info({ servers: this.servers }, 'nats: connected');
    void this.watch(nc);
    this.emit('connected');
  }

  private async watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (this.state_ === 'closed') return;
        if (s.type === 'disconnect' && this.state_ === 'connected') {
          this.setState('disconnected');
          this.logger.warn({ servers: this.servers }, 'nats: disconnected; serving on and reconnecting');
          this.emit('disconnected');
        } else if (s.type === 'reconnect') {
          this.setState('connected');
          this.counters.reconnects++;
          this.logger.info({ servers: this.servers }, 'nats: reconnected');
          this.emit('connected');
        } else if (s.type === 'error') {
          this.logger.warn({ err: s.error.message }, 'nats: server error');
        }
      }
    } catch {
      // status() ends with the connection.
    }
    if (this.state_ === 'closed' || this.nc !== nc) return;
    // The client gave up on this connection (it closed under us): start over with a new one.
    this.nc = null;
    for (const e of this.entries) e.sub = null;
    if (this.state_ === 'connected') this.emit('disconnected');
    this.setState('disconnected');
    void this.connectLoop();
  }
}

const closedError = () => NatsErrors.closed('the NATS link is closed');

/** The process's NATS link. Throws GH_ERR_CONFIG_INVALID_SETTING on bad settings. */
export function connectNats(o: NatsLinkOptions): NatsLink {
  return new NatsLink(o);
}
