/**
 * DataPlaneRegistry: every data plane this cluster has seen, in the `clustering_data_planes`
 * table (so every CP replica serves the same list). Writes for one node are applied in the order
 * they were made; a failed write is logged and never breaks the DP's stream.
 */
import type { Logger } from '@gatehouse/shared';
import type { PrismaClient } from '../db/index.js';

/** Kong's sync_status values. */
export const SYNC_STATUSES = [
  'unknown',
  'normal',
  'kong_version_incompatible',
  'plugin_set_incompatible',
  'plugin_version_incompatible',
] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export interface PluginInfo {
  name: string;
  version: string;
}

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
  connected: boolean;
  last_nack_reason: string | null;
  plugins: PluginInfo[];
}

export interface DataPlanePage {
  data: DataPlaneRecord[];
  /** Opaque cursor for the next page, or null on the last one. */
  offset: string | null;
}

type Row = Awaited<ReturnType<PrismaClient['clusteringDataPlane']['findUniqueOrThrow']>>;

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

function toRecord(row: Row): DataPlaneRecord {
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
    connected: row.connected,
    last_nack_reason: row.last_nack_reason,
    plugins: (row.plugins ?? []) as unknown as PluginInfo[],
  };
}

export const DATA_PLANES_MAX_PAGE_SIZE = 1000;

export class DataPlaneRegistry {
  /** Per node: the tail of its chain of pending writes. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
  ) {}

  /** A DP said Hello: create or refresh its row, connected. */
  connected(hello: DataPlaneHello, syncStatus: SyncStatus = 'unknown'): Promise<void> {
    const fields = {
      hostname: hello.hostname,
      ip: hello.ip,
      region: hello.region || null,
      labels: hello.labels,
      version: hello.version,
      config_hash: hello.configHash,
      config_version: hello.configVersion,
      plugins: hello.plugins.map((p) => ({ name: p.name, version: p.version })),
      sync_status: syncStatus,
      connected: true,
      last_seen: new Date(),
    };
    return this.enqueue(hello.id, 'connect', async () => {
      await this.prisma.clusteringDataPlane.upsert({
        where: { id: hello.id },
        create: { id: hello.id, ...fields },
        update: fields,
      });
    });
  }

  /** The DP applied a snapshot. */
  acked(id: string, version: bigint, hash: string): Promise<void> {
    return this.update(id, 'ack', {
      config_hash: hash,
      config_version: version,
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

  /** A heartbeat: the DP is alive and holds this config. */
  heartbeat(id: string, hash: string, version: bigint): Promise<void> {
    return this.update(id, 'heartbeat', {
      config_hash: hash,
      config_version: version,
      last_seen: new Date(),
    });
  }

  /** The CP refused to serve this DP (version or plugin set incompatible). */
  refused(id: string, status: SyncStatus, reason: string): Promise<void> {
    return this.update(id, 'refuse', { sync_status: status, last_nack_reason: reason });
  }

  disconnected(id: string): Promise<void> {
    return this.update(id, 'disconnect', { connected: false });
  }

  async get(id: string): Promise<DataPlaneRecord | null> {
    const row = await this.prisma.clusteringDataPlane.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  /** One page, ordered by id; `offset` is the cursor a previous page returned. */
  async list(opts: { size?: number; offset?: string | null } = {}): Promise<DataPlanePage> {
    const size = Math.min(Math.max(opts.size ?? 100, 1), DATA_PLANES_MAX_PAGE_SIZE);
    const after = opts.offset ? Buffer.from(opts.offset, 'base64url').toString('utf8') : null;
    const rows = await this.prisma.clusteringDataPlane.findMany({
      where: after === null ? {} : { id: { gt: after } },
      orderBy: { id: 'asc' },
      take: size + 1,
    });
    const page = rows.slice(0, size).map(toRecord);
    const last = page.at(-1);
    return {
      data: page,
      offset: rows.length > size && last ? Buffer.from(last.id, 'utf8').toString('base64url') : null,
    };
  }

  /** Resolves when every write made so far has been applied (or has failed and been logged). */
  async flush(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private update(
    id: string,
    what: string,
    data: Parameters<PrismaClient['clusteringDataPlane']['updateMany']>[0]['data'],
  ): Promise<void> {
    return this.enqueue(id, what, async () => {
      // updateMany: no error if an operator deleted the row meanwhile.
      await this.prisma.clusteringDataPlane.updateMany({ where: { id }, data });
    });
  }

  private enqueue(id: string, what: string, write: () => Promise<void>): Promise<void> {
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
