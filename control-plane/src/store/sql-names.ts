/** SQL names of an entity kind's table and columns, for the statements Prisma's delegates do not cover. */
import type { EntityRecord } from '@gatehouse/shared';

/** A quoted SQL identifier (`group` is a column of acls). */
export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The table of an entity kind: the schema maps every model onto its kind's key (`@@map("<key>")`). */
export const tableOf = (def: EntityRecord) => quoteIdent(def.kind);

/** The columns a row of `def` holds, in field order: id, fields (foreign keys as `<field>_id`), timestamps. */
export function columnNames(def: EntityRecord): string[] {
  const foreign = new Set(def.foreign.map((f) => f.field));
  return def.fields.map((f) => (foreign.has(f) ? `${f}_id` : f));
}
