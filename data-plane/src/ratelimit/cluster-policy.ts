/**
 * The `cluster` rate-limiting policy: one limit across every DP of a region with no database or
 * Redis on the request path. Each DP counts locally (an increment never waits on the network)
 * and, every sync interval, publishes on NATS subject `gatehouse.ratelimit.<region>` the counters
 * it changed since the last sync. A counter's value is this DP's own count plus the last count
 * each peer published for the same window.
 *
 * What travels is each changed counter's running total *from this process*, not a bare delta:
 * a lost, repeated or reordered message cannot skew a peer's sum (the next one corrects it), and
 * a DP that joins mid-window is sent every live counter on the next tick after its first message.
 *
 * Over-admission: a peer's requests reach this DP at most T = Δ + δ late (Δ the sync interval,
 * δ the delivery latency). With D DPs each admitting at most r requests per second, a limit L
 * admits at most L + (D − 1)·r·T, i.e. L·(1 + ε) with ε = (D − 1)·r·T / L. See
 * docs/plugins-traffic.md.
 *
 * NATS down or unreachable ⇒ counting goes on locally (peers' last counts are kept), a warning is
 * logged and `degraded` is true; when NATS is back every live counter is republished.
 */
import { randomUUID } from 'node:crypto';
import type { Logger, NatsLink, NatsSubscriptionHandle } from '@gatehouse/shared';
import type { CounterHit, RateLimitPolicy } from './policy.js';

/** Default sync interval (ms): ε grows linearly with it; 100 ms is 10 small messages/s per DP. */
export const CLUSTER_SYNC_INTERVAL_MS = 100;
/** Counters per message, so a message stays well under NATS's default 1 MiB max_payload. */
const MAX_COUNTERS_PER_MESSAGE = 2000;
/** Longest limit key accepted from a peer. */
export const MAX_PEER_KEY_LENGTH = 1024;
/** At most this many peer counters are held; beyond it new ones are dropped (logged). */
const MAX_PEER_COUNTERS = 1_000_000;
/** Longest window accepted from a peer (a year). */
const MAX_WINDOW_SECONDS = 31_536_000;

export function clusterSubject(region: string): string {
  return `gatehouse.ratelimit.${region}`;
}

/** A NATS subject token: no spaces, dots or wildcards; anything else becomes `_`. */
export function regionToken(region: string | null | undefined): string {
  const r = (region ?? '').replace(/[^A-Za-z0-9_-]/g, '_');
  return r === '' ? 'default' : r;
}

export interface ClusterPolicyOptions {
  /**
   * The process's NATS link (@gatehouse/shared `connectNats`); the policy subscribes and publishes
   * on it and leaves it open on close. Without it the policy counts locally.
   */
  readonly nats?: NatsLink | undefined;
  /** The DP's region (said in Hello); the subject is `gatehouse.ratelimit.<region>`. */
  readonly region?: string | null | undefined;
  /** Sync interval in ms; default CLUSTER_SYNC_INTERVAL_MS. */
  readonly syncIntervalMs?: number;
  readonly logger?: Logger;
  /** The DP's node id, for logs. */
  readonly nodeId?: string;
  /** Epoch milliseconds (tests move time). Default Date.now. */
  readonly now?: () => number;
}

/** The connection's state, for status and metrics. */
export type ClusterSyncState = 'local-only' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/** One counter this DP holds. */
interface Counter {
  readonly key: string;
  readonly windowStart: number;
  readonly windowSeconds: number;
  /** This process's own count. */
  local: number;
  /** Sum of the peers' last published counts. */
  peers: number;
  /** Changed since the last publish. */
  dirty: boolean;
  readonly expiresAt: number;
}

/** A decoded peer message: sender instance and its counters `[key, windowStart, windowSeconds, count]`. */
export interface PeerUpdate {
  readonly from: string;
  readonly counters: readonly (readonly [string, number, number, number])[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The wire form: `{"v":1,"from":<instance>,"c":[[key,windowStart,windowSeconds,count],…]}`. */
export function encodePeerUpdate(update: PeerUpdate): Uint8Array {
  return encoder.encode(JSON.stringify({ v: 1, from: update.from, c: update.counters }));
}

function isCount(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;
}

/**
 * Decodes a peer message, or undefined when it is not one (anything on the subject is untrusted
 * input: malformed entries are skipped, never thrown on).
 */
export function decodePeerUpdate(data: Uint8Array): PeerUpdate | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const msg = parsed as { v?: unknown; from?: unknown; c?: unknown };
  if (msg.v !== 1 || typeof msg.from !== 'string' || msg.from === '' || msg.from.length > 128) {
    return undefined;
  }
  if (!Array.isArray(msg.c)) return undefined;
  const counters: [string, number, number, number][] = [];
  for (const entry of msg.c as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 4) continue;
    const [key, windowStart, windowSeconds, count] = entry as unknown[];
    if (typeof key !== 'string' || key.length > MAX_PEER_KEY_LENGTH) continue;
    if (!isCount(windowStart, Number.MAX_SAFE_INTEGER)) continue;
    if (!isCount(windowSeconds, MAX_WINDOW_SECONDS) || windowSeconds === 0) continue;
    if (!isCount(count, Number.MAX_SAFE_INTEGER)) continue;
    counters.push([key, windowStart, windowSeconds, count]);
  }
  return { from: msg.from, counters };
}

function counterId(key: string, windowStart: number, windowSeconds: number): string {
  return `${windowSeconds}:${windowStart}:${key}`;
}

export class ClusterPolicy implements RateLimitPolicy {
  readonly name = 'cluster';
  /** This process's id on the subject (a restarted DP is a new instance). */
  readonly instanceId = randomUUID();
  readonly subject: string;
  private readonly counters = new Map<string, Counter>();
  /** Per peer instance: counter id → its last published count. */
  private readonly peerCounts = new Map<string, Map<string, number>>();
  private peerCounterTotal = 0;
  private peerOverflowLogged = false;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly syncIntervalMs: number;
  private closed = false;
  private readonly nats: NatsLink | null;
  private sub: NatsSubscriptionHandle | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly onConnected = () => {
    this.republishAll = true;
    this.hello();
    this.logger?.info({ subject: this.subject }, 'rate-limiting: cluster policy syncing over NATS');
  };
  private readonly onDisconnected = () =>
    this.logger?.warn(
      { subject: this.subject },
      'rate-limiting: NATS disconnected; the cluster policy counts locally until it is back',
    );
  /** Republish every live counter on the next tick (a new peer, or NATS back). */
  private republishAll = false;
  private ticks = 0;

  constructor(private readonly options: ClusterPolicyOptions = {}) {
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
    this.syncIntervalMs = options.syncIntervalMs ?? CLUSTER_SYNC_INTERVAL_MS;
    if (!(this.syncIntervalMs >= 1)) throw new TypeError('cluster policy: syncIntervalMs must be >= 1');
    this.subject = clusterSubject(regionToken(options.region));
    this.nats = options.nats ?? null;
    if (!this.nats) {
      this.logger?.warn(
        'rate-limiting: the cluster policy has no NATS (NATS_URL unset); each data plane counts its own traffic',
      );
      return;
    }
    this.sub = this.nats.subscribe(this.subject, {
      decode: decodePeerUpdate,
      handle: (update) => this.receive(update),
    });
    this.nats.on('connected', this.onConnected);
    this.nats.on('disconnected', this.onDisconnected);
    this.syncTimer = setInterval(() => this.sync(), this.syncIntervalMs);
    this.syncTimer.unref();
    if (this.nats.state === 'connected') this.onConnected();
  }

  /** The NATS link's state, as this policy sees it. */
  get state(): ClusterSyncState {
    if (this.closed) return 'closed';
    return this.nats ? this.nats.state : 'local-only';
  }

  /** True while counting is local only (no NATS configured, or NATS unreachable). */
  get degraded(): boolean {
    return this.state !== 'connected';
  }

  increment(hits: readonly CounterHit[], amount: number): Promise<number[]> {
    return Promise.resolve(this.incrementNow(hits, amount));
  }

  usage(hits: readonly CounterHit[]): Promise<number[]> {
    return Promise.resolve(this.usageNow(hits));
  }

  /** `increment` without the promise: the primary answers a worker's batch synchronously. */
  incrementNow(hits: readonly CounterHit[], amount: number): number[] {
    const now = this.now();
    const out = new Array<number>(hits.length);
    for (let i = 0; i < hits.length; i++) {
      const counter = this.counter(hits[i]!, now);
      counter.local += amount;
      counter.dirty = true;
      out[i] = counter.local + counter.peers;
    }
    return out;
  }

  /** `usage` without the promise. */
  usageNow(hits: readonly CounterHit[]): number[] {
    const now = this.now();
    const out = new Array<number>(hits.length);
    for (let i = 0; i < hits.length; i++) {
      const hit = hits[i]!;
      const c = this.counters.get(counterId(hit.key, hit.windowStart, hit.windowSeconds));
      out[i] = c && c.expiresAt > now ? c.local + c.peers : 0;
    }
    return out;
  }

  /**
   * Publishes the counters changed since the last sync (every live one after a new peer or a
   * reconnect) and drops expired ones. Runs every sync interval; tests call it to sync now.
   */
  sync(): void {
    const now = this.now();
    if (++this.ticks % 10 === 0) this.sweep(now);
    const nats = this.nats;
    if (!nats || this.state !== 'connected') return;
    const all = this.republishAll;
    this.republishAll = false;
    let batch: [string, number, number, number][] = [];
    const send = () => {
      // The link dropped under us: everything goes again once it is back.
      if (!nats.publish(this.subject, encodePeerUpdate({ from: this.instanceId, counters: batch })))
        this.republishAll = true;
      batch = [];
    };
    for (const c of this.counters.values()) {
      if (!(c.dirty || all) || c.expiresAt <= now) continue;
      c.dirty = false;
      batch.push([c.key, c.windowStart, c.windowSeconds, c.local]);
      if (batch.length >= MAX_COUNTERS_PER_MESSAGE) send();
    }
    if (batch.length) send();
  }

  /** Applies a peer's message (the subscription calls this; exposed for tests). */
  receive(update: PeerUpdate): void {
    if (update.from === this.instanceId) return;
    const now = this.now();
    let peer = this.peerCounts.get(update.from);
    if (!peer) {
      peer = new Map();
      this.peerCounts.set(update.from, peer);
      // A new peer missed what we published before it came: send it everything next tick.
      this.republishAll = true;
    } else if (update.counters.length === 0) {
      // A hello from a peer we know: it has just reconnected, and may have missed what we
      // republished when we came back before it (NATS keeps nothing for a subscriber that is away).
      this.republishAll = true;
    }
    for (const [key, windowStart, windowSeconds, count] of update.counters) {
      const expiresAt = windowStart + 2 * windowSeconds * 1000;
      if (expiresAt <= now) continue;
      const id = counterId(key, windowStart, windowSeconds);
      const previous = peer.get(id);
      // Totals only grow within a window: an older (reordered) message is ignored.
      if (previous !== undefined && count <= previous) continue;
      if (previous === undefined) {
        if (this.peerCounterTotal >= MAX_PEER_COUNTERS) {
          if (!this.peerOverflowLogged) {
            this.peerOverflowLogged = true;
            this.logger?.warn(
              { max: MAX_PEER_COUNTERS },
              'rate-limiting: too many cluster counters from peers; new ones are ignored',
            );
          }
          continue;
        }
        this.peerCounterTotal++;
      }
      peer.set(id, count);
      const counter = this.counter({ key, windowStart, windowSeconds }, now);
      counter.peers += count - (previous ?? 0);
    }
  }

  /** Publishes what changed, stops syncing and unsubscribes (the link stays the process's). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.state === 'connected') this.sync();
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.syncTimer = null;
    this.sub?.unsubscribe();
    this.sub = null;
    this.nats?.off('connected', this.onConnected);
    this.nats?.off('disconnected', this.onDisconnected);
    await this.nats?.flush().catch(() => undefined);
    this.counters.clear();
    this.peerCounts.clear();
    this.peerCounterTotal = 0;
  }

  private counter(hit: CounterHit, now: number): Counter {
    const id = counterId(hit.key, hit.windowStart, hit.windowSeconds);
    let c = this.counters.get(id);
    if (c && c.expiresAt <= now) {
      this.counters.delete(id);
      c = undefined;
    }
    if (!c) {
      c = {
        key: hit.key,
        windowStart: hit.windowStart,
        windowSeconds: hit.windowSeconds,
        local: 0,
        peers: 0,
        dirty: false,
        // Kept two windows so a sliding window can read the previous one.
        expiresAt: hit.windowStart + 2 * hit.windowSeconds * 1000,
      };
      this.counters.set(id, c);
    }
    return c;
  }

  private sweep(now: number): void {
    for (const [id, c] of this.counters) if (c.expiresAt <= now) this.counters.delete(id);
    for (const [from, peer] of this.peerCounts) {
      for (const id of peer.keys()) {
        if (this.counters.has(id)) continue;
        peer.delete(id);
        this.peerCounterTotal--;
      }
      if (peer.size === 0) this.peerCounts.delete(from);
    }
  }

  /** An empty update (sent on every (re)connection): every peer sends this instance its live counters. */
  private hello(): void {
    // Down meanwhile: the next reconnect says hello again.
    this.nats?.publish(this.subject, encodePeerUpdate({ from: this.instanceId, counters: [] }));
  }
}

/**
 * The `cluster` policy of a DP: one per DP process (it holds every plugin's counters, keyed by the
 * hits' keys, and talks on the process's NATS link). Without NATS it counts locally, with a warning.
 */
export function createClusterPolicy(options: ClusterPolicyOptions): ClusterPolicy {
  return new ClusterPolicy(options);
}
