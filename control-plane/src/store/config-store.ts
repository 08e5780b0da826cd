import {
  type Acl,
  type BasicAuthCredential,
  type CaCertificate,
  type Consumer,
  type ConsumerGroup,
  type GatehouseConfig,
  type HmacAuthCredential,
  type JwtSecret,
  type KeyAuthCredential,
  type Logger,
  type Sni,
  type Target,
  type Upstream,
} from '@gatehouse/shared';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { CertificateRepository } from './certificates.js';
import { ENTITY_DEFS } from './entity-defs.js';
import { EntityRepository } from './entity-repository.js';
import { MembershipRepository } from './memberships.js';
import { PluginRepository, type PluginSchemas } from './plugins.js';
import { applyChanges, checkReferences, diffConfigs, readAll, type ReplaceResult } from './replace.js';
import { RouteRepository } from './routes.js';
import { ServiceRepository } from './services.js';

export type Tx = Prisma.TransactionClient;
export type ChangeListener = (version: bigint) => void;

/** Runs one configuration write: bumps the cluster-wide version first, in the same transaction. */
export type ConfigWriter = <T>(fn: (tx: Tx, version: bigint) => Promise<T>) => Promise<T>;

/** A single Admin API write (Prisma's default of 5 s is too short behind a large import). */
const WRITE_TIMEOUT_MS = 60_000;
/** A whole-config import: tens of thousands of rows in one transaction. */
const IMPORT_TIMEOUT_MS = 15 * 60_000;
/** One consistent read of the whole config (the snapshot builder). */
const READ_TIMEOUT_MS = 5 * 60_000;

export interface ConfigStoreOptions {
  logger?: Logger;
  /** Plugin schemas (the plugin registry); without it every plugin name is unknown. */
  plugins?: PluginSchemas;
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
  readonly upstreams: EntityRepository<Upstream>;
  readonly targets: EntityRepository<Target>;
  readonly consumers: EntityRepository<Consumer>;
  readonly consumerGroups: EntityRepository<ConsumerGroup>;
  readonly memberships: MembershipRepository;
  readonly plugins: PluginRepository;
  readonly certificates: CertificateRepository;
  readonly snis: EntityRepository<Sni>;
  readonly caCertificates: EntityRepository<CaCertificate>;
  readonly keyauthCredentials: EntityRepository<KeyAuthCredential>;
  readonly basicauthCredentials: EntityRepository<BasicAuthCredential>;
  readonly jwtSecrets: EntityRepository<JwtSecret>;
  readonly hmacauthCredentials: EntityRepository<HmacAuthCredential>;
  readonly acls: EntityRepository<Acl>;
  /** The plugin schemas writes are validated against (undefined: none known). */
  readonly pluginSchemas: PluginSchemas | undefined;
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
    this.pluginSchemas = options.plugins;
    const repo = <T>(def: (typeof ENTITY_DEFS)[keyof typeof ENTITY_DEFS]) =>
      new EntityRepository<T>(def, prisma, writer);
    this.upstreams = repo(ENTITY_DEFS.upstreams);
    this.targets = repo(ENTITY_DEFS.targets);
    this.consumers = repo(ENTITY_DEFS.consumers);
    this.consumerGroups = repo(ENTITY_DEFS.consumer_groups);
    this.memberships = new MembershipRepository(prisma, writer);
    this.plugins = new PluginRepository(prisma, writer, options.plugins);
    this.certificates = new CertificateRepository(prisma, writer);
    this.snis = repo(ENTITY_DEFS.snis);
    this.caCertificates = repo(ENTITY_DEFS.ca_certificates);
    this.keyauthCredentials = repo(ENTITY_DEFS.keyauth_credentials);
    this.basicauthCredentials = repo(ENTITY_DEFS.basicauth_credentials);
    this.jwtSecrets = repo(ENTITY_DEFS.jwt_secrets);
    this.hmacauthCredentials = repo(ENTITY_DEFS.hmacauth_credentials);
    this.acls = repo(ENTITY_DEFS.acls);
  }

  /**
   * Makes the database hold exactly `config` (every entity list, matched by id) in one
   * transaction that bumps the config version once; with `dryRun` nothing is written. Returns
   * what was (or would be) created, updated and deleted per list. `config` must already be
   * validated (shared/entities rules, plugin configs with defaults); references must resolve
   * within `config` (else a foreign-key violation and nothing changes). Timestamps of new
   * entities come from `config` when set; an import that changes nothing does not bump the version.
   */
  async replaceAll(config: GatehouseConfig, options: { dryRun?: boolean } = {}): Promise<ReplaceResult> {
    checkReferences(config);
    if (options.dryRun) {
      const current = await this.prisma.$transaction((tx) => readAll(tx), {
        isolationLevel: 'RepeatableRead',
      });
      return { version: null, ...diffConfigs(current, config) };
    }
    const current = await this.readConfig();
    if (!diffConfigs(current.config, config).changed) {
      return { version: null, ...diffConfigs(current.config, config) };
    }
    return this.write(
      async (tx, version) => {
        const diff = diffConfigs(await readAll(tx), config);
        await applyChanges(tx, diff.changes);
        return { version, ...diff };
      },
      { timeoutMs: IMPORT_TIMEOUT_MS },
    );
  }

  /** Runs `fn` in a transaction that also bumps the config version; listeners fire after commit. */
  async write<T>(
    fn: (tx: Tx, version: bigint) => Promise<T>,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    const { result, version } = await this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<{ version: bigint }[]>`
          INSERT INTO config_version (id, version, updated_at) VALUES (1, 1, now())
          ON CONFLICT (id) DO UPDATE SET version = config_version.version + 1, updated_at = now()
          RETURNING version`;
        const version = BigInt(rows[0]!.version);
        return { result: await fn(tx, version), version };
      },
      // Writers queue on the config_version row lock, so the timeout covers waiting for an
      // import in progress as well as the write itself.
      { timeout: options.timeoutMs ?? WRITE_TIMEOUT_MS, maxWait: 10_000 },
    );
    this.emit(version);
    return result;
  }

  /** The whole configuration and its version, from one consistent snapshot of the database. */
  async readConfig(): Promise<{ version: bigint; config: GatehouseConfig }> {
    return this.prisma.$transaction(
      async (tx) => {
        const row = await tx.configVersion.findUnique({ where: { id: 1 } });
        return { version: row?.version ?? 0n, config: await readAll(tx) };
      },
      { isolationLevel: 'RepeatableRead', timeout: READ_TIMEOUT_MS, maxWait: 10_000 },
    );
  }

  /** Names of the plugins configured anywhere (Kong's `enabled_in_cluster`), sorted. */
  async enabledPluginNames(): Promise<string[]> {
    const rows = await this.prisma.plugin.findMany({
      distinct: ['name'],
      select: { name: true },
      orderBy: { name: 'asc' },
    });
    return rows.map((r) => r.name);
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
