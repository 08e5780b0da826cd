import { isUuid } from '@gatehouse/shared';
import { DEFAULT_PAGE_SIZE, decodeOffset, encodeOffset, type ListOptions, type Page } from './pagination.js';

/** The `where` fragment for a tags filter on a native text[] column. */
export function tagsWhere(options: ListOptions): { tags?: { hasEvery: string[] } | { hasSome: string[] } } {
  if (!options.tags?.length) return {};
  return { tags: options.tagsMode === 'any' ? { hasSome: options.tags } : { hasEvery: options.tags } };
}

/** Keyset pagination by id: fetches one extra row to know whether there is a next page. */
export async function paginate<Row extends { id: string }, T>(
  options: ListOptions,
  fetch: (args: { where: { id?: { gt: string } }; take: number }) => Promise<Row[]>,
  map: (row: Row) => T,
): Promise<Page<T>> {
  const size = options.size ?? DEFAULT_PAGE_SIZE;
  const after = options.offset !== undefined ? decodeOffset(options.offset, isUuid) : undefined;
  const rows = await fetch({ where: after ? { id: { gt: after } } : {}, take: size + 1 });
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return { data: page.map(map), offset: rows.length > size && last ? encodeOffset(last.id) : null };
}
