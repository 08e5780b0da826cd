import { completeConfig, type GatehouseConfig, type Logger } from '@gatehouse/shared';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { routeFromRow, serviceFromRow } from './mappers.js';
import { RouteRepository } from './routes.js';
import { ServiceRepository } from './services.js';

export type Tx = Prisma.TransactionClient;
export type ChangeListener = (version: bigint) => void;

/** Runs one configuration write: bumps the cluster-wide version first, in the same transaction. */
export type ConfigWriter = <T>(fn: (tx: Tx, version: bigint) => Promise<T>) => Promise<T>;

export interface ConfigStoreOptions {
  logger?: Logger;
}

/**
 * The control plane's configuration in Postgres. Every write goes through `write()`, which bumps
 * the `config_version` row inside the write's transaction (the row lock also serialises writers,
 * so versions follow commit order) and notifies `onChange` listeners after the commit.
 * `readConfig()` reads the version and every entity in one REPEATABLE READ transaction.
 */
export class ConfigStore {
  readonly services: ServiceRepository;
  readonly routes: RouteRepository;
  private readonly listeners = new Set<ChangeListener>();
  private readonly logger: Logger | undefined;

  readonly prisma: PrismaClient;

  /** `db` is the Database from openDatabase() or its PrismaClient. */
  constructor(db: { prisma: PrismaClient } | PrismaClient, options: ConfigStoreOptions = {}) {
    this.prisma = '$transaction' in db ? db : db.prisma;
    this.logger = options.logger;
    const prisma = this.prisma;
    const writer: ConfigWriter = (fn) => this.write(fn);
    this.services = new ServiceRepository(prisma, writer);
    this.routes = new RouteRepository(prisma, writer);
  }

  /** Runs `fn` in a transaction that also bumps the config version; listeners fire after commit. */
  async write<T>(fn: (tx: Tx, version: bigint) => Promise<T>): Promise<T> {
    const { result, version } = await this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ version: bigint }[]>`
        INSERT INTO config_version (id, version, updated_at) VALUES (1, 1, now())
        ON CONFLICT (id) DO UPDATE SET version = config_version.version + 1, updated_at = now()
        RETURNING version`;
      const version = BigInt(rows[0]!.version);
      return { result: await fn(tx, version), version };
    });
    this.emit(version);
    return result;
  }

  /** The whole configuration and its version, from one consistent snapshot of the database. */
  async readConfig(): Promise<{ version: bigint; config: GatehouseConfig }> {
    return this.prisma.$transaction(
      async (tx) => {
        const row = await tx.configVersion.findUnique({ where: { id: 1 } });
        const services = await tx.service.findMany({ orderBy: { id: 'asc' } });
        const routes = await tx.route.findMany({ orderBy: { id: 'asc' } });
        return {
          version: row?.version ?? 0n,
          config: completeConfig({
            services: services.map(serviceFromRow),
            routes: routes.map(routeFromRow),
          }),
        };
      },
      { isolationLevel: 'RepeatableRead' },
    );
  }

  /** The current cluster-wide config version (0 before the first write). */
  async currentVersion(): Promise<bigint> {
    const row = await this.prisma.configVersion.findUnique({ where: { id: 1 } });
    return row?.version ?? 0n;
  }

  /** Calls `listener(version)` after each committed write. Returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(version: bigint) {
    for (const listener of [...this.listeners]) {
      try {
        listener(version);
      } catch (e) {
        this.logger?.error({ err: e }, 'config change listener threw');
      }
    }
  }
}
