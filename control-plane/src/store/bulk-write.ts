/**
 * Set-based writes for large imports: one statement per chunk of rows instead of one Prisma call
 * per row. Each chunk travels as ONE jsonb parameter that the database turns into rows of the
 * entity's own table type (`jsonb_populate_recordset(NULL::<table>, $1)`), so the column types
 * (uuid, text[], jsonb, timestamptz) are the table's, the statement text depends only on the
 * entity kind, and no chunk comes near Postgres's 65,535-parameter limit. The same SQL runs on
 * Postgres and on PGlite.
 *
 * Rows are column-shaped (`columnsOf` plus id and timestamps). Only the columns an entity's
 * definition names are written, so the others keep their database defaults, as with Prisma.
 */
import { Prisma } from '../generated/prisma/client.js';
import type { Tx } from './tx.js';
import type { EntityRecord } from '@gatehouse/shared';
import type { Row } from './generic-rows.js';
import { columnNames, quoteIdent as quote, tableOf } from './sql-names.js';

/** Rows per statement (a chunk of 1,000 routes is about 1 MB of JSON). */
export const BULK_CHUNK_ROWS = 1000;

/**
 * A chunk as JSON. Prisma's DbNull (a Json column set to SQL NULL) becomes null, which the database
 * reads as NULL; it is replaced in the rows themselves (they are built for this write) because a
 * JSON.stringify replacer would run for every value of every row.
 */
function chunkJson(def: EntityRecord, rows: readonly Row[]): string {
  if (def.json.length > 0)
    for (const row of rows) for (const col of def.json) if (row[col] === Prisma.DbNull) row[col] = null;
  return JSON.stringify(rows);
}

function* chunks<T>(items: readonly T[]): Generator<readonly T[]> {
  for (let i = 0; i < items.length; i += BULK_CHUNK_ROWS) yield items.slice(i, i + BULK_CHUNK_ROWS);
}

/** Inserts `rows` (each with every column of `columnNames(def)`; Json columns may hold DbNull). */
export async function insertRows(tx: Tx, def: EntityRecord, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const cols = columnNames(def).map(quote).join(', ');
  const table = tableOf(def);
  const sql = `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)`;
  for (const chunk of chunks(rows)) await tx.$executeRawUnsafe(sql, chunkJson(def, chunk));
}

/** Sets every column but id (and created_at, unless `createdAt`) of the rows matched by id. */
export async function updateRows(
  tx: Tx,
  def: EntityRecord,
  rows: readonly Row[],
  options: { createdAt?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const set = columnNames(def)
    .filter((c) => c !== 'id' && (options.createdAt === true || c !== 'created_at'))
    .map((c) => `${quote(c)} = v.${quote(c)}`)
    .join(', ');
  const table = tableOf(def);
  const sql = `UPDATE ${table} AS t SET ${set} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb) AS v WHERE t.id = v.id`;
  for (const chunk of chunks(rows)) await tx.$executeRawUnsafe(sql, chunkJson(def, chunk));
}

/** Deletes the rows with these ids. */
export async function deleteRows(tx: Tx, def: EntityRecord, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const sql = `DELETE FROM ${tableOf(def)} WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid)`;
  for (const chunk of chunks(ids)) await tx.$executeRawUnsafe(sql, JSON.stringify(chunk));
}
