/**
 * DataPlaneRegistry: every data plane this cluster has seen, in the `clustering_data_planes`
 * table (so every CP replica serves the same list). Writes for one node are applied in the order
 * they were made; a failed write is logged and never breaks the DP's stream.
 *
 * Heartbeats write `last_seen` at most once per `heartbeatWriteIntervalMs` (10 s) per DP unless
 * the hash it holds changed. A row whose `last_seen` is older than `staleAfterMs` (60 s) reads
 * as `connected: false` even if its flag says otherwise (a CP replica that died could not clear
 * it). Rows not seen for the purge delay (14 days, Kong's cluster_data_plane_purge_delay) are
 * deleted by `purgeStale()`, on one CP replica at a time (a Postgres advisory lock, jobs/exclusive.ts).
 *
 * Acks and heartbeats are coalesced: what they change is kept per DP for `batchWindowMs` (100 ms)
 * and then written for every DP at once, one transaction whose statements each update every DP
 * that reported the same thing (after a config change, one statement for the whole slice), so a
 * change acked by 1,000 DPs costs a handful of statements instead of 1,000. Any other write of
 * a DP (Hello, Nack, refusal, disconnect) first writes what is waiting for it, so a DP's writes
 * still land in the order they were made; reads (`get`, `list`, `listConnected`) first write
 * what is waiting, so this replica's answers are never behind what its streams said.
 *
 * Replicas: each row records the replica the DP's stream is on (`cp_id`, set on Hello and
 * re-asserted by heartbeats). A replica clears `connected` only on a row that is still its own,
 * so a DP that moved to another replica before the old stream was noticed dead never reads as
 * disconnected.
 */
import { sliceKeyOf, type Logger, type NodePlacement, type PeerIdentity } from '@gatehouse/shared';
import type { PrismaClient } from '../db/index.js';
import { runExclusive } from '../jobs/exclusive.js';
import type { PluginInfo } from './compat.js';
import type { DataPlaneFilter } from './data-plane-filter.js';

/** Kong's sync_status values. */
export const SYNC_STATUSES = [
  'unknown',
  'normal',
  'kong_version_incompatible',
  'plugin_set_incompatible',
  'plugin_version_incompatible',
] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export type { PluginInfo };

/** What a DP says about itself in Hello, plus the address it connected from. */
export interface DataPlaneHello {
  id: string;
  hostname: string;
  ip: string;
  region: string;
  labels: Record<string, string>;
  version: string;
  plugins: PluginInfo[];
  configHash: string;
  configVersion: bigint;
  /** The kid of the snapshot signature the DP holds ('' if none or an older DP). */
  configKid?: string;
  /** The client certificate the DP presented (null on a plaintext channel). */
  certificate?: PeerIdentity | null;
}

/**
 * The DP's client certificate (Kong's `cert_details`, with `expiry_timestamp` in Unix seconds),
 * plus its subject and common name; null when the DP connected without one.
 */
export interface CertDetails {
  subject: string;
  common_name: string | null;
  expiry_timestamp: number;
}

/** What the DP's last heartbeat said about it (absent from DPs that send none). */
export interface DataPlaneHealthRecord {
  status: string;
  workers: number;
  workers_configured: number;
  rss_bytes: number;
  heap_used_bytes: number;
  event_loop_lag_ms: number;
  /** Unix seconds of the heartbeat that said it. */
  reported_at: number;
  /**
   * The DP's unhealthy targets (every other target of the config it holds is healthy); absent
   * from DPs that do not report target health. See admin/upstream-health.ts.
   */
  unhealthy_targets?: UnhealthyTargetRecord[];
  /** Unhealthy targets left out of the report (more than the DP may list). */
  unhealthy_targets_dropped?: number;
}

/** One target a DP does not balance to, as its heartbeat said. */
export interface UnhealthyTargetRecord {
  upstream_id: string;
  /** host:port */
  target: string;
  /** passive, active or manual */
  cause: string;
}

/** One DP as `/clustering/data-planes` serves it: Kong's fields, then ours. */
export interface DataPlaneRecord {
  id: string;
  ip: string;
  hostname: string;
  version: string;
  sync_status: SyncStatus;
  config_hash: string;
  /** Unix seconds. */
  last_seen: number;
  labels: Record<string, string>;
  created_at: number;
  updated_at: number;
  region: string | null;
  config_version: number;
  /** The key id (JWS kid) of the snapshot signature the DP verified; null when unknown (older DPs). */
  config_kid: string | null;
  connected: boolean;
  last_nack_reason: string | null;
  plugins: PluginInfo[];
  cert_details: CertDetails | null;
  /** The control-plane replica the DP is (or was last) connected to. */
  cp_id: string | null;
  health: DataPlaneHealthRecord | null;
}

export interface DataPlanePage {
  data: DataPlaneRecord[];
  /** Opaque cursor for the next page, or null on the last one. */
  offset: string | null;
}

type Row = Awaited<ReturnType<PrismaClient['clusteringDataPlane']['findUniqueOrThrow']>>;

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

export const DEFAULT_HEARTBEAT_WRITE_INTERVAL_MS = 10_000;
export const DEFAULT_STALE_AFTER_MS = 60_000;
/** Kong's cluster_data_plane_purge_delay default: 14 days. */
export const DEFAULT_PURGE_DELAY_MS = 14 * 24 * 3600 * 1000;

export interface DataPlaneRegistryOptions {
  /** At most one heartbeat write (last_seen) per DP per this period, unless its hash changed. Default 10 s. */
  heartbeatWriteIntervalMs?: number;
  /** A row not seen for this long reads as disconnected. Default 60 s. */
  staleAfterMs?: number;
  /**
   * This CP replica's id, written as the rows' `cp_id`. With it, `disconnected()` leaves a row
   * another replica has taken over; without it (one CP) it clears the flag unconditionally.
   */
  cpId?: string;
  /** How long acks and heartbeats wait to be written together (see the class comment). Default 100 ms. */
  batchWindowMs?: number;
}

export const DEFAULT_BATCH_WINDOW_MS = 100;

type RowUpdate = Parameters<PrismaClient['clusteringDataPlane']['updateMany']>[0]['data'];

/** What an ack or heartbeat changes in a DP's row (merged while it waits: the newest wins). */
interface BatchedUpdate {
  config_hash: string;
  config_version: bigint;
  config_kid?: string;
  last_seen: Date;
  sync_status?: 'normal';
  connected?: true;
  cp_id?: string;
  health?: Record<string, number | string>;
}

/** DPs whose waiting updates are the same (but for last_seen) share one statement. */
function batchGroupKey(u: BatchedUpdate): string | null {
  if (u.health !== undefined) return null; // each DP's own
  return `${u.config_hash}\0${u.config_version}\0${u.config_kid ?? ''}\0${u.sync_status ?? ''}\0${u.connected ?? ''}\0${u.cp_id ?? ''}`;
}

/** The advisory-lock name of the stale-DP purge. */
export const PURGE_JOB = 'clustering_data_planes.purge';

function toRecord(row: Row, staleAfterMs: number, now = Date.now()): DataPlaneRecord {
  return {
    id: row.id,
    ip: row.ip,
    hostname: row.hostname,
    version: row.version,
    sync_status: (SYNC_STATUSES as readonly string[]).includes(row.sync_status)
      ? (row.sync_status as SyncStatus)
      : 'unknown',
    config_hash: row.config_hash,
    last_seen: unix(row.last_seen),
    labels: (row.labels ?? {}) as Record<string, string>,
    created_at: unix(row.created_at),
    updated_at: unix(row.updated_at),
    region: row.region,
    config_version: Number(row.config_version),
    config_kid: row.config_kid === '' ? null : row.config_kid,
    connected: row.connected && now - row.last_seen.getTime() < staleAfterMs,
    last_nack_reason: row.last_nack_reason,
    plugins: (row.plugins ?? []) as unknown as PluginInfo[],
    cert_details:
      row.cert_subject !== null && row.cert_expiry !== null
        ? {
            subject: row.cert_subject,
            common_name: row.cert_common_name,
            expiry_timestamp: unix(row.cert_expiry),
          }
        : null,
    cp_id: row.cp_id,
    health: (row.health ?? null) as DataPlaneHealthRecord | null,
  };
}

export const DATA_PLANES_MAX_PAGE_SIZE = 1000;

export class DataPlaneRegistry {
  /** Per node: the tail of its chain of pending writes. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Per node: when last_seen was last written and the hash written with it. */
  private readonly lastSeenWrites = new Map<
    string,
    { at: number; hash: string; health?: boolean; targets?: string }
  >();
  private readonly heartbeatWriteIntervalMs: number;
  private readonly batchWindowMs: number;
  /** Acks and heartbeats waiting to be written, per node, and the promise of their write. */
  private batch = new Map<string, BatchedUpdate>();
  private batchWritten: { promise: Promise<void>; resolve: () => void } | null = null;
  /** Writes of batched updates taken out of the batch (another write of the DP came first). */
  private batchTakenOut: Promise<void>[] = [];
  private batchTimer: NodeJS.Timeout | null = null;
  readonly staleAfterMs: number;
  readonly cpId: string | null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    options: DataPlaneRegistryOptions = {},
  ) {
    this.heartbeatWriteIntervalMs = options.heartbeatWriteIntervalMs ?? DEFAULT_HEARTBEAT_WRITE_INTERVAL_MS;
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.cpId = options.cpId ?? null;
    this.batchWindowMs = options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS;
  }

  /**
   * A DP said Hello: create or refresh its row, connected. `reason` (a refusal) goes to
   * last_nack_reason; without it the previous reason is kept.
   */
  connected(hello: DataPlaneHello, syncStatus: SyncStatus = 'unknown', reason?: string): Promise<void> {
    const fields = {
      hostname: hello.hostname,
      ip: hello.ip,
      region: hello.region || null,
      labels: hello.labels,
      version: hello.version,
      config_hash: hello.configHash,
      config_version: hello.configVersion,
      config_kid: hello.configKid ?? '',
      plugins: hello.plugins.map((p) => ({ name: p.name, version: p.version })),
      sync_status: syncStatus,
      connected: true,
      last_seen: new Date(),
      cp_id: this.cpId,
      cert_subject: hello.certificate?.subject ?? null,
      cert_common_name: hello.certificate?.commonName ?? null,
      cert_expiry: hello.certificate?.expiresAt ?? null,
      ...(reason === undefined ? {} : { last_nack_reason: reason }),
    };
    this.lastSeenWrites.set(hello.id, { at: Date.now(), hash: hello.configHash });
    return this.enqueue(hello.id, 'connect', async () => {
      await this.prisma.clusteringDataPlane.upsert({
        where: { id: hello.id },
        create: { id: hello.id, ...fields },
        update: fields,
      });
    });
  }

  /** The DP applied a snapshot. */
  acked(id: string, version: bigint, hash: string, kid?: string): Promise<void> {
    const last = this.lastSeenWrites.get(id);
    this.lastSeenWrites.set(id, {
      at: Date.now(),
      hash,
      health: last?.health ?? false,
      ...(last?.targets === undefined ? {} : { targets: last.targets }),
    });
    return this.batched(id, {
      config_hash: hash,
      config_version: version,
      ...(kid === undefined ? {} : { config_kid: kid }),
      sync_status: 'normal',
      last_seen: new Date(),
    });
  }

  /** The DP refused a snapshot and keeps its previous config (its hash is unchanged). */
  nacked(id: string, reason: string): Promise<void> {
    return this.update(id, 'nack', {
      last_nack_reason: reason,
      sync_status: 'unknown',
      last_seen: new Date(),
    });
  }

  /**
   * A heartbeat: the DP is alive and holds this config (and is in this health). Throttled (see
   * the class comment): the health shown is at most one write period old.
   */
  heartbeat(
    id: string,
    hash: string,
    version: bigint,
    health?: DataPlaneHealthRecord,
    kid?: string,
  ): Promise<void> {
    const now = Date.now();
    const last = this.lastSeenWrites.get(id);
    // The first health a stream reports is written at once (the row shows it from the start),
    // and so is a change of its target health (the Admin API's /upstreams/{u}/health reads it).
    const firstHealth = health !== undefined && !last?.health;
    const targets = health?.unhealthy_targets ? JSON.stringify(health.unhealthy_targets) : last?.targets;
    if (
      last &&
      last.hash === hash &&
      now - last.at < this.heartbeatWriteIntervalMs &&
      !firstHealth &&
      targets === last.targets
    )
      return Promise.resolve();
    this.lastSeenWrites.set(id, {
      at: now,
      hash,
      health: health !== undefined || (last?.health ?? false),
      ...(targets === undefined ? {} : { targets }),
    });
    return this.batched(id, {
      config_hash: hash,
      config_version: version,
      ...(kid === undefined ? {} : { config_kid: kid }),
      // Re-asserted: another replica that lost this DP's old stream may have cleared it.
      connected: true,
      last_seen: new Date(),
      ...(this.cpId === null ? {} : { cp_id: this.cpId }),
      // JSON: the optional fields are left out when absent.
      ...(health ? { health: JSON.parse(JSON.stringify(health)) as Record<string, number | string> } : {}),
    });
  }

  /** The CP refused to serve this DP (version or plugin set incompatible). */
  refused(id: string, status: SyncStatus, reason: string): Promise<void> {
    return this.update(id, 'refuse', { sync_status: status, last_nack_reason: reason });
  }

  /** A refusal is over: the DP is being sent a config again (sync_status unknown until it acks). */
  syncing(id: string): Promise<void> {
    return this.update(id, 'syncing', { sync_status: 'unknown', last_nack_reason: null });
  }

  /** This replica lost the DP's stream; a row another replica has taken over is left alone. */
  disconnected(id: string): Promise<void> {
    this.lastSeenWrites.delete(id);
    if (this.cpId === null) return this.update(id, 'disconnect', { connected: false });
    const cpId = this.cpId;
    return this.enqueue(id, 'disconnect', async () => {
      await this.prisma.clusteringDataPlane.updateMany({
        where: { id, cp_id: cpId },
        data: { connected: false },
      });
    });
  }

  async get(id: string): Promise<DataPlaneRecord | null> {
    await this.writeBatch();
    const row = await this.prisma.clusteringDataPlane.findUnique({ where: { id } });
    return row ? toRecord(row, this.staleAfterMs) : null;
  }

  /** Every DP connected to any CP replica (flag set and seen within staleAfterMs). */
  async listConnected(): Promise<DataPlaneRecord[]> {
    await this.writeBatch();
    const rows = await this.prisma.clusteringDataPlane.findMany({
      where: { connected: true, last_seen: { gte: new Date(Date.now() - this.staleAfterMs) } },
      orderBy: { id: 'asc' },
    });
    const now = Date.now();
    return rows.map((r) => toRecord(r, this.staleAfterMs, now));
  }

  /**
   * The distinct placements (region, labels) of every DP in the registry, connected or not: a DP
   * stays there until the purge delay (Kong's cluster_data_plane_purge_delay) has passed unseen.
   */
  async placements(): Promise<NodePlacement[]> {
    await this.writeBatch();
    const rows = await this.prisma.clusteringDataPlane.findMany({ select: { region: true, labels: true } });
    const byKey = new Map<string, NodePlacement>();
    for (const r of rows) {
      const labels: Record<string, string> = {};
      if (r.labels !== null && typeof r.labels === 'object' && !Array.isArray(r.labels))
        for (const [k, v] of Object.entries(r.labels)) if (typeof v === 'string') labels[k] = v;
      const p: NodePlacement = { region: r.region ?? '', labels };
      byKey.set(sliceKeyOf(p.region, p.labels), p);
    }
    return [...byKey.values()];
  }

  /**
   * Deletes the rows of DPs not seen for `olderThanMs`; returns how many, or null when another
   * replica is running the purge right now (it holds the job's advisory lock).
   */
  async purgeStale(olderThanMs: number = DEFAULT_PURGE_DELAY_MS): Promise<number | null> {
    const run = await runExclusive(this.prisma, PURGE_JOB, async (tx) => {
      const { count } = await tx.clusteringDataPlane.deleteMany({
        where: { last_seen: { lt: new Date(Date.now() - olderThanMs) } },
      });
      return count;
    });
    if (!run.ran) {
      this.logger.debug('stale data plane purge skipped: another control plane replica is running it');
      return null;
    }
    if (run.result > 0)
      this.logger.info({ count: run.result, olderThanMs }, 'purged data planes not seen for the purge delay');
    return run.result;
  }

  /**
   * One page, ordered by id; `offset` is the cursor a previous page returned. `filter`: only rows
   * of that region, holding every label given, in that sync status.
   */
  async list(
    opts: { size?: number; offset?: string | null; filter?: DataPlaneFilter } = {},
  ): Promise<DataPlanePage> {
    await this.writeBatch();
    const size = Math.min(Math.max(opts.size ?? 100, 1), DATA_PLANES_MAX_PAGE_SIZE);
    const after = opts.offset ? Buffer.from(opts.offset, 'base64url').toString('utf8') : null;
    const f = opts.filter ?? {};
    const rows = await this.prisma.clusteringDataPlane.findMany({
      where: {
        ...(after === null ? {} : { id: { gt: after } }),
        ...(f.region === undefined ? {} : { region: f.region }),
        ...(f.syncStatus === undefined ? {} : { sync_status: f.syncStatus }),
        AND: Object.entries(f.labels ?? {}).map(([k, v]) => ({ labels: { path: [k], equals: v } })),
      },
      orderBy: { id: 'asc' },
      take: size + 1,
    });
    const now = Date.now();
    const page = rows.slice(0, size).map((r) => toRecord(r, this.staleAfterMs, now));
    const last = page.at(-1);
    return {
      data: page,
      offset: rows.length > size && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
    };
  }

  /** Resolves when every write made so far has been applied (or has failed and been logged). */
  async flush(): Promise<void> {
    await this.writeBatch();
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  /** Keeps an ack's or heartbeat's update for the next batch write; resolves once it is written. */
  private batched(id: string, update: BatchedUpdate): Promise<void> {
    const waiting = this.batch.get(id);
    this.batch.set(id, waiting ? { ...waiting, ...update } : update);
    if (!this.batchWritten) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.batchWritten = { promise, resolve };
      this.batchTimer = setTimeout(() => void this.writeBatch(), this.batchWindowMs);
      this.batchTimer.unref();
    }
    return this.batchWritten.promise;
  }

  /**
   * Writes every waiting ack and heartbeat now: one transaction, one statement per group of DPs
   * with the same update, after the writes already queued for those DPs (and before any made
   * later). Resolves once written (a failure is logged).
   */
  private writeBatch(): Promise<void> {
    const written = this.batchWritten;
    if (!written) return Promise.resolve();
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
    this.batchWritten = null;
    const batch = this.batch;
    this.batch = new Map();
    const takenOut = this.batchTakenOut;
    this.batchTakenOut = [];
    const groups = new Map<string, { ids: string[]; update: BatchedUpdate }>();
    const statements: { ids: string[]; update: BatchedUpdate }[] = [];
    for (const [id, update] of batch) {
      const key = batchGroupKey(update);
      const group = key === null ? undefined : groups.get(key);
      if (group) {
        group.ids.push(id);
        // The group's last_seen is its newest.
        if (update.last_seen > group.update.last_seen) group.update = update;
        continue;
      }
      const fresh = { ids: [id], update };
      if (key !== null) groups.set(key, fresh);
      statements.push(fresh);
    }
    const before = new Set<Promise<void>>();
    for (const id of batch.keys()) {
      const queued = this.queues.get(id);
      if (queued) before.add(queued);
    }
    const write = Promise.all(before)
      .then(() =>
        this.prisma.$transaction(
          statements.map(({ ids, update }) =>
            // updateMany: no error if an operator deleted a row meanwhile.
            this.prisma.clusteringDataPlane.updateMany({
              where: ids.length === 1 ? { id: ids[0] } : { id: { in: ids } },
              data: update,
            }),
          ),
        ),
      )
      .then(
        () => undefined,
        (err: unknown) =>
          this.logger.error(
            { err, nodes: batch.size, statements: statements.length },
            'data plane registry write failed (acks and heartbeats)',
          ),
      );
    for (const id of batch.keys()) {
      const tail = write.finally(() => {
        if (this.queues.get(id) === tail) this.queues.delete(id);
      });
      this.queues.set(id, tail);
    }
    void Promise.all([write, ...takenOut]).then(written.resolve);
    return written.promise;
  }

  private update(id: string, what: string, data: RowUpdate): Promise<void> {
    return this.enqueue(id, what, async () => {
      // updateMany: no error if an operator deleted the row meanwhile.
      await this.prisma.clusteringDataPlane.updateMany({ where: { id }, data });
    });
  }

  private enqueue(id: string, what: string, write: () => Promise<void>): Promise<void> {
    // An ack or heartbeat of this DP still waiting for the batch goes first, on its own.
    const waiting = this.batch.get(id);
    if (waiting) {
      this.batch.delete(id);
      this.batchTakenOut.push(this.update(id, 'ack/heartbeat', waiting));
    }
    const prev = this.queues.get(id) ?? Promise.resolve();
    const next = prev
      .then(write)
      .catch((err: unknown) =>
        this.logger.error({ err, nodeId: id, write: what }, 'data plane registry write failed'),
      )
      .finally(() => {
        if (this.queues.get(id) === next) this.queues.delete(id);
      });
    this.queues.set(id, next);
    return next;
  }
}
