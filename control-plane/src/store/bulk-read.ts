/**
 * Whole-table reads for the snapshot builder and imports: one statement per entity kind that
 * answers the table as ONE JSON text (`json_agg` ordered by id), parsed once in JS. Reading
 * 40,000 rows this way costs a fraction of a Prisma findMany, whose per-row decoding dominated
 * every snapshot build and import of a large configuration.
 */
import type { EntityRecord } from '@gatehouse/shared';
import { entityFromRow, type Db, type Row } from './generic-rows.js';
import { tableOf } from './sql-names.js';

const TIMESTAMPS = ['created_at', 'updated_at'] as const;

/** Every row of `def`'s table as Kong's JSON shape, ordered by id. */
export async function readEntities<T>(db: Db, def: EntityRecord): Promise<T[]> {
  const [result] = await db.$queryRawUnsafe<{ rows: string }[]>(
    `SELECT coalesce(json_agg(t ORDER BY t.id), '[]')::text AS rows FROM ${tableOf(def)} t`,
  );
  const rows = JSON.parse(result!.rows) as Row[];
  return rows.map((row) => {
    // json_agg renders timestamptz as ISO 8601 text; entityFromRow takes the Date Prisma would give.
    for (const field of TIMESTAMPS) if (typeof row[field] === 'string') row[field] = new Date(row[field]);
    return entityFromRow<T>(def, row);
  });
}
