import {
  canonicalJson,
  ENTITIES,
  ENTITY_KINDS,
  type EntityKind as EntityKey,
  type EntityRecord,
  type GatehouseConfig,
} from '@gatehouse/shared';
import { Prisma } from '../generated/prisma/client.js';
import { readEntities } from './bulk-read.js';
import { deleteRows, insertRows, updateRows } from './bulk-write.js';
import { missingForeignKey } from './errors.js';
import { columnsOf, type Db, type Row } from './generic-rows.js';
import type { Tx } from './tx.js';
import type { ChangeLog } from '../audit/objects.js';

type Entity = Record<string, unknown> & { id: string };

/** What replaceAll changed (or, with dryRun, would change) for one entity list. */
export interface EntityChanges<T = Entity> {
  created: T[];
  updated: { before: T; after: T }[];
  deleted: T[];
}

export type ConfigChanges = { [K in keyof GatehouseConfig]: EntityChanges<GatehouseConfig[K][number]> };

export interface ReplaceResult {
  /** The config version after the import; null when nothing changed (or dry run). */
  version: bigint | null;
  changes: ConfigChanges;
  /** True when any list changed. */
  changed: boolean;
}

const defFor = (key: EntityKey): EntityRecord => ENTITIES[key];

/** Parents before children (creates/updates); deletes run in the reverse order. */
const WRITE_ORDER = ENTITY_KINDS;

/** Reads every entity list (ordered by id) as Kong's JSON shapes. */
export async function readAll(db: Db): Promise<GatehouseConfig> {
  const out = {} as Record<EntityKey, Entity[]>;
  for (const key of ENTITY_KINDS) out[key] = await readEntities<Entity>(db, defFor(key));
  return out as unknown as GatehouseConfig;
}

/** The columns an entity writes, canonical (Json columns compare by content, not key order). */
const comparable = (def: EntityRecord, e: Record<string, unknown>) =>
  canonicalJson(
    Object.fromEntries(
      Object.entries(columnsOf(def, e)).map(([k, v]) => [k, v === Prisma.DbNull ? null : v]),
    ),
  );

/** Every foreign key of `config` must point at an entity of `config` (the database will match it exactly). */
export function checkReferences(config: GatehouseConfig): void {
  const ids = new Map<EntityKey, Set<string>>();
  for (const key of ENTITY_KINDS)
    ids.set(key, new Set((config[key] as unknown as Entity[]).map((e) => e.id)));
  for (const key of ENTITY_KINDS) {
    for (const fk of defFor(key).foreign) {
      for (const e of config[key] as unknown as Entity[]) {
        const ref = e[fk.field] as { id?: string } | null | undefined;
        if (ref?.id && !ids.get(fk.target)!.has(ref.id))
          throw missingForeignKey(fk.field, { id: ref.id }, fk.target);
      }
    }
  }
}

/** The timestamps an entity has, canonical (compared when timestamps count). */
const stamps = (e: Record<string, unknown>) => `${String(e.created_at)}\0${String(e.updated_at)}`;

/**
 * The per-list differences between what the database holds and `config`. With `timestamps`, an
 * entity whose `created_at`/`updated_at` differ is changed too (a history restore).
 */
export function diffConfigs(
  current: GatehouseConfig,
  desired: GatehouseConfig,
  options: { timestamps?: boolean } = {},
): { changes: ConfigChanges; changed: boolean } {
  const changes = {} as Record<EntityKey, EntityChanges>;
  let changed = false;
  for (const key of ENTITY_KINDS) {
    const def = defFor(key);
    const have = new Map((current[key] as unknown as Entity[]).map((e) => [e.id, e]));
    const want = new Map((desired[key] as unknown as Entity[]).map((e) => [e.id, e]));
    const c: EntityChanges = { created: [], updated: [], deleted: [] };
    for (const [id, e] of want) {
      const old = have.get(id);
      if (!old) c.created.push(e);
      else if (
        comparable(def, old) !== comparable(def, e) ||
        (options.timestamps === true && stamps(old) !== stamps(e))
      )
        c.updated.push({ before: old, after: e });
    }
    for (const [id, e] of have) if (!want.has(id)) c.deleted.push(e);
    if (c.created.length || c.updated.length || c.deleted.length) changed = true;
    changes[key] = c;
  }
  return { changes: changes as unknown as ConfigChanges, changed };
}

const toDate = (seconds: unknown, fallback: Date) =>
  typeof seconds === 'number' && seconds > 0 ? new Date(seconds * 1000) : fallback;

/**
 * Applies `changes` in one transaction: deletes children first, then updates and creates parents
 * first, each entity list in set-based statements of up to BULK_CHUNK_ROWS rows (bulk-write.ts).
 * Each change is noted in `log` (the audit log's entries for the write). Updates stamp
 * `updated_at` now, or with `timestamps` write both timestamps as the entity has them.
 */
export async function applyChanges(
  tx: Tx,
  changes: ConfigChanges,
  log?: ChangeLog,
  options: { timestamps?: boolean } = {},
): Promise<void> {
  const all = changes as unknown as Record<EntityKey, EntityChanges>;
  if (log) {
    for (const key of [...WRITE_ORDER].reverse()) for (const e of all[key].deleted) log.deleted(key, e);
    for (const key of WRITE_ORDER) {
      for (const { before, after } of all[key].updated) log.updated(key, before, after);
      for (const e of all[key].created) log.created(key, e);
    }
  }
  for (const key of [...WRITE_ORDER].reverse()) {
    await deleteRows(
      tx,
      defFor(key),
      all[key].deleted.map((e) => e.id),
    );
  }
  const now = new Date();
  for (const key of WRITE_ORDER) {
    const def = defFor(key);
    await updateRows(
      tx,
      def,
      all[key].updated.map(({ after }) => {
        const row: Row = { ...columnsOf(def, after), id: after.id };
        if (options.timestamps === true) {
          row.created_at = toDate(after.created_at, now);
          if (def.hasUpdatedAt) row.updated_at = toDate(after.updated_at, now);
        } else if (def.hasUpdatedAt) row.updated_at = now;
        return row;
      }),
      { createdAt: options.timestamps === true },
    );
    await insertRows(
      tx,
      def,
      all[key].created.map((e) => {
        const row: Row = { ...columnsOf(def, e), id: e.id, created_at: toDate(e.created_at, now) };
        if (def.hasUpdatedAt) row.updated_at = toDate(e.updated_at, now);
        return row;
      }),
    );
  }
}
