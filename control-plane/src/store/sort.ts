/**
 * The order a list is read in and the keyset its offsets carry (`?sort_by=<field>&sort_desc=`,
 * Kong Enterprise's list arguments that Kong Manager sends). Without a sort a list is in id order
 * and an offset carries the last id, as before; sorted, rows are ordered by the field, then by id
 * (so ties have one order), in the database, and an offset carries the last row's value and id.
 * Ascending puts NULLs last and descending first (Postgres' defaults): a descending list is the
 * ascending one reversed.
 */
import { isUuid, type EntityRecord, type Specs } from '@gatehouse/shared';
import type { Db } from './tx.js';
import { encodeOffset, invalidOption, offsetJson } from './pagination.js';

type Field = Specs['fields'][string];

/** How a sortable field's values compare and travel in an offset. */
export type SortKind = 'string' | 'uuid' | 'integer' | 'number' | 'boolean' | 'timestamp';

/** A field lists may be sorted by. */
export interface SortField {
  /** The field, also its column (foreign fields are not sortable). */
  name: string;
  kind: SortKind;
}

/** A sort field with what its column allows: NULL or not (read from the database). */
interface SortColumn extends SortField {
  nullable: boolean;
}

/** `?sort_by=` and `?sort_desc=` as read from the query string. */
export interface ListSort {
  by: string;
  desc: boolean;
}

type Where = Record<string, unknown>;
type Direction = 'asc' | 'desc';

/** What a page needs to read rows in order and to continue after a row. */
export interface ListOrder {
  orderBy: Record<string, Direction>[];
  /** The rows after an offset token's row (Kong's errors for a token that is not ours). */
  after(token: string): Where;
  /** The offset token naming this row. */
  offsetOf(row: Record<string, unknown>): string;
}

const TIMESTAMPS = new Set(['created_at', 'updated_at']);
const INT4 = 2 ** 31;

/** The kind a field sorts as; undefined for lists, maps, records and references. */
function kindOf(name: string, field: Field): SortKind | undefined {
  if (TIMESTAMPS.has(name)) return 'timestamp';
  switch (field.type) {
    case 'string':
      return field.uuid || name === 'id' ? 'uuid' : 'string';
    case 'integer':
    case 'number':
    case 'boolean':
      return field.type;
    default:
      return undefined;
  }
}

/**
 * Fields never sorted by: those collection endpoints hide (certificate keys), secrets the store
 * generates (credential keys and secrets) and fields Kong's schema marks `encrypted`: a sort by
 * them would tell their order.
 */
function secret(record: EntityRecord, name: string, field: Field): boolean {
  return (
    (record.hidden ?? []).includes(name) ||
    (record.generated ?? []).includes(name) ||
    field.encrypted === true
  );
}

const fieldsCache = new WeakMap<EntityRecord, ReadonlyMap<string, SortField | string>>();

/** Every stored field of the entity, sortable (its SortField) or not (why not). */
export function sortFields(record: EntityRecord): ReadonlyMap<string, SortField | string> {
  let fields = fieldsCache.get(record);
  if (!fields) {
    const map = new Map<string, SortField | string>();
    for (const name of record.fields) {
      const field = record.schema.fields[name];
      if (!field) continue;
      const kind = kindOf(name, field);
      if (kind === undefined)
        map.set(name, `cannot sort by '${name}': not a string, number, boolean or timestamp`);
      else if (secret(record, name, field)) map.set(name, `cannot sort by '${name}': hidden or secret`);
      else map.set(name, { name, kind });
    }
    fields = map;
    fieldsCache.set(record, fields);
  }
  return fields;
}

/** Why `?sort_by=<name>` cannot sort the entity's lists (unknown or unsortable), or undefined. */
export function sortProblem(record: EntityRecord, name: string): string | undefined {
  const found = sortFields(record).get(name);
  return found === undefined ? `unknown field '${name}'` : typeof found === 'string' ? found : undefined;
}

/** The field `?sort_by=<name>` names; Kong's invalid options (`sort_by: …`) when it cannot sort. */
export function sortField(record: EntityRecord, name: string): SortField {
  const found = sortFields(record).get(name);
  if (found === undefined || typeof found === 'string')
    throw invalidOption('sort_by', sortProblem(record, name)!);
  return found;
}

/** Id order, offsets carrying the last id (the default, and what `sort_by=id` ascending is). */
const BY_ID: ListOrder = {
  orderBy: [{ id: 'asc' }],
  after(token) {
    const [id] = offsetJson(token, (cursor) => cursor.length === 1 && isUuidValue(cursor[0]));
    return { id: { gt: id } };
  },
  offsetOf: (row) => encodeOffset(row.id as string),
};

const isUuidValue = (v: unknown): v is string => typeof v === 'string' && isUuid(v);

/** Whether an offset's value is one the field's column holds (anything else is a malformed offset). */
function validValue(field: SortColumn, v: unknown): boolean {
  if (v === null) return field.nullable;
  switch (field.kind) {
    case 'string':
      return typeof v === 'string' && !v.includes('\u0000');
    case 'uuid':
      return isUuidValue(v);
    case 'integer':
      return Number.isInteger(v) && (v as number) >= -INT4 && (v as number) < INT4;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'timestamp':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v;
  }
}

/** A column value as an offset carries it (timestamps as ISO strings, to the millisecond). */
const offsetValue = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : (v ?? null));
/** An offset's value as the column compares it. */
const columnValue = (field: SortField, v: unknown): unknown =>
  field.kind === 'timestamp' && typeof v === 'string' ? new Date(v) : v;

/**
 * The values after `v` in ascending order (or before it, descending), NULLs left out: `gt`/`lt`,
 * but for booleans, whose filter has neither (false < true); null when there is none.
 */
function beyond(field: SortField, v: unknown, desc: boolean): Where | null {
  if (field.kind === 'boolean') return v === desc ? { [field.name]: !desc } : null;
  return { [field.name]: { [desc ? 'lt' : 'gt']: v } };
}

/** Rows after the row (value, id) in the order: the keyset condition. */
function afterRow(field: SortColumn, desc: boolean, value: unknown, id: string): Where {
  const idAfter = { id: { [desc ? 'lt' : 'gt']: id } };
  const col = field.name;
  if (value === null) {
    // NULLs come last ascending (only later NULLs follow), first descending (then every value).
    return desc
      ? { OR: [{ [col]: null, ...idAfter }, { [col]: { not: null } }] }
      : { [col]: null, ...idAfter };
  }
  const branches: Where[] = [{ [col]: value, ...idAfter }];
  const next = beyond(field, value, desc);
  if (next) branches.push(next);
  if (!desc && field.nullable) branches.push({ [col]: null });
  return { OR: branches };
}

/** The database and table a list is read from. */
export interface ListSource {
  db: Db;
  record: EntityRecord;
}

const nullableCache = new WeakMap<object, Map<string, Promise<ReadonlySet<string>>>>();

/**
 * The columns of the entity's table that may hold NULL, read once per client from the database
 * (the schema's `?` columns: the keyset needs to know where NULLs can be, and Prisma refuses a
 * NULL test on a column that cannot hold one).
 */
function nullableColumns({ db, record }: ListSource): Promise<ReadonlySet<string>> {
  let tables = nullableCache.get(db);
  if (!tables) nullableCache.set(db, (tables = new Map<string, Promise<ReadonlySet<string>>>()));
  let columns = tables.get(record.kind);
  if (!columns) {
    columns = db
      .$queryRawUnsafe<{ column_name: string }[]>(
        `SELECT column_name FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = $1 AND is_nullable = 'YES'`,
        record.kind,
      )
      .then((rows) => new Set(rows.map((r) => r.column_name)));
    columns.catch(() => tables.delete(record.kind));
    tables.set(record.kind, columns);
  }
  return columns;
}

/**
 * The order of a list sorted as `sort` says (id order when none). Offsets of a sorted list are
 * the base64url JSON `[id, field, desc ? 1 : 0, value]`; a token of another order (another
 * field or direction, or an id-order token) is a malformed offset.
 */
export async function listOrder(
  source: ListSource | undefined,
  sort: ListSort | undefined,
): Promise<ListOrder> {
  if (!source || !sort || (sort.by === 'id' && !sort.desc)) return BY_ID;
  const field: SortColumn = { ...sortField(source.record, sort.by), nullable: false };
  if (field.name === 'id') {
    return {
      orderBy: [{ id: 'desc' }],
      after(token) {
        const [id] = offsetJson(
          token,
          (c) => c.length === 4 && isUuidValue(c[0]) && c[1] === 'id' && c[2] === 1 && c[3] === c[0],
        );
        return { id: { lt: id } };
      },
      offsetOf: (row) => sortedOffset(row, 'id', 1),
    };
  }
  field.nullable = (await nullableColumns(source)).has(field.name);
  const direction: Direction = sort.desc ? 'desc' : 'asc';
  const flag = sort.desc ? 1 : 0;
  return {
    orderBy: [{ [field.name]: direction }, { id: direction }],
    after(token) {
      const [id, , , value] = offsetJson(
        token,
        (c) =>
          c.length === 4 &&
          isUuidValue(c[0]) &&
          c[1] === field.name &&
          c[2] === flag &&
          validValue(field, c[3]),
      );
      return afterRow(field, sort.desc, columnValue(field, value), id as string);
    },
    offsetOf: (row) => sortedOffset(row, field.name, flag),
  };
}

/** A sorted list's offset naming `row`. */
const sortedOffset = (row: Record<string, unknown>, field: string, flag: 0 | 1) =>
  Buffer.from(JSON.stringify([row.id, field, flag, offsetValue(row[field])])).toString('base64url');
