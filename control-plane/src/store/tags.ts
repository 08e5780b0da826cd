import { ENTITY_RECORDS } from '@gatehouse/shared';
import { decodeOffset, encodeOffset, type Page } from './pagination.js';
import type { Db } from './tx.js';

/** One `/tags` row: a tag on one entity (Kong's shape). */
export interface TagRow {
  tag: string;
  entity_name: string;
  entity_id: string;
}

/** The tables whose entities carry tags (the registry's tagged kinds). */
const UNION = ENTITY_RECORDS.filter((r) => r.tags)
  .map(
    (r) => `SELECT unnest(tags) AS tag, '${r.kind}' AS entity_name, id::text AS entity_id FROM "${r.kind}"`,
  )
  .join(' UNION ALL ');

/** The cursor of a row: the offset token carries the last row's `tag \0 entity_name \0 entity_id`. */
const SEP = '\u0000';

/**
 * A page of every tag on every entity (or of one tag), ordered by tag, entity kind and id in
 * byte order, paginated in the database (keyset: rows after the offset's row, one extra to know
 * whether a next page exists).
 */
export async function tagsPage(
  db: Db,
  options: { size: number; offset?: string | undefined; tag?: string | undefined },
): Promise<Page<TagRow>> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (options.tag !== undefined) {
    params.push(options.tag);
    where.push(`tag = $${params.length}`);
  }
  if (options.offset !== undefined) {
    const [tag = '', name = '', id = ''] = decodeOffset(options.offset).split(SEP);
    params.push(tag, name, id);
    const n = params.length;
    where.push(
      `(tag COLLATE "C", entity_name COLLATE "C", entity_id COLLATE "C") > ($${n - 2}::text COLLATE "C", $${n - 1}::text COLLATE "C", $${n}::text COLLATE "C")`,
    );
  }
  const limit = Math.trunc(options.size) + 1;
  const rows = await db.$queryRawUnsafe<TagRow[]>(
    `SELECT tag, entity_name, entity_id FROM (${UNION}) t ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY tag COLLATE "C", entity_name COLLATE "C", entity_id COLLATE "C" LIMIT ${limit}`,
    ...params,
  );
  const data = rows.slice(0, options.size);
  const last = data[data.length - 1];
  return {
    data,
    offset:
      rows.length > options.size && last
        ? encodeOffset(`${last.tag}${SEP}${last.entity_name}${SEP}${last.entity_id}`)
        : null,
  };
}
