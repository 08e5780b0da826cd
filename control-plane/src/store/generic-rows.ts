import { ENTITIES, isUuid, type EntityKind, type EntityRecord } from '@gatehouse/shared';
import { Prisma } from '../generated/prisma/client.js';
import { EMPTY_LISTS } from './sql-names.js';
import type { Db } from './tx.js';

export type { Db };
export type Row = Record<string, unknown>;
/** A row read back (always has its id). */
export type StoredRow = Row & { id: string };
type Where = Record<string, unknown>;

/** The Prisma delegate methods the generic repositories use. */
export interface Delegate {
  findUnique(args: { where: Where }): Promise<StoredRow | null>;
  findFirst(args: { where: Where }): Promise<StoredRow | null>;
  findMany(args: { where?: Where; orderBy?: Where | Where[]; take?: number }): Promise<StoredRow[]>;
  create(args: { data: Row }): Promise<StoredRow>;
  update(args: { where: Where; data: Row }): Promise<StoredRow>;
  delete(args: { where: Where }): Promise<StoredRow>;
  deleteMany(args?: { where?: Where }): Promise<{ count: number }>;
  count(args?: { where?: Where }): Promise<number>;
}

/** The Prisma delegate of an entity kind (its registry record names it). */
export function delegate(db: Db, kind: EntityKind): Delegate {
  return (db as unknown as Record<string, Delegate>)[ENTITIES[kind].delegate]!;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
const millis = (d: Date) => d.getTime() / 1000;

/**
 * A list column as Kong returns the field: its elements; `[]` when the row's `empty_lists` names
 * the field (or the field is required: never null); else null (Kong's NULL array).
 */
function listFromRow(def: EntityRecord, row: Row, field: string): unknown[] | null {
  const list = row[field] as unknown[] | null;
  if (list && list.length > 0) return list;
  const empty = row[EMPTY_LISTS] as string[] | null | undefined;
  return empty?.includes(field) || def.schema.fields[field]?.required === true ? [] : null;
}

/** A row as Kong's JSON shape (field order as the model). */
export function entityFromRow<T = Record<string, unknown>>(def: EntityRecord, row: Row): T {
  const out: Record<string, unknown> = {};
  const foreign = new Map(def.foreign.map((f) => [f.field, f]));
  for (const field of def.fields) {
    if (field === 'created_at' || field === 'updated_at') {
      const d = row[field] as Date;
      out[field] = def.millis ? millis(d) : seconds(d);
    } else if (foreign.has(field)) {
      const id = row[`${field}_id`] as string | null;
      out[field] = id ? { id } : null;
    } else if (def.lists.includes(field)) {
      out[field] = listFromRow(def, row, field);
    } else {
      out[field] = row[field] ?? null;
    }
  }
  return out as T;
}

/**
 * Column values for an entity-shaped value (foreign fields `{ id }` or null; list fields as
 * text[] with `empty_lists` naming those that are `[]`); id and timestamps excluded.
 */
export function columnsOf(def: EntityRecord, value: Record<string, unknown>): Row {
  const data: Row = {};
  const foreign = new Map(def.foreign.map((f) => [f.field, f]));
  const empty: string[] = [];
  for (const field of def.fields) {
    if (field === 'id' || field === 'created_at' || field === 'updated_at') continue;
    const v = value[field];
    if (foreign.has(field)) data[`${field}_id`] = (v as { id?: string } | null)?.id ?? null;
    else if (def.lists.includes(field)) {
      data[field] = v ?? [];
      if (Array.isArray(v) && v.length === 0) empty.push(field);
    } else if (def.json.includes(field)) data[field] = v === null || v === undefined ? Prisma.DbNull : v;
    else data[field] = v ?? null;
  }
  if (def.lists.length > 0) data[EMPTY_LISTS] = empty;
  return data;
}

/** The row at `key`: by id when `key` is a UUID, else by each endpoint key in turn; within `scope`. */
export async function findByKey(
  db: Db,
  def: EntityRecord,
  key: string,
  scope: Where = {},
): Promise<StoredRow | null> {
  const d = delegate(db, def.kind);
  if (isUuid(key)) {
    const row = await d.findFirst({ where: { id: key.toLowerCase(), ...scope } });
    if (row || def.endpointKeys.length === 0) return row;
  }
  for (const field of def.endpointKeys) {
    const row = await d.findFirst({ where: { [field]: key, ...scope } });
    if (row) return row;
  }
  return null;
}
