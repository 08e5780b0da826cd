/**
 * Many lightweight data planes in one process, for measuring a control plane at fleet scale
 * (issue 12: 1,000 DPs on one CP) and for tests that need more DPs than processes fit on a box.
 *
 * Each simulated DP is what a real DP's primary is on the cluster side: its own `ConfigClient`
 * (its own gRPC channel and TCP + TLS connection: no subchannel shared with the others), its own
 * `SnapshotApplier` doing the real checks (signature by a trusted key, hash of the bytes, version
 * newer than the one held) and answering Ack/Nack, heartbeats on the real timer. What it leaves
 * out is what happens after verification: no workers parse or compile the config, nothing is
 * served, and the signed snapshot is kept in memory instead of an encrypted file.
 *
 * Every applied snapshot is reported with the time it was applied, so a caller measures a change
 * from the Admin API write to the moment every DP holds it.
 */
import { EventEmitter } from 'node:events';
import type { Logger, SignedSnapshot, TrustedKeys } from '@gatehouse/shared';
import { ConfigClient, type NodeInfo } from '../sync/config-client.js';
import { parseControlPlanes, type ControlPlaneEndpoint } from '../sync/control-planes.js';
import type { BackoffOptions } from '../sync/backoff.js';
import type { ClusterChannel } from '../sync/cluster-tls.js';
import { SnapshotApplier, type SnapshotStore } from '../sync/snapshot-applier.js';

export interface SimulatedFleetOptions {
  /** The CP cluster listener(s), as `--control-plane` takes them (host:port, comma-separated). */
  controlPlane: string;
  /** How many DPs. */
  count: number;
  trustedKeys: TrustedKeys;
  /** Cluster TLS as a real DP's (see cluster-tls.ts). */
  channel: ClusterChannel;
  /** The plugins each DP says it runs (a real DP's registry `pluginInfos()`). */
  plugins: NodeInfo['plugins'];
  /** Regions handed out in turn (DP i is in regions[i % length]); none: no region. */
  regions?: readonly string[];
  /** Prefix of the node ids (`<prefix>-<i>`); default `sim`. */
  idPrefix?: string;
  logger: Logger;
  heartbeatIntervalMs?: number;
  backoff?: BackoffOptions;
  /** The DPs say they apply deltas (delta sync), as real DPs do. Default true. */
  deltas?: boolean;
}

export interface SimulatedApply {
  /** The DP's index in the fleet. */
  index: number;
  version: bigint;
  hash: string;
  /** performance.now() when the DP held it (verified and acknowledged). */
  at: number;
}

export interface SimulatedFleetEvents {
  applied: [SimulatedApply];
  refused: [{ index: number; version: bigint; code: string; reason: string }];
}

/** A signed snapshot held in memory: what a real DP writes to its cache file. */
class MemoryStore implements SnapshotStore {
  readonly file = '(memory)';
  readonly encrypted = false;
  snapshot: SignedSnapshot | null = null;

  write(snapshot: SignedSnapshot): Promise<void> {
    this.snapshot = snapshot;
    return Promise.resolve();
  }

  load(): ReturnType<SnapshotStore['load']> {
    return Promise.resolve({ status: 'none' });
  }
}

interface SimulatedDp {
  readonly client: ConfigClient;
  readonly applier: SnapshotApplier;
}

export class SimulatedFleet extends EventEmitter<SimulatedFleetEvents> {
  private readonly dps: SimulatedDp[] = [];
  private readonly controlPlanes: ControlPlaneEndpoint[];

  constructor(private readonly opts: SimulatedFleetOptions) {
    super();
    if (!Number.isSafeInteger(opts.count) || opts.count < 1)
      throw new RangeError(`a simulated fleet needs 1 or more DPs, got ${opts.count}`);
    this.controlPlanes = parseControlPlanes(opts.controlPlane);
    for (let i = 0; i < opts.count; i += 1) this.dps.push(this.make(i));
  }

  get size(): number {
    return this.dps.length;
  }

  /** Opens every DP's stream (they connect in the background). */
  start(): void {
    for (const dp of this.dps) dp.client.start();
  }

  /** The version each DP holds (null: none yet). */
  versions(): (bigint | null)[] {
    return this.dps.map((dp) => dp.applier.held?.version ?? null);
  }

  /** How many DPs hold `hash`. */
  holding(hash: string): number {
    let n = 0;
    for (const dp of this.dps) if (dp.applier.held?.hash === hash) n += 1;
    return n;
  }

  /** How many DPs have a stream open to the CP. */
  connected(): number {
    let n = 0;
    for (const dp of this.dps) if (dp.client.syncStatus.state === 'connected') n += 1;
    return n;
  }

  async stop(): Promise<void> {
    await Promise.all(this.dps.map((dp) => dp.client.stop()));
  }

  private make(index: number): SimulatedDp {
    const o = this.opts;
    const logger = o.logger.child({ sim: index });
    const applier = new SnapshotApplier({
      trustedKeys: o.trustedKeys,
      // Nothing to compile or run: the node part is what a real DP's primary would health-check.
      compiler: { compile: () => undefined },
      target: { apply: () => Promise.resolve() },
      cache: new MemoryStore(),
      logger,
    });
    applier.on('applied', (held) =>
      this.emit('applied', { index, version: held.version, hash: held.hash, at: performance.now() }),
    );
    applier.on('rejected', (r) =>
      this.emit('refused', { index, version: r.version, code: r.code, reason: r.reason }),
    );
    const region = o.regions?.length ? o.regions[index % o.regions.length] : undefined;
    const id = `${o.idPrefix ?? 'sim'}-${index}`;
    const client = new ConfigClient({
      controlPlanes: this.controlPlanes,
      applier,
      node: { nodeId: id, hostname: id, ...(region ? { region } : {}), plugins: o.plugins ?? [] },
      logger,
      credentials: o.channel.credentials,
      // A connection of its own, as a DP on its own machine has (grpc-js otherwise shares one
      // subchannel between channels to the same address with the same options).
      channelOptions: { ...o.channel.channelOptions, 'grpc.use_local_subchannel_pool': 1 },
      ...(o.backoff ? { backoff: o.backoff } : {}),
      deltas: o.deltas ?? true,
      ...(o.heartbeatIntervalMs ? { heartbeatIntervalMs: o.heartbeatIntervalMs } : {}),
    });
    return { client, applier };
  }
}
