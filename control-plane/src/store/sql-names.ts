/** SQL names of an entity kind's table and columns, for the statements Prisma's delegates do not cover. */
import type { EntityRecord } from '@gatehouse/shared';

/** A quoted SQL identifier (`group` is a column of acls). */
export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The table of an entity kind: the schema maps every model onto its kind's key (`@@map("<key>")`). */
export const tableOf = (def: EntityRecord) => quoteIdent(def.kind);

/**
 * The column naming the list fields of a row that hold `[]` (tables with list fields only): a
 * text[] column reads back as an empty array for both `[]` and null, and Kong keeps them apart.
 */
export const EMPTY_LISTS = 'empty_lists';

/**
 * The columns a row of `def` holds, in field order: id, fields (foreign keys as `<field>_id`),
 * timestamps; then `empty_lists` when the kind has list fields.
 */
export function columnNames(def: EntityRecord): string[] {
  const foreign = new Set(def.foreign.map((f) => f.field));
  const columns = def.fields.map((f) => (foreign.has(f) ? `${f}_id` : f));
  return def.lists.length > 0 ? [...columns, EMPTY_LISTS] : columns;
}
