import { DEFAULT_PAGE_SIZE, type ListOptions, type Page } from './pagination.js';
import { listOrder, type ListSource } from './sort.js';

/** The where fragment for a tags filter on a native text[] column. */
export function tagsWhere(options: ListOptions): { tags?: { hasEvery: string[] } | { hasSome: string[] } } {
  if (!options.tags?.length) return {};
  return { tags: options.tagsMode === 'any' ? { hasSome: options.tags } : { hasEvery: options.tags } };
}

/** What a page reads: the keyset condition (rows after the offset's row), the order and a limit. */
export interface PageQuery {
  /** `{ AND: [keyset] }` (empty on the first page): spread it beside the caller's filters. */
  where: { AND?: Record<string, unknown>[] };
  orderBy: Record<string, 'asc' | 'desc'>[];
  take: number;
}

/**
 * Keyset pagination in the database, in `options.sort` order (a field of the source's entity) or id order:
 * fetches one extra row to know whether there is a next page, whose offset names the last row.
 */
export async function paginate<Row extends { id: string }, T>(
  options: ListOptions,
  fetch: (query: PageQuery) => Promise<Row[]>,
  map: (row: Row) => T,
  source?: ListSource,
): Promise<Page<T>> {
  const size = options.size ?? DEFAULT_PAGE_SIZE;
  const order = await listOrder(source, options.sort);
  const where = options.offset !== undefined ? { AND: [order.after(options.offset)] } : {};
  const rows = await fetch({ where, orderBy: order.orderBy, take: size + 1 });
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return { data: page.map(map), offset: rows.length > size && last ? order.offsetOf(last) : null };
}
