import {
  ENTITIES,
  ENTITY_KINDS,
  type EntityKind,
  type EntityModel,
  type GatehouseConfig,
  type Logger,
  type OAuth2SigningKeyRecord,
} from '@gatehouse/shared';
import type { PrismaClient } from '../generated/prisma/client.js';
import { ChangeLog, recordChanges } from '../audit/objects.js';
import { AuditRedactor } from '../audit/redact.js';
import { boundAuditSource } from '../audit/source.js';
import { withRoomyHeap } from '../heap-sizing.js';
import { CertificateRepository } from './certificates.js';
import { EntityRepository } from './entity-repository.js';
import { MembershipRepository } from './memberships.js';
import { readOAuth2SigningKeys } from './oauth2-signing-keys.js';
import type { Page } from './pagination.js';
import { PluginRepository, type PluginSchemas } from './plugins.js';
import { refuseDuringRollout } from './rollout-guard.js';
import { applyChanges, checkReferences, diffConfigs, readAll, type ReplaceResult } from './replace.js';
import { tagsPage, type TagRow } from './tags.js';
import type { ConfigWriter, Tx } from './tx.js';

export type ChangeListener = (version: bigint) => void;

export interface ReplaceOptions {
  dryRun?: boolean;
  current?: { version: bigint; config: GatehouseConfig };
  /** Timestamps count as changes and are written as given (a config history restore). */
  exact?: boolean;
  /** Recorded with the version in the config history. */
  note?: string;
}

/** The kinds with Admin API endpoints of their own (memberships have theirs in `memberships`). */
export type RepositoryKind = Exclude<EntityKind, 'consumer_group_consumers'>;

/** One repository per entity kind, keyed by kind. */
export type Repositories = { [K in RepositoryKind]: EntityRepository<EntityModel<K>> } & {
  plugins: PluginRepository;
  certificates: CertificateRepository;
};

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
  /** The config history's author of a write no request or job bound one for (default `system`). */
  author?: string;
}

/** How one config write is recorded and checked. */
export interface WriteOptions {
  timeoutMs?: number;
  /** The staged rollout the write belongs to (allowed while it runs). */
  rollout?: string;
  /**
   * Allowed while any staged rollout runs: a write the rollout's held data planes cannot miss
   * (the first oauth2 token signing key, which no held DP's config uses).
   */
  duringAnyRollout?: boolean;
  /** Recorded with the version in the config history ("restore of version 7"). */
  note?: string;
}

/** Longest author name and note the history keeps. */
const MAX_AUTHOR = 200;
const MAX_NOTE = 500;

/**
 * The control plane's configuration in Postgres. Every write goes through `write()`, which bumps
 * the `config_version` row inside the write's transaction (the row lock also serialises writers,
 * so versions follow commit order) and notifies `onChange` listeners after the commit.
 * `readConfig()` reads the version and every entity in one REPEATABLE READ transaction.
 */
export class ConfigStore {
  /** The repository of every entity kind (the registry's), keyed by kind. */
  readonly entities: Repositories;
  readonly memberships: MembershipRepository;
  /** The plugin schemas writes are validated against (undefined: none known). */
  readonly pluginSchemas: PluginSchemas | undefined;
  /** Redacts secrets from the audit log's entities and request bodies (knows the plugin schemas). */
  readonly auditRedactor: AuditRedactor;
  private readonly listeners = new Set<ChangeListener>();
  private readonly logger: Logger | undefined;
  /** The database client (the audit log's reads and request entries use it). */
  readonly prisma: PrismaClient;
  private readonly author: string;

  /** `db` is the Database from openDatabase() or its PrismaClient. */
  constructor(db: { prisma: PrismaClient } | PrismaClient, options: ConfigStoreOptions = {}) {
    this.prisma = '$transaction' in db ? db : db.prisma;
    this.logger = options.logger;
    this.pluginSchemas = options.plugins;
    this.auditRedactor = new AuditRedactor(options.plugins);
    this.author = options.author ?? 'system';
    const prisma = this.prisma;
    const writer: ConfigWriter = (fn) => this.write(fn);
    const special = {
      plugins: new PluginRepository(prisma, writer, options.plugins),
      certificates: new CertificateRepository(prisma, writer),
    } as Partial<Record<EntityKind, EntityRepository<unknown>>>;
    this.entities = Object.fromEntries(
      ENTITY_KINDS.filter((k) => ENTITIES[k].admin).map((k) => [
        k,
        special[k] ?? new EntityRepository(ENTITIES[k], prisma, writer),
      ]),
    ) as Repositories;
    this.memberships = new MembershipRepository(prisma, writer);
  }

  /** The services repository (shorthand for `entities.services`). */
  get services(): Repositories['services'] {
    return this.entities.services;
  }

  /**
   * Makes the database hold exactly `config` (every entity list, matched by id) in one
   * transaction that bumps the config version once; with `dryRun` nothing is written. Returns
   * what was (or would be) created, updated and deleted per list. `config` must already be
   * validated (shared/entities rules, plugin configs with defaults); references must resolve
   * within `config` (else a foreign-key violation and nothing changes). Timestamps of new
   * entities come from `config` when set; an import that changes nothing does not bump the version.
   * With `exact` (a config history restore) timestamps count as changes and are written as given,
   * so the database then reads back exactly `config` (and its snapshot hash is the same).
   */
  async replaceAll(config: GatehouseConfig, options: ReplaceOptions = {}): Promise<ReplaceResult> {
    // A whole config is a large live heap: V8's default sizing, not the lean one (heap-sizing.ts).
    return withRoomyHeap(() => this.replaceAllNow(config, options));
  }

  private async replaceAllNow(config: GatehouseConfig, options: ReplaceOptions): Promise<ReplaceResult> {
    checkReferences(config);
    const exact = { timestamps: options.exact === true };
    const current = options.current ?? (await this.readConfig());
    const diff = diffConfigs(current.config, config, exact);
    if (options.dryRun || !diff.changed) return { version: null, ...diff };
    return this.write(
      async (tx, version, log) => {
        // The diff holds unless a write committed since `current` was read (each bumps the version).
        const fresh = version === current.version + 1n ? diff : diffConfigs(await readAll(tx), config, exact);
        await applyChanges(tx, fresh.changes, log, exact);
        return { version, ...fresh };
      },
      { timeoutMs: IMPORT_TIMEOUT_MS, ...(options.note !== undefined ? { note: options.note } : {}) },
    );
  }

  /**
   * Runs `fn` in a transaction that also bumps the config version; listeners fire after commit.
   * The entities `fn` notes in its ChangeLog go to the audit log (`audit_objects`) in the same
   * transaction, with the audit source of the request making it (audit/source.ts).
   * While a staged rollout runs, only that rollout's own writes (`rollout`: its id) are allowed:
   * any other is refused with GH_ERR_ROLLOUT_IN_PROGRESS (409) before `fn` runs. Writers queue on
   * the version row's lock, so the check sees every rollout committed before it.
   */
  async write<T>(
    fn: (tx: Tx, version: bigint, log: ChangeLog) => Promise<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    // Read before the transaction: the binding is the caller's (a request's actor, a job's name).
    const author = (boundAuditSource()?.actorName ?? this.author).slice(0, MAX_AUTHOR);
    const note = options.note?.slice(0, MAX_NOTE) ?? null;
    const { result, version } = await this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<{ version: bigint }[]>`
          INSERT INTO config_version (id, version, updated_at) VALUES (1, 1, now())
          ON CONFLICT (id) DO UPDATE SET version = config_version.version + 1, updated_at = now()
          RETURNING version`;
        const version = BigInt(rows[0]!.version);
        if (options.duringAnyRollout !== true) await refuseDuringRollout(tx, options.rollout);
        // Who made this version and when (the config history; the publisher adds its content).
        await tx.$executeRaw`
          INSERT INTO config_history (version, created_at, author, note) VALUES (${version}, now(), ${author}, ${note})
          ON CONFLICT (version) DO NOTHING`;
        const log = new ChangeLog();
        const result = await fn(tx, version, log);
        await recordChanges(tx, log, this.auditRedactor);
        return { result, version };
      },
      // Writers queue on the config_version row lock, so the timeout covers waiting for an
      // import in progress as well as the write itself.
      { timeout: options.timeoutMs ?? WRITE_TIMEOUT_MS, maxWait: 10_000 },
    );
    this.emit(version);
    return result;
  }

  /**
   * The whole configuration and its version, from one consistent snapshot of the database, with
   * the oauth2 token signing keys of that version (for the snapshot only: never in `config`, so
   * never in GET /config, exports or the history).
   */
  async readConfig(): Promise<{
    version: bigint;
    config: GatehouseConfig;
    oauth2SigningKeys: OAuth2SigningKeyRecord[];
  }> {
    return this.prisma.$transaction(
      async (tx) => {
        const row = await tx.configVersion.findUnique({ where: { id: 1 } });
        return {
          version: row?.version ?? 0n,
          config: await readAll(tx),
          oauth2SigningKeys: await readOAuth2SigningKeys(tx),
        };
      },
      { isolationLevel: 'RepeatableRead', timeout: READ_TIMEOUT_MS, maxWait: 10_000 },
    );
  }

  /** A page of `/tags` (every tag on every entity, or one tag's entities). */
  tags(options: {
    size: number;
    offset?: string | undefined;
    tag?: string | undefined;
  }): Promise<Page<TagRow>> {
    return tagsPage(this.prisma, options);
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
