/**
 * One DP's stream. Hello first; then the newest snapshot (unless the DP holds its hash) and every
 * later one; Ack/Nack/Heartbeat recorded in the registry. Only the newest snapshot is ever
 * queued: while the DP is slow to read, a newer snapshot replaces the one waiting.
 *
 * Compatibility (Kong's hybrid-mode rules): a DP whose software version is incompatible is
 * refused at Hello and its stream closed. A snapshot that uses a plugin the DP lacks, or has in
 * an incompatible version, is not sent: the DP gets a Refusal naming why, the registry records
 * the sync_status and reason, and the stream stays open (as Kong keeps the websocket), so the
 * next compatible snapshot is sent as soon as it is published.
 *
 * Slices: the DP's region and labels (validated; a DP sending invalid ones is refused at Hello)
 * pick its slice; it is sent only its slice's snapshots, and its in-sync check and the CP's
 * heartbeats compare against its slice's hash.
 *
 * Delta sync: a DP that says `accepts_deltas` in Hello is sent a signed delta from the config it
 * holds (the last one written to it, or what it reported) when the CP has one (`deltaFor`,
 * snapshot/deltas.ts); otherwise, and after it Nacks a delta, the full snapshot.
 */
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  cpMessage,
  oauth2RevocationMessages,
  encodeOnce,
  HeartbeatSchema,
  ProxyCachePurgeSchema,
  RefusalSchema,
  TargetHealthOrderSchema,
  type ControlPlaneMessage,
  type DataPlaneHealth,
  type DataPlaneMessage,
  type Hello,
  type TrafficSummary,
} from '@gatehouse/proto';
import {
  placementError,
  signedDeltaToProto,
  signedSnapshotToProto,
  type Logger,
  type NodePlacement,
  type PeerIdentity,
  type SignedSnapshot,
} from '@gatehouse/shared';
import type { DeltaChoice, PublishedSnapshot } from '../snapshot/index.js';
import {
  configIncompatibility,
  peerIp,
  pluginMap,
  versionIncompatibility,
  type Incompatibility,
  type PluginInfo,
} from './compat.js';
import type { DataPlaneHealthRecord, DataPlaneRegistry, UnhealthyTargetRecord } from './registry.js';
import type { UsedToken as RevokedToken } from '../store/oauth2-used-tokens.js';

export type ClusterCall = grpc.ServerDuplexStream<DataPlaneMessage, ControlPlaneMessage>;

export interface SessionContext {
  registry: DataPlaneRegistry;
  logger: Logger;
  cpVersion: string;
  /** The CP's plugins (name -> version), for the plugin version rule; empty: only the set is checked. */
  cpPlugins: ReadonlyMap<string, string>;
  /** Registers the DP's placement (its slice is kept built); returns its placement key. */
  acquireSlice(placement: NodePlacement): string;
  releaseSlice(key: string): void;
  /** Asks for the placement's slice at the newest config version (the DP holds a newer one). */
  renewSlice(key: string): void;
  /** The newest snapshot of a placement key; null while it is being built. */
  latestSlice(key: string): PublishedSnapshot | null;
  /** Called once the DP said a valid Hello (the server tracks sessions by node id). */
  onReady(session: DataPlaneSession): void;
  onClosed(session: DataPlaneSession): void;
  /** A traffic summary the DP sent on its stream (analytics); absent: summaries are ignored. */
  onTrafficSummary?(session: DataPlaneSession, summary: TrafficSummary): void;
  /**
   * Which snapshot this DP gets when its slice's newest is `published` (a staged rollout holds
   * DPs outside its waves at its base; rollouts/manager.ts); null: nothing for now. Absent: `published`.
   */
  select?(session: DataPlaneSession, published: PublishedSnapshot): PublishedSnapshot | null;
  /** Delta sync (snapshot/deltas.ts); absent: every DP gets full snapshots. */
  deltas?: {
    deltaFor(baseHash: string, target: PublishedSnapshot): Promise<DeltaChoice>;
    record(choice: DeltaChoice | 'unsupported', full: PublishedSnapshot): void;
  };
  /** The chaos suite's test-only snapshot hook (cluster/test-hook.ts); absent in production. */
  tap?: StreamTap;
}

/**
 * A tap on the DP streams for the chaos suite's test-only snapshot hook (control-plane/src/testing/,
 * left out of production builds and loaded only by cluster/test-hook.ts when its variable is set).
 */
export interface StreamTap {
  /** A snapshot or delta about to be written to `nodeId`: what to write instead (or it unchanged). */
  outgoing(nodeId: string, m: ControlPlaneMessage): ControlPlaneMessage;
  /**
   * `nodeId` said Hello and was accepted; `write` writes to its stream (nothing once it closed).
   * Called before the DP is offered its first snapshot.
   */
  ready(nodeId: string, write: (m: ControlPlaneMessage) => void): void;
}

const MAX_STATUS_LENGTH = 32;

/** Bounds on a heartbeat's target health (the DP sends at most 1,000; more are counted as dropped). */
const MAX_UNHEALTHY_TARGETS = 1000;
const MAX_UPSTREAM_ID_LENGTH = 64;
const MAX_TARGET_LENGTH = 300;
const CAUSES = new Set(['passive', 'active', 'manual']);

/** The heartbeat's unhealthy targets, bounded; entries that cannot be real are dropped. */
function unhealthyTargets(
  h: DataPlaneHealth,
): Pick<DataPlaneHealthRecord, 'unhealthy_targets' | 'unhealthy_targets_dropped'> {
  if (!h.targetsReported) return {};
  const out: UnhealthyTargetRecord[] = [];
  let dropped = Math.min(h.unhealthyTargetsDropped, 0xffffffff);
  for (const t of h.unhealthyTargets) {
    const ok =
      t.upstreamId.length > 0 &&
      t.upstreamId.length <= MAX_UPSTREAM_ID_LENGTH &&
      t.target.length > 0 &&
      t.target.length <= MAX_TARGET_LENGTH &&
      out.length < MAX_UNHEALTHY_TARGETS;
    if (!ok) {
      dropped++;
      continue;
    }
    out.push({
      upstream_id: t.upstreamId,
      target: t.target,
      cause: CAUSES.has(t.cause) ? t.cause : 'manual',
    });
  }
  return { unhealthy_targets: out, unhealthy_targets_dropped: dropped };
}

/** The heartbeat's health as the registry keeps it (numbers clamped to what JSON holds). */
function healthRecord(h: DataPlaneHealth): DataPlaneHealthRecord {
  const num = (v: number) => (Number.isFinite(v) && v >= 0 ? v : 0);
  return {
    ...unhealthyTargets(h),
    status: h.status.slice(0, MAX_STATUS_LENGTH),
    workers: h.workers,
    workers_configured: h.workersConfigured,
    rss_bytes: Number(h.rssBytes),
    heap_used_bytes: Number(h.heapUsedBytes),
    event_loop_lag_ms: num(h.eventLoopLagMs),
    reported_at: Math.floor(Date.now() / 1000),
  };
}

/** Each snapshot's message, encoded once for every stream of its slice (no per-DP encode). */
const snapshotMessages = new WeakMap<SignedSnapshot, ControlPlaneMessage>();

function snapshotMessage(snapshot: SignedSnapshot): ControlPlaneMessage {
  const known = snapshotMessages.get(snapshot);
  if (known) return known;
  const m = encodeOnce(cpMessage({ case: 'snapshot', value: signedSnapshotToProto(snapshot) }));
  snapshotMessages.set(snapshot, m);
  return m;
}

const MAX_ID_LENGTH = 256;
const MAX_REASON_LENGTH = 2048;

export class DataPlaneSession {
  nodeId: string | null = null;
  readonly ip: string;
  readonly connectedAt = Date.now();
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  /** Hash of the config the DP last reported holding (Hello, Ack, Heartbeat). */
  dpHash = '';
  /** Version of the config the DP last reported holding. */
  dpVersion = 0n;
  /** What the DP said in Hello. */
  hostname = '';
  region = '';
  labels: Record<string, string> = {};
  /** The placement key (`sliceKeyOf(region, labels)`) once Hello was accepted. */
  sliceKey: string | null = null;
  /** What Hello said the DP holds, until the first snapshot of its slice is known. */
  private helloHeld: { hash: string; kid: string } | null = null;
  softwareVersion = '';
  plugins: PluginInfo[] = [];
  private dpPlugins: ReadonlyMap<string, string> = new Map();
  /** The refusal in force on this stream (the newest snapshot is incompatible), or null. */
  refusal: Incompatibility | null = null;
  private log: Logger;
  private pending: PublishedSnapshot | null = null;
  /** The DP said in Hello that it applies deltas. */
  acceptsDeltas = false;
  /** Hash of the config last written to the DP (it holds it once it applies it); null after a Nack. */
  private sentHash: string | null = null;
  /** The snapshot whose delta was written last (a Nack of it brings the full snapshot). */
  private sentDelta: PublishedSnapshot | null = null;
  /** The next write is a full snapshot (the DP refused a delta). */
  private forceFull = false;
  /** The hash and kid (`offeredId`) of the snapshot last offered: a re-signed one is offered again. */
  private lastOffered: string | null = null;
  private inFlight = false;
  private closed = false;
  /** Snapshots written to the stream / replaced while waiting (for stats and tests). */
  snapshotsSent = 0;
  snapshotsDropped = 0;
  /** Of snapshotsSent, those written as deltas. */
  deltasSent = 0;

  constructor(
    private readonly call: ClusterCall,
    private readonly ctx: SessionContext,
    /** The DP's verified client certificate (null on a plaintext channel). */
    readonly certificate: PeerIdentity | null = null,
  ) {
    this.ip = peerIp(call.getPeer());
    this.log = ctx.logger.child({ peer: call.getPeer() });
    call.on('data', (m: DataPlaneMessage) => this.onMessage(m));
    call.on('end', () => this.close(null));
    call.on('cancelled', () => this.close(null));
    call.on('error', (err: Error) => {
      this.log.debug({ err }, 'cluster stream error');
      this.close(null);
    });
    call.on('close', () => this.close(null));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Offers a snapshot; replaces one still waiting to be written. A snapshot the DP cannot take
   * (plugins) is not sent: the one waiting, older, is dropped too (only the newest config
   * matters) and the DP gets a Refusal instead.
   */
  offer(newest: PublishedSnapshot): void {
    if (this.closed || this.nodeId === null) return;
    const published = this.ctx.select ? this.ctx.select(this, newest) : newest;
    if (published === null) return;
    const snapshot = published.snapshot;
    const held = this.helloHeld;
    this.helloHeld = null;
    if (held && this.holds(held, published)) {
      // The slice was built after Hello: the DP already holds it.
      this.lastOffered = offeredId(published);
      void this.ctx.registry.acked(this.nodeId, snapshot.version, snapshot.hash, published.kid);
      return;
    }
    if (offeredId(published) === this.lastOffered) return;
    if (snapshot.version < this.dpVersion && this.sliceKey !== null) {
      // The DP would refuse it as older than what it holds: have the slice signed anew.
      this.ctx.renewSlice(this.sliceKey);
      return;
    }
    this.lastOffered = offeredId(published);
    if (this.pending) this.snapshotsDropped++;
    this.pending = null;
    const incompatible = configIncompatibility(published.plugins, this.ctx.cpPlugins, this.dpPlugins);
    if (incompatible) {
      this.refuse(incompatible, snapshot);
      return;
    }
    if (this.refusal) {
      this.refusal = null;
      this.log.info({ version: snapshot.version }, 'config compatible with the data plane again');
      void this.ctx.registry.syncing(this.nodeId);
    }
    this.pending = published;
    this.pump();
  }

  /** Tells the DP (once per distinct reason) why it does not get the newest config. */
  private refuse(incompatible: Incompatibility, snapshot: SignedSnapshot): void {
    const same = this.refusal?.status === incompatible.status && this.refusal.reason === incompatible.reason;
    this.refusal = incompatible;
    if (same) return;
    this.log.warn(
      { syncStatus: incompatible.status, reason: incompatible.reason, version: snapshot.version },
      'not sending the config to the data plane: incompatible',
    );
    void this.ctx.registry.refused(this.nodeId!, incompatible.status, incompatible.reason);
    this.write(
      cpMessage({
        case: 'refusal',
        value: create(RefusalSchema, { syncStatus: incompatible.status, reason: incompatible.reason }),
      }),
    );
  }

  /** Sends a heartbeat unless a snapshot is still on its way (it would only queue behind it). */
  heartbeat(): void {
    if (this.closed || this.inFlight) return;
    const latest = this.sliceKey === null ? null : this.ctx.latestSlice(this.sliceKey);
    this.write(
      cpMessage({
        case: 'heartbeat',
        value: create(HeartbeatSchema, {
          configHash: latest?.snapshot.hash ?? '',
          configVersion: latest?.snapshot.version ?? 0n,
          sentAtUnixMs: BigInt(Date.now()),
        }),
      }),
    );
  }

  /**
   * Relays a proxy-cache purge (empty plugin id / key: every one). It goes after a snapshot
   * already queued on the stream, never instead of one. False when the stream is not ready.
   */
  purge(pluginId: string, cacheKey: string): boolean {
    if (this.closed || this.nodeId === null) return false;
    this.write(
      cpMessage({ case: 'proxyCachePurge', value: create(ProxyCachePurgeSchema, { pluginId, cacheKey }) }),
    );
    return true;
  }

  /**
   * Sends oauth2 access tokens revoked outside the configuration (several messages for a long
   * list). False when the stream is not ready.
   */
  oauth2Revocations(tokens: readonly RevokedToken[]): boolean {
    if (this.closed || this.nodeId === null) return false;
    for (const m of oauth2RevocationMessages(tokens)) this.write(m);
    return true;
  }

  /**
   * Relays the Admin API's healthy / unhealthy for a target (upstream id, `host:port`). False
   * when the stream is not ready.
   */
  targetHealth(upstreamId: string, target: string, healthy: boolean): boolean {
    if (this.closed || this.nodeId === null) return false;
    this.write(
      cpMessage({
        case: 'targetHealthOrder',
        value: create(TargetHealthOrderSchema, { upstreamId, target, healthy }),
      }),
    );
    return true;
  }

  /** Ends the stream with a status (null: the peer already went away). */
  close(status: { code: grpc.status; details: string } | null): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    if (this.sliceKey !== null) this.ctx.releaseSlice(this.sliceKey);
    if (status) {
      this.log.info({ code: grpc.status[status.code], reason: status.details }, 'closing DP stream');
      try {
        this.call.emit('error', { code: status.code, details: status.details });
      } catch (err) {
        this.log.debug({ err }, 'error while closing a DP stream');
      }
    } else {
      this.log.info('DP stream closed');
    }
    this.ctx.onClosed(this);
  }

  private pump(): void {
    if (this.closed || this.inFlight || !this.pending) return;
    const published = this.pending;
    this.pending = null;
    this.inFlight = true;
    const deltas = this.ctx.deltas;
    const base = this.sentHash ?? this.dpHash;
    if (!deltas || !this.acceptsDeltas) {
      deltas?.record('unsupported', published);
      this.send(published, null);
    } else if (this.forceFull) {
      this.forceFull = false;
      this.send(published, { full: 'nack' });
    } else if (base === '') {
      this.send(published, { full: 'no_base' });
    } else if (base === published.snapshot.hash) {
      this.send(published, { full: 'resigned' });
    } else {
      deltas.deltaFor(base, published).then(
        (choice) => this.send(published, choice),
        () => this.send(published, { full: 'error' }),
      );
    }
  }

  /** Writes a snapshot, or its delta; the next waits until it has left. */
  private send(published: PublishedSnapshot, choice: DeltaChoice | null): void {
    if (this.closed) return;
    const snap = published.snapshot;
    const delta = choice !== null && 'delta' in choice ? choice.delta : null;
    if (choice !== null) this.ctx.deltas?.record(choice, published);
    this.sentHash = snap.hash;
    this.sentDelta = delta ? published : null;
    // The next snapshot waits until this one has left (HTTP/2 flow control holds the callback
    // while the DP does not read), so at most one is in flight and one, the newest, waiting.
    const m = delta
      ? cpMessage({ case: 'snapshotDelta', value: signedDeltaToProto(delta) })
      : snapshotMessage(snap);
    this.write(this.ctx.tap ? this.ctx.tap.outgoing(this.nodeId!, m) : m, () => {
      this.inFlight = false;
      this.pump();
    });
    this.snapshotsSent++;
    if (delta) this.deltasSent++;
    this.log.debug(
      {
        version: snap.version,
        hash: snap.hash,
        ...(delta ? { delta: true, base: delta.baseHash } : {}),
        ...(choice && 'full' in choice ? { fullBecause: choice.full } : {}),
      },
      'snapshot sent',
    );
  }

  /** The DP refused what was written last: the next one is based on what it reports holding. */
  private onNack(hash: string): void {
    this.sentHash = null;
    const refused = this.sentDelta;
    this.sentDelta = null;
    if (refused === null || refused.snapshot.hash !== hash) return;
    // It refused a delta: the same config follows in full, unless a newer one waits or is on its
    // way (that one goes in full, or, if already written as a delta, is refused and then follows).
    this.forceFull = true;
    if (!this.inFlight) this.pending ??= refused;
    this.pump();
  }

  private write(m: ControlPlaneMessage, done?: () => void): void {
    this.lastSentAt = Date.now();
    try {
      this.call.write(m, done);
    } catch (err) {
      this.log.debug({ err }, 'write on a closing DP stream');
    }
  }

  private onMessage(m: DataPlaneMessage): void {
    if (this.closed) return;
    this.lastReceivedAt = Date.now();
    const msg = m.message;
    if (this.nodeId === null) {
      if (msg.case !== 'hello') {
        this.close({
          code: grpc.status.FAILED_PRECONDITION,
          details: `expected Hello as the first message, got ${msg.case ?? 'an empty message'}`,
        });
        return;
      }
      this.onHello(msg.value);
      return;
    }
    const id = this.nodeId;
    switch (msg.case) {
      case 'hello':
        this.close({
          code: grpc.status.FAILED_PRECONDITION,
          details: 'Hello may only be sent once per stream',
        });
        return;
      case 'ack':
        this.dpHash = msg.value.hash;
        this.dpVersion = msg.value.version;
        // debug: at fleet scale, one line per DP per change costs more than the ack itself.
        this.log.debug({ version: msg.value.version, hash: msg.value.hash }, 'DP acked snapshot');
        void this.ctx.registry.acked(id, msg.value.version, msg.value.hash, msg.value.kid || undefined);
        return;
      case 'nack': {
        const reason = msg.value.reason.slice(0, MAX_REASON_LENGTH) || 'no reason given';
        this.log.warn({ version: msg.value.version, hash: msg.value.hash, reason }, 'DP refused snapshot');
        void this.ctx.registry.nacked(id, reason);
        this.onNack(msg.value.hash);
        return;
      }
      case 'heartbeat':
        this.dpHash = msg.value.configHash;
        this.dpVersion = msg.value.configVersion;
        void this.ctx.registry.heartbeat(
          id,
          msg.value.configHash,
          msg.value.configVersion,
          msg.value.health ? healthRecord(msg.value.health) : undefined,
          msg.value.configKid || undefined,
        );
        this.heartbeat();
        return;
      case 'trafficSummary':
        this.ctx.onTrafficSummary?.(this, msg.value);
        return;
      default:
        // Unknown oneof case (a newer DP): ignore, but it still counts as traffic.
        return;
    }
  }

  private onHello(hello: Hello): void {
    const id = hello.nodeId.trim();
    if (!id || id.length > MAX_ID_LENGTH) {
      this.close({
        code: grpc.status.INVALID_ARGUMENT,
        details: `Hello.node_id must be 1-${MAX_ID_LENGTH} characters`,
      });
      return;
    }
    const placement: NodePlacement = { region: hello.region, labels: { ...hello.labels } };
    const badPlacement = placementError(placement);
    if (badPlacement) {
      this.close({ code: grpc.status.INVALID_ARGUMENT, details: `Hello: ${badPlacement}` });
      return;
    }
    this.nodeId = id;
    this.dpHash = hello.configHash;
    this.dpVersion = hello.configVersion;
    this.hostname = hello.hostname;
    this.region = hello.region;
    this.labels = placement.labels;
    this.softwareVersion = hello.softwareVersion;
    this.acceptsDeltas = hello.acceptsDeltas;
    this.plugins = hello.plugins.map((p) => ({ name: p.name, version: p.version }));
    this.dpPlugins = pluginMap(this.plugins);
    this.log = this.log.child({ nodeId: id });
    const info = {
      id,
      hostname: hello.hostname,
      ip: this.ip,
      region: hello.region,
      labels: { ...hello.labels },
      version: hello.softwareVersion,
      plugins: this.plugins,
      configHash: hello.configHash,
      configVersion: hello.configVersion,
      configKid: hello.configKid,
      certificate: this.certificate,
    };
    const incompatible = versionIncompatibility(this.ctx.cpVersion, hello.softwareVersion);
    if (incompatible) {
      this.log.warn({ dpVersion: hello.softwareVersion, reason: incompatible }, 'refusing data plane');
      // Enqueued in order per node: the row shows the refusal and that the DP is not connected.
      void this.ctx.registry.connected(info, 'kong_version_incompatible', incompatible);
      void this.ctx.registry.disconnected(id);
      this.write(
        cpMessage({
          case: 'refusal',
          value: create(RefusalSchema, { syncStatus: 'kong_version_incompatible', reason: incompatible }),
        }),
      );
      this.close({ code: grpc.status.FAILED_PRECONDITION, details: incompatible });
      return;
    }
    this.sliceKey = this.ctx.acquireSlice(placement);
    const latest = this.ctx.latestSlice(this.sliceKey);
    // Same bytes, signed by the key the CP signs with now (a DP that does not say its kid, an
    // older one, is taken at its hash): after a signing-key rotation the DP gets the config again,
    // signed by the new key, and caches that (so its cache verifies once the old key is gone).
    const held = { hash: hello.configHash, kid: hello.configKid };
    const inSync = latest !== null && this.holds(held, latest);
    this.log.info(
      {
        dpHostname: hello.hostname,
        dpVersion: hello.softwareVersion,
        dpHash: hello.configHash,
        inSync,
        slice: this.sliceKey,
        plugins: this.plugins.length,
      },
      'DP connected',
    );
    void this.ctx.registry.connected(info, inSync ? 'normal' : 'unknown');
    this.ctx.onReady(this);
    this.ctx.tap?.ready(id, (m) => {
      if (!this.closed) this.write(m);
    });
    // offer() checks the plugins: an incompatible config is refused (and recorded) instead.
    if (latest && inSync) this.lastOffered = offeredId(latest);
    else if (latest) this.offer(latest);
    else this.helloHeld = held;
  }

  /** Does the DP hold this snapshot (its hash, signed by the key the CP signs with now)? */
  private holds(held: { hash: string; kid: string }, p: PublishedSnapshot): boolean {
    return p.snapshot.hash === held.hash && (held.kid === '' || p.kid === undefined || p.kid === held.kid);
  }
}

/** A published snapshot's identity for offering: its hash and the key it is signed with. */
function offeredId(p: PublishedSnapshot): string {
  return `${p.snapshot.hash}/${p.signer ?? p.kid ?? ''}`;
}
